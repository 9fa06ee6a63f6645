package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

const (
	tracerName      = "gopeer"
	shutdownTimeout = 5 * time.Second
	batchTimeout    = 200 * time.Millisecond
)

// setupTracing installs the global propagator (from OTEL_PROPAGATORS, as autoprop reads it)
// and a tracer provider exporting over OTLP/gRPC. The returned function flushes and stops it.
func setupTracing(ctx context.Context) (func(), error) {
	prop, err := propagatorFromEnv()
	if err != nil {
		return nil, err
	}
	otel.SetTextMapPropagator(prop)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		fmt.Fprintf(os.Stderr, "gopeer: otel: %v\n", err)
	}))

	// Later detectors win: the default service name, then OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", tracerName)),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	if strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")) != "none" {
		var exporterOpts []otlptracegrpc.Option
		if !strings.HasPrefix(exportEndpoint(), "https://") {
			exporterOpts = append(exporterOpts, otlptracegrpc.WithInsecure())
		}
		exporter, err := otlptracegrpc.New(ctx, exporterOpts...)
		if err != nil {
			return nil, fmt.Errorf("otlptracegrpc: %w", err)
		}
		opts = append(opts, sdktrace.WithBatcher(exporter, sdktrace.WithBatchTimeout(batchTimeout)))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	otel.SetTracerProvider(tp)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "gopeer: tracer provider shutdown: %v\n", err)
		}
	}, nil
}

// propagatorFromEnv is autoprop's reading of OTEL_PROPAGATORS (tracecontext,baggage when unset;
// b3 = B3 single header, b3multi = B3 multi-header, jaeger = uber-trace-id, also xray, ottrace,
// none), except that an unknown name is an error rather than a logged fallback, and spaces
// around names are allowed as the specification's other SDKs allow them.
func propagatorFromEnv() (propagation.TextMapPropagator, error) {
	spec := strings.TrimSpace(os.Getenv("OTEL_PROPAGATORS"))
	if spec == "" {
		return autoprop.NewTextMapPropagator(), nil
	}
	var names []string
	for _, name := range strings.Split(spec, ",") {
		if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
			names = append(names, name)
		}
	}
	prop, err := autoprop.TextMapPropagator(names...)
	if err != nil {
		return nil, fmt.Errorf("OTEL_PROPAGATORS=%q: %w", spec, err)
	}
	return prop, nil
}

func exportEndpoint() string {
	if v := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		return v
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}

// parseBaggage turns "k=v,k2=v2" into baggage; values are taken as they are (not percent-decoded).
func parseBaggage(spec string) (baggage.Baggage, error) {
	var members []baggage.Member
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return baggage.Baggage{}, fmt.Errorf("baggage item %q: want key=value", item)
		}
		m, err := baggage.NewMemberRaw(strings.TrimSpace(k), strings.TrimSpace(v))
		if err != nil {
			return baggage.Baggage{}, fmt.Errorf("baggage item %q: %w", item, err)
		}
		members = append(members, m)
	}
	return baggage.New(members...)
}

// announce prints the one line the tests wait for.
func announce(l net.Listener) {
	fmt.Fprintf(os.Stdout, "LISTENING %s\n", l.Addr().String())
	_ = os.Stdout.Sync()
}

// serveUntilSignal runs serve in the background and returns when SIGTERM/SIGINT arrives (then
// calls stop, bounded by shutdownTimeout) or when serve fails.
func serveUntilSignal(serve func() error, stop func(context.Context)) error {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(signals)
	failed := make(chan error, 1)
	go func() { failed <- serve() }()
	select {
	case <-signals:
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		stop(ctx)
		return nil
	case err := <-failed:
		if errors.Is(err, errServerStopped) {
			return nil
		}
		return err
	}
}

var errServerStopped = errors.New("server stopped")
