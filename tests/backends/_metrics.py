"""The collectors' own metrics: scrape a Prometheus text endpoint and add up series."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Mapping

# name{label="value",...} value   (timestamps are not written by the Collector's exporter)
_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Metrics:
    """One scrape: every sample as (name, labels) -> value."""

    def __init__(self, samples: list[tuple[str, dict[str, str], float]]):
        self.samples = samples

    @classmethod
    def parse(cls, text: str) -> Metrics:
        samples = []
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            match = _SAMPLE.match(line)
            if match:
                name, labels, value = match.groups()
                samples.append((name, dict(_LABEL.findall(labels or "")), float(value)))
        return cls(samples)

    def sum(self, name: str, **labels: str) -> float:
        """The sum of every series named `name` (with or without the `_total` suffix that the
        Prometheus exporter adds to counters) whose labels include `labels`; 0 if none."""
        names = {name, f"{name}_total"}
        return sum(v for n, lab, v in self.samples if n in names and _has(lab, labels))

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


def _has(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in wanted.items())


def scrape(url: str, timeout: float = 5.0) -> Metrics:
    """GET a /metrics endpoint and parse it."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return Metrics.parse(response.read().decode("utf-8", "replace"))
