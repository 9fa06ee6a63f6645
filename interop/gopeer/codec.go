package main

import "fmt"

// rawCodec passes []byte messages through untouched, so peers need no generated code: Python
// calls with identity (de)serializers. It is forced per server/call, never registered globally
// (the OTLP exporter keeps using the proto codec).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case *[]byte:
		return *m, nil
	default:
		return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
	}
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*m = append((*m)[:0], data...)
	return nil
}

// Name is the content-subtype a client sends ("application/grpc+proto"). Using "proto" keeps
// the content-type the one every gRPC implementation expects; servers force this codec anyway.
func (rawCodec) Name() string { return "proto" }
