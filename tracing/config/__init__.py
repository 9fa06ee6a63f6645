"""Configuration: Kubernetes TracingConfiguration files + OTEL_* variables -> validated Settings."""

from .._files import UnreadableFile, read_config_file
from ._endpoint import HTTP_SCHEMES, url_scheme
from ._env import DOWNWARD_API, propagator_entry_points, read_environment
from ._import_guard import import_otel_propagate
from ._k8sfile import TracingFile, load_tracing_file, validate_endpoint, validate_sampling_rate
from ._resolve import ARGUMENT_NAMES, BUILTIN_SAMPLERS, Resolved, resolve, sampler_entry_points
from ._settings import Settings, Sourced

import_otel_propagate()  # before anything else imports it: see _import_guard

__all__ = [
    "ARGUMENT_NAMES",
    "BUILTIN_SAMPLERS",
    "DOWNWARD_API",
    "HTTP_SCHEMES",
    "Resolved",
    "Settings",
    "Sourced",
    "TracingFile",
    "UnreadableFile",
    "load_tracing_file",
    "propagator_entry_points",
    "read_config_file",
    "read_environment",
    "resolve",
    "sampler_entry_points",
    "url_scheme",
    "validate_endpoint",
    "validate_sampling_rate",
]
