// Command gopeer is a Go peer for kubetrace's interop tests: gRPC and HTTP servers and
// clients instrumented exactly as Kubernetes components are (otelgrpc stats handlers,
// otelhttp handler and transport), with the propagators chosen by OTEL_PROPAGATORS and
// spans exported over OTLP/gRPC.
//
//	gopeer grpc-server --listen 127.0.0.1:0 [--downstream-grpc ADDR]
//	gopeer http-server --listen 127.0.0.1:0 [--downstream-http URL]
//	gopeer grpc-client --target ADDR [--method call|stream] [--baggage k=v,...]
//	gopeer http-client --url URL [--baggage k=v,...]
//
// Servers print one line "LISTENING host:port" on stdout once bound, serve until SIGTERM or
// SIGINT, then flush their spans (at most 5 s) and exit 0. Clients start a root span
// "gopeer-client" with the baggage, call once, print one JSON line
// {"client_trace_id", "client_span_id", "reply"|"replies"} and exit 0 (1 on a failed call).
//
// Environment: OTEL_PROPAGATORS (default tracecontext,baggage; b3, b3multi, jaeger, xray,
// ottrace, none), OTEL_SERVICE_NAME (default gopeer), OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (plaintext unless https://),
// OTEL_TRACES_EXPORTER=none to export nothing.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: gopeer <command> [flags]

commands:
  grpc-server --listen ADDR [--downstream-grpc ADDR]
  http-server --listen ADDR [--downstream-http URL]
  grpc-client --target ADDR [--method call|stream] [--payload TEXT] [--baggage k=v,...]
  http-client --url URL [--baggage k=v,...]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "grpc-server":
		err = grpcServer(args)
	case "http-server":
		err = httpServer(args)
	case "grpc-client":
		err = grpcClient(args)
	case "http-client":
		err = httpClient(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "gopeer: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
