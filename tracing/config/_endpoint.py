"""The exporter's endpoint: whether it can be dialled with a protocol, and whether it is plaintext.

The OTLP specification lets an `http`/`https` scheme decide transport security, over any
`insecure` setting; only a gRPC target without one of those schemes (`host:port`, `dns:///`,
`unix://`) is secured or not by `insecure`. So an `https` endpoint is never spoken to in plaintext.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._k8sfile import validate_endpoint

HTTP_SCHEMES = ("http", "https")


def url_scheme(endpoint: str) -> str:
    """The endpoint's scheme, lower case; "" for a gRPC target written without `scheme://`."""
    scheme, sep, _ = endpoint.partition("://")
    return scheme.lower() if sep else ""


def http_url_problem(url: str) -> str | None:
    """What is wrong with an http:// or https:// URL, or None."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # a ValueError for a port that is not a number from 0 to 65535
    except ValueError as err:
        return f"not a valid URL ({err})"
    if parts.scheme.lower() not in HTTP_SCHEMES:
        return "must be an http:// or https:// URL"
    if not parts.hostname:
        return "must name a host, as in http://collector:4317"
    if port == 0:
        return "port must be from 1 to 65535"
    return None


def endpoint_problem(endpoint: str, protocol: str) -> str | None:
    """What keeps `endpoint` from being dialled with `protocol` ("grpc" or "http/protobuf"), or None."""
    if url_scheme(endpoint) in HTTP_SCHEMES:
        return http_url_problem(endpoint)
    if protocol != "grpc":
        return "must be an http:// or https:// URL for the http/protobuf protocol"
    problems = validate_endpoint(endpoint)  # the gRPC target forms Kubernetes accepts
    return problems[0] if problems else None


def plaintext_by_scheme(endpoint: str) -> bool | None:
    """True for http://, False for https://, None when `insecure` decides (a target without either)."""
    scheme = url_scheme(endpoint)
    return scheme == "http" if scheme in HTTP_SCHEMES else None
