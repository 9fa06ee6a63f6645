"""Sampler names -> samplers: build_sampler for setup(), and the opentelemetry_traces_sampler entry points.

The SDK's auto-configuration calls an entry point as `factory(OTEL_TRACES_SAMPLER_ARG or None)`
(opentelemetry.sdk._configuration._import_sampler) and logs, then ignores, whatever it raises.
"""

from __future__ import annotations

from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler

from .._errors import ConfigError, Problem
from ._args import file_arguments, remote_arguments
from ._file_sampler import JaegerFileSampler
from ._remote_sampler import JaegerRemoteSampler

SAMPLER_NAMES = ("jaeger_remote", "parentbased_jaeger_remote", "jaeger_file", "parentbased_jaeger_file")


class ParentBasedJaegerSampler(ParentBased):
    """ParentBased with a Jaeger sampler for root spans; shutdown() reaches the Jaeger sampler."""

    def __init__(self, root: JaegerFileSampler | JaegerRemoteSampler):
        super().__init__(root)
        self._jaeger = root  # kept here: ParentBased's own copy is its private state

    @property
    def root(self) -> JaegerFileSampler | JaegerRemoteSampler:
        return self._jaeger

    def shutdown(self) -> None:
        self._jaeger.shutdown()


def build_sampler(name: str, arg: str | None, service_name: str) -> Sampler:
    """One of SAMPLER_NAMES with its OTEL_TRACES_SAMPLER_ARG; raises ConfigError for bad arguments."""
    if name not in SAMPLER_NAMES:
        message = f"unknown Jaeger sampler {name!r}; known: {', '.join(SAMPLER_NAMES)}"
        raise ConfigError([Problem("OTEL_TRACES_SAMPLER", "", message)])
    if name.endswith("jaeger_remote"):
        sampler = JaegerRemoteSampler(service_name, **remote_arguments(arg))
    else:
        sampler = JaegerFileSampler(service_name=service_name, **file_arguments(arg))
    return ParentBasedJaegerSampler(sampler) if name.startswith("parentbased_") else sampler


def jaeger_remote_sampler(sampler_arg: str | None = None) -> Sampler:
    """Entry point for OTEL_TRACES_SAMPLER=jaeger_remote."""
    return build_sampler("jaeger_remote", sampler_arg, _service_name())


def parentbased_jaeger_remote_sampler(sampler_arg: str | None = None) -> Sampler:
    """Entry point for OTEL_TRACES_SAMPLER=parentbased_jaeger_remote."""
    return build_sampler("parentbased_jaeger_remote", sampler_arg, _service_name())


def jaeger_file_sampler(sampler_arg: str | None = None) -> Sampler:
    """Entry point for OTEL_TRACES_SAMPLER=jaeger_file."""
    return build_sampler("jaeger_file", sampler_arg, _service_name())


def parentbased_jaeger_file_sampler(sampler_arg: str | None = None) -> Sampler:
    """Entry point for OTEL_TRACES_SAMPLER=parentbased_jaeger_file."""
    return build_sampler("parentbased_jaeger_file", sampler_arg, _service_name())


def _service_name() -> str:
    # The SDK's own reading of OTEL_SERVICE_NAME, else service.name in OTEL_RESOURCE_ATTRIBUTES, so the
    # sampler asks for the service its spans' resource names; "unknown_service" as kubetrace's settings.
    return str(OTELResourceDetector().detect().attributes.get(SERVICE_NAME) or "unknown_service")
