"""B3 and Jaeger propagators that take a parent only from one well-formed identity header.

The upstream propagators (opentelemetry-propagator-b3, -jaeger) read ids with `int(x, 16)` and with
`\\d`, which accept what no tracer sends: Arabic-Indic digits, a `0x` prefix, `_` separators, signs
and spaces. A header of such characters then names a parent the caller never had. And given two
values of an identity header (gRPC metadata keeps both), they continue from the first, where W3C
Trace Context says to restart. Here their getter answers an identity header only when it holds
exactly one value of the format's alphabet and length; everything else is as upstream does it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from opentelemetry.context import Context
from opentelemetry.propagators import textmap
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.jaeger import JaegerPropagator

Check = Callable[[str], bool]


def _ascii_up_to(limit: int) -> Check:
    # ASCII is enough for B3: its own regex then reads only hex digits.
    return lambda value: len(value) <= limit and value.isascii()


_UBER_TRACE_ID = re.compile(r"[0-9a-fA-F]{1,32}:[0-9a-fA-F]{1,16}:[0-9a-fA-F]{1,16}:[0-9a-fA-F]{1,2}")
_B3_CHECKS: dict[str, Check] = {
    "b3": _ascii_up_to(32 + 1 + 16 + 1 + 1 + 1 + 16),  # trace-span-sampled-parent
    "x-b3-traceid": _ascii_up_to(32),
    "x-b3-spanid": _ascii_up_to(16),
}
_JAEGER_CHECKS: dict[str, Check] = {
    "uber-trace-id": lambda value: (
        len(value) <= 32 + 16 + 16 + 2 + 3 and _UBER_TRACE_ID.fullmatch(value) is not None
    ),
}


class _CheckedGetter(textmap.Getter):
    """`getter`, answering the checked keys only with one value that passes its check."""

    __slots__ = ("checks", "getter")

    def __init__(self, getter: textmap.Getter, checks: dict[str, Check]):
        self.getter, self.checks = getter, checks

    def get(self, carrier, key: str) -> list[str] | None:
        values = self.getter.get(carrier, key)
        check = self.checks.get(key)
        if check is None or values is None:
            return values
        values = list(values)
        if len(values) == 1 and isinstance(values[0], str) and check(values[0]):
            return values
        return None

    def keys(self, carrier) -> list[str]:
        return self.getter.keys(carrier)


class _Strict:
    """extract() through a _CheckedGetter with the format's checks; the rest is upstream's."""

    checks: dict[str, Check]

    def extract(self, carrier, context: Context | None = None, getter=textmap.default_getter) -> Context:
        return super().extract(carrier, context, _CheckedGetter(getter, self.checks))


class StrictB3MultiFormat(_Strict, B3MultiFormat):
    checks = _B3_CHECKS


class StrictB3SingleFormat(_Strict, B3SingleFormat):
    checks = _B3_CHECKS


class StrictJaegerPropagator(_Strict, JaegerPropagator):
    checks = _JAEGER_CHECKS
