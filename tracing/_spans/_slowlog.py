"""The log record of a slow operation, in the shape of k8s.io/utils/trace's LogIfLong.

    Trace[4bf92f3577b34da6a3ce929d0e0e4736]: "syncPod" pod:default/web (25-Nov-2025 10:19:03.123) (total time: 523ms):
    Trace[4bf92f3577b34da6a3ce929d0e0e4736]: ---"fetched pod" 12ms (10:19:03.135)
    Trace[4bf92f3577b34da6a3ce929d0e0e4736]: ---"pulled image" 500ms (10:19:03.635)
    Trace[4bf92f3577b34da6a3ce929d0e0e4736]: [523.412ms] [523.412ms] END

Operators grep kube-apiserver and kubelet logs for exactly these lines. The label is the trace id,
so a slow operation in the log leads straight to its trace in Jaeger.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from opentelemetry.util.types import AttributeValue


@dataclass(frozen=True)
class Step:
    """One step of an operation: its message, seconds since the operation started, seconds since the
    step before it (or the start), and its attributes."""

    message: str
    elapsed: float
    duration: float
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


def step_threshold(threshold: float, steps: int) -> float:
    """utiltrace's rule: a step is worth logging if it took more than its share of the threshold."""
    return threshold / (steps + 1)


def format_slow(
    label: str,
    name: str,
    attributes: Mapping[str, AttributeValue],
    started: datetime,
    total: float,
    steps: Sequence[Step],
    min_step: float,
) -> str:
    """The whole multi-line message; only steps lasting at least `min_step` seconds are listed."""
    prefix = f"Trace[{label}]: "
    fields = f"{_fields(attributes)} " if attributes else ""
    lines = [
        f"{prefix}{_quoted(name)} {fields}({started.strftime('%d-%b-%Y %H:%M:%S.%f')[:-3]}) "
        f"(total time: {_ms(total)}ms):"
    ]
    for step in steps:
        if step.duration >= min_step:
            at = started.timestamp() + step.elapsed
            step_fields = f"{_fields(step.attributes)} " if step.attributes else ""
            clock = datetime.fromtimestamp(at, started.tzinfo).strftime("%H:%M:%S.%f")[:-3]
            lines.append(f"{prefix}---{_quoted(step.message)} {step_fields}{_ms(step.duration)}ms ({clock})")
    lines.append(f"{prefix}[{total * 1000:.3f}ms] [{total * 1000:.3f}ms] END")
    return "\n".join(lines)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _fields(attributes: Mapping[str, AttributeValue]) -> str:
    return ",".join(f"{key}:{value}" for key, value in attributes.items())


def _quoted(text: str) -> str:
    # Like Go's %q: quotes, backslashes and newlines escaped, so one step stays on one line.
    return json.dumps(text, ensure_ascii=False)
