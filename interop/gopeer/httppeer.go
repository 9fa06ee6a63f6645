package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

func instrumentedClient() *http.Client {
	return &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport), Timeout: 10 * time.Second}
}

// get does GET url with ctx through client; the body must be JSON.
func get(ctx context.Context, client *http.Client, url string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("GET %s: body is not JSON: %.200q", url, body)
	}
	return json.RawMessage(body), nil
}

func httpServer(args []string) error {
	fs := flag.NewFlagSet("http-server", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	downstream := fs.String("downstream-http", "", "URL each GET /echo also GETs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	shutdown, err := setupTracing(context.Background())
	if err != nil {
		return err
	}
	defer shutdown()

	client := instrumentedClient()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, req *http.Request) {
		headers := map[string]string{}
		for k, vs := range req.Header {
			if isPropagationHeader(k) {
				headers[strings.ToLower(k)] = strings.Join(vs, ",")
			}
		}
		r := newReply(req.Context(), "go-http", headers)
		if *downstream != "" {
			if body, err := get(req.Context(), client, *downstream); err != nil {
				r.DownstreamE = err.Error()
			} else {
				r.Downstream = body
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(r.bytes())
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: otelhttp.NewHandler(mux, "gopeer"), ReadHeaderTimeout: 10 * time.Second}
	announce(l)
	return serveUntilSignal(
		func() error {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return errServerStopped
		},
		func(ctx context.Context) { _ = srv.Shutdown(ctx) },
	)
}

func httpClient(args []string) error {
	fs := flag.NewFlagSet("http-client", flag.ContinueOnError)
	url := fs.String("url", "", "URL to GET")
	bag := fs.String("baggage", "", "baggage to send, k=v,k2=v2")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("--url is required")
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
	out.Reply, err = get(ctx, instrumentedClient(), *url)
	span.End()
	if err != nil {
		return err
	}
	return printOutput(out)
}
