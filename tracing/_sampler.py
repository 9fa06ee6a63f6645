"""Settings -> the sampler: the SDK's built-in samplers, kubetrace's Jaeger samplers, or any sampler
another distribution registers under the opentelemetry_traces_sampler entry-point group."""

from __future__ import annotations

from opentelemetry.sdk.trace import sampling

from .config import Settings, sampler_entry_points

_KUBETRACE_SAMPLERS = ("jaeger_remote", "parentbased_jaeger_remote", "jaeger_file", "parentbased_jaeger_file")


def build_sampler(settings: Settings) -> sampling.Sampler:
    name, arg = settings["sampler"], settings["sampler_arg"]
    builtin = {
        "always_on": lambda: sampling.ALWAYS_ON,
        "always_off": lambda: sampling.ALWAYS_OFF,
        "parentbased_always_on": lambda: sampling.ParentBased(sampling.ALWAYS_ON),
        "parentbased_always_off": lambda: sampling.ParentBased(sampling.ALWAYS_OFF),
        "traceidratio": lambda: sampling.TraceIdRatioBased(_ratio(arg)),
        "parentbased_traceidratio": lambda: sampling.ParentBased(sampling.TraceIdRatioBased(_ratio(arg))),
    }
    if name in builtin:
        return builtin[name]()
    if name in _KUBETRACE_SAMPLERS:
        from . import sampling as jaeger_sampling

        return jaeger_sampling.build_sampler(name, arg, settings["service_name"])
    return sampler_entry_points()[name].load()(arg)


def _ratio(arg: str | None) -> float:
    return 1.0 if arg is None else float(arg)  # resolve() already checked it is a number in [0, 1]
