"""The Resource that identifies this process: service, host and Kubernetes pod."""

from __future__ import annotations

import socket
import uuid
from importlib.metadata import version

from opentelemetry.sdk.resources import Resource

from .config import Settings


def build_resource(settings: Settings) -> Resource:
    """service.name, service.instance.id, host.name and k8s.* from Downward-API variables; explicit
    OTEL_RESOURCE_ATTRIBUTES entries win over detected ones, service.name comes from the settings."""
    attributes: dict[str, str] = {
        "service.instance.id": str(uuid.uuid4()),
        "host.name": socket.gethostname(),
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": version("opentelemetry-sdk"),
        "telemetry.distro.name": "kubetrace",
    }
    attributes.update(settings["kubernetes"])
    attributes.update(settings["resource_attributes"])
    attributes["service.name"] = settings["service_name"]
    # Resource(...) rather than Resource.create(...): create() re-reads OTEL_* variables itself and
    # would let them override an explicit argument, breaking the one precedence rule.
    return Resource(attributes)
