"""Where protocols meet tracing: adapters on tracing.instrumentation, the core's public contract.

grpc: servers and clients, sync and grpc.aio; http: WSGI/ASGI middleware and requests, urllib3 and
httpx clients; k8s: Kubernetes semantics (API request info, CRI attributes) and a span per
controller reconcile. The three never import each other's modules."""
