"""Configuration: Kubernetes TracingConfiguration files + OTEL_* variables -> validated Settings."""

from .._files import UnreadableFile, read_config_file
from ._env import DOWNWARD_API, read_environment
from ._k8sfile import TracingFile, load_tracing_file, validate_endpoint, validate_sampling_rate
from ._resolve import ARGUMENT_NAMES, BUILTIN_SAMPLERS, Resolved, resolve, sampler_entry_points
from ._settings import Settings, Sourced

__all__ = [
    "ARGUMENT_NAMES",
    "BUILTIN_SAMPLERS",
    "DOWNWARD_API",
    "Resolved",
    "Settings",
    "Sourced",
    "TracingFile",
    "UnreadableFile",
    "load_tracing_file",
    "read_config_file",
    "read_environment",
    "resolve",
    "sampler_entry_points",
    "validate_endpoint",
    "validate_sampling_rate",
]
