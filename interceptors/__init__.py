"""Where protocols meet tracing: gRPC and HTTP server and client interceptors."""
