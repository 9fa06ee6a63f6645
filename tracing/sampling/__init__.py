"""Jaeger sampling for OpenTelemetry: strategies from a file (reloaded) or a remote endpoint (polled).

    from tracing.sampling import JaegerFileSampler, JaegerRemoteSampler
    sampler = JaegerFileSampler("/etc/kubetrace/sampling.json", "my-service")
    sampler = JaegerRemoteSampler("my-service", "http://jaeger-agent:5778/sampling")

Or by name, with OTEL_TRACES_SAMPLER=parentbased_jaeger_file and
OTEL_TRACES_SAMPLER_ARG=path=/etc/kubetrace/sampling.json,reloadIntervalMs=10000
(jaeger_remote: endpoint=URL,pollingIntervalMs=N,initialSamplingRate=R).
"""

from ._factories import (
    SAMPLER_NAMES,
    ParentBasedJaegerSampler,
    build_sampler,
    jaeger_file_sampler,
    jaeger_remote_sampler,
    parentbased_jaeger_file_sampler,
    parentbased_jaeger_remote_sampler,
)
from ._file_format import load_strategies, parse_strategies, validate_strategies_file
from ._file_sampler import JaegerFileSampler
from ._model import OperationSampling, Strategies, Strategy
from ._remote_sampler import JaegerRemoteSampler

__all__ = [
    "SAMPLER_NAMES",
    "JaegerFileSampler",
    "JaegerRemoteSampler",
    "OperationSampling",
    "ParentBasedJaegerSampler",
    "Strategies",
    "Strategy",
    "build_sampler",
    "jaeger_file_sampler",
    "jaeger_remote_sampler",
    "load_strategies",
    "parentbased_jaeger_file_sampler",
    "parentbased_jaeger_remote_sampler",
    "parse_strategies",
    "validate_strategies_file",
]
