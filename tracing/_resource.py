"""The Resource that identifies this process: service, host and Kubernetes pod.

service.instance.id is a random UUID per process unless the user set one (OTEL_RESOURCE_ATTRIBUTES,
setup(resource_attributes=...)). A process forked after setup() (gunicorn --preload's workers, any
prefork server) is another instance: one_instance_per_process() gives it a UUID of its own; the
export encoder's memoised resource bytes follow, as they are kept per Resource object. A user-set id
is the user's: every process keeps it.
"""

from __future__ import annotations

import os
import socket
import uuid
import weakref
from importlib.metadata import version

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from ._otel_private import replace_provider_resource
from .config import Settings

INSTANCE_ID = "service.instance.id"


def build_resource(settings: Settings) -> Resource:
    """service.name, service.instance.id, host.name and k8s.* from Downward-API variables; explicit
    OTEL_RESOURCE_ATTRIBUTES entries win over detected ones, service.name comes from the settings."""
    attributes: dict[str, str] = {
        INSTANCE_ID: str(uuid.uuid4()),
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


def one_instance_per_process(provider: TracerProvider, settings: Settings) -> None:
    """A process forked after setup() (gunicorn --preload's workers, any prefork server) is another
    instance: its spans get a service.instance.id of its own, or keep the one the user set.

    Registered after the provider is made, so that it runs after the SDK's own fork handler (newer
    SDKs have one, and give every child a new id, also over the user's); older SDKs have none."""
    if not hasattr(os, "register_at_fork"):
        return
    users = settings["resource_attributes"].get(INSTANCE_ID)
    ref = weakref.ref(provider)

    def after_in_child() -> None:
        alive = ref()
        if alive is not None:
            instance = users if users is not None else str(uuid.uuid4())
            replace_provider_resource(alive, alive.resource.merge(Resource({INSTANCE_ID: instance})))

    os.register_at_fork(after_in_child=after_in_child)
