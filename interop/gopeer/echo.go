package main

import (
	"context"
	"encoding/json"
	"strings"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
)

// reply is what every server returns: who handled the request in which trace, the baggage it
// saw, the propagation headers it received, and the downstream's reply if it called one.
type reply struct {
	Peer        string            `json:"peer"`
	TraceID     string            `json:"trace_id"`
	SpanID      string            `json:"span_id"`
	Sampled     bool              `json:"sampled"`
	Baggage     map[string]string `json:"baggage"`
	Headers     map[string]string `json:"headers"`
	Request     string            `json:"request,omitempty"`
	Seq         *int              `json:"seq,omitempty"`
	Downstream  json.RawMessage   `json:"downstream,omitempty"`
	DownstreamE string            `json:"downstream_error,omitempty"`
}

// isPropagationHeader: is key a header / metadata key of a propagation format gopeer may meet?
func isPropagationHeader(key string) bool {
	k := strings.ToLower(key)
	switch k {
	case "traceparent", "tracestate", "baggage", "b3", "uber-trace-id", "x-amzn-trace-id":
		return true
	}
	return strings.HasPrefix(k, "x-b3-") || strings.HasPrefix(k, "uberctx-") || strings.HasPrefix(k, "ot-")
}

func newReply(ctx context.Context, peer string, headers map[string]string) reply {
	sc := trace.SpanContextFromContext(ctx)
	r := reply{
		Peer:    peer,
		TraceID: sc.TraceID().String(),
		SpanID:  sc.SpanID().String(),
		Sampled: sc.IsSampled(),
		Baggage: map[string]string{},
		Headers: headers,
	}
	for _, m := range baggage.FromContext(ctx).Members() {
		r.Baggage[m.Key()] = m.Value()
	}
	return r
}

func (r reply) bytes() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	return b
}
