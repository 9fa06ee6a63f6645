"""Which request paths are not traced at all: probes and scrapes by default."""

from __future__ import annotations

from collections.abc import Iterable


class ExcludedPaths:
    """A path is excluded when it equals an entry or continues it with "/" (/healthz/etcd, not /healthzz)."""

    __slots__ = ("exact", "prefixes")

    def __init__(self, paths: Iterable[str]):
        exact = {"/" + p.strip().strip("/") for p in paths if p.strip()}
        self.exact = frozenset(exact)
        self.prefixes = tuple(p + "/" for p in exact if p != "/")

    def __contains__(self, path: str) -> bool:
        return path in self.exact or path.startswith(self.prefixes)
