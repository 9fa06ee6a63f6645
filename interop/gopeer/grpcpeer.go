package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const (
	serviceName  = "kubetrace.interop.Echo"
	callMethod   = "/" + serviceName + "/Call"
	streamMethod = "/" + serviceName + "/Stream"
	streamCount  = 3
)

// echoServer is the handler type of the hand-written service descriptor (no protoc).
type echoServer interface {
	call(ctx context.Context, req []byte) ([]byte, error)
	stream(req []byte, out grpc.ServerStream) error
}

var echoServiceDesc = grpc.ServiceDesc{
	ServiceName: serviceName,
	HandlerType: (*echoServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			var req []byte
			if err := dec(&req); err != nil {
				return nil, err
			}
			handler := func(ctx context.Context, req any) (any, error) {
				return srv.(echoServer).call(ctx, req.([]byte))
			}
			if interceptor == nil {
				return handler(ctx, req)
			}
			return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: callMethod}, handler)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Stream",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			var req []byte
			if err := stream.RecvMsg(&req); err != nil {
				return err
			}
			return srv.(echoServer).stream(req, stream)
		},
	}},
	Metadata: "kubetrace/interop/echo.proto",
}

type grpcEcho struct {
	downstream *grpc.ClientConn // nil unless --downstream-grpc
}

func incomingHeaders(ctx context.Context) map[string]string {
	out := map[string]string{}
	md, _ := metadata.FromIncomingContext(ctx)
	for k, vs := range md {
		if isPropagationHeader(k) {
			out[k] = strings.Join(vs, ",")
		}
	}
	return out
}

func (s *grpcEcho) call(ctx context.Context, req []byte) ([]byte, error) {
	r := newReply(ctx, "go-grpc", incomingHeaders(ctx))
	r.Request = string(req)
	if s.downstream != nil {
		var resp []byte
		err := s.downstream.Invoke(ctx, callMethod, req, &resp, grpc.ForceCodec(rawCodec{}))
		if err != nil {
			r.DownstreamE = err.Error()
		} else {
			r.Downstream = json.RawMessage(resp)
		}
	}
	return r.bytes(), nil
}

func (s *grpcEcho) stream(req []byte, out grpc.ServerStream) error {
	ctx := out.Context()
	for i := 0; i < streamCount; i++ {
		r := newReply(ctx, "go-grpc", incomingHeaders(ctx))
		r.Request = string(req)
		seq := i
		r.Seq = &seq
		if err := out.SendMsg(r.bytes()); err != nil {
			return err
		}
	}
	return nil
}

func dialInstrumented(target string) (*grpc.ClientConn, error) {
	return grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
	)
}

func grpcServer(args []string) error {
	fs := flag.NewFlagSet("grpc-server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	downstream := fs.String("downstream-grpc", "", "gRPC target whose Echo/Call each Call also calls")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	shutdown, err := setupTracing(ctx)
	if err != nil {
		return err
	}
	defer shutdown()

	impl := &grpcEcho{}
	if *downstream != "" {
		if impl.downstream, err = dialInstrumented(*downstream); err != nil {
			return fmt.Errorf("downstream %s: %w", *downstream, err)
		}
		defer impl.downstream.Close()
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := grpc.NewServer(
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ForceServerCodec(rawCodec{}),
	)
	srv.RegisterService(&echoServiceDesc, impl)
	announce(l)
	return serveUntilSignal(
		func() error {
			if err := srv.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				return err
			}
			return errServerStopped
		},
		func(ctx context.Context) {
			done := make(chan struct{})
			go func() { srv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				srv.Stop()
			}
		},
	)
}

// clientOutput is what the clients print: their root span's ids and the server's reply(ies).
type clientOutput struct {
	ClientTraceID string            `json:"client_trace_id"`
	ClientSpanID  string            `json:"client_span_id"`
	Baggage       map[string]string `json:"baggage"`
	Reply         json.RawMessage   `json:"reply,omitempty"`
	Replies       []json.RawMessage `json:"replies,omitempty"`
}

// clientRoot starts the client's root span with the given baggage in its context.
func clientRoot(spec string) (context.Context, trace.Span, clientOutput, error) {
	bag, err := parseBaggage(spec)
	if err != nil {
		return nil, nil, clientOutput{}, err
	}
	ctx := baggage.ContextWithBaggage(context.Background(), bag)
	ctx, span := otel.Tracer(tracerName).Start(ctx, "gopeer-client", trace.WithSpanKind(trace.SpanKindInternal))
	sc := span.SpanContext()
	out := clientOutput{ClientTraceID: sc.TraceID().String(), ClientSpanID: sc.SpanID().String(), Baggage: map[string]string{}}
	for _, m := range bag.Members() {
		out.Baggage[m.Key()] = m.Value()
	}
	return ctx, span, out, nil
}

func printOutput(out clientOutput) error {
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(os.Stdout, "%s\n", b)
	return err
}

func grpcClient(args []string) error {
	fs := flag.NewFlagSet("grpc-client", flag.ContinueOnError)
	target := fs.String("target", "", "gRPC target (host:port)")
	method := fs.String("method", "call", "call (unary Call) or stream (server-streaming Stream)")
	payload := fs.String("payload", "hello", "request body")
	bag := fs.String("baggage", "", "baggage to send, k=v,k2=v2")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of the call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		return errors.New("--target is required")
	}
	shutdown, err := setupTracing(context.Background())
	if err != nil {
		return err
	}
	defer shutdown()

	ctx, span, out, err := clientRoot(*bag)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	conn, err := dialInstrumented(*target)
	if err != nil {
		span.End()
		return err
	}
	defer conn.Close()

	switch *method {
	case "call":
		var resp []byte
		err = conn.Invoke(ctx, callMethod, []byte(*payload), &resp, grpc.ForceCodec(rawCodec{}))
		out.Reply = json.RawMessage(resp)
	case "stream":
		var stream grpc.ClientStream
		stream, err = conn.NewStream(ctx, &grpc.StreamDesc{StreamName: "Stream", ServerStreams: true},
			streamMethod, grpc.ForceCodec(rawCodec{}))
		if err == nil {
			err = stream.SendMsg([]byte(*payload))
		}
		if err == nil {
			err = stream.CloseSend()
		}
		for err == nil {
			var resp []byte
			if err = stream.RecvMsg(&resp); err == nil {
				out.Replies = append(out.Replies, json.RawMessage(resp))
			}
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
	default:
		err = fmt.Errorf("--method %q: want call or stream", *method)
	}
	span.End()
	if err != nil {
		return err
	}
	return printOutput(out)
}
