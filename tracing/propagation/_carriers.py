"""Getters and setters that let the configured propagators read and write each kind of carrier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, MutableSequence

from opentelemetry.propagators.textmap import Getter, Setter


class HeadersGetter(Getter[Mapping[str, str]]):
    """A plain header mapping; names are matched case-insensitively as HTTP requires."""

    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            key = key.lower()
            for name, candidate in carrier.items():
                if name.lower() == key:
                    value = candidate
                    break
            else:
                return None
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        # Lower-case, as HTTP/2 and gRPC send them: Jaeger's propagator finds `uberctx-*` baggage by prefix.
        return [k.lower() for k in carrier if isinstance(k, str)]


class HeadersSetter(Setter[MutableMapping[str, str]]):
    def set(self, carrier: MutableMapping[str, str], key: str, value: str) -> None:
        carrier[key] = value


class MetadataGetter(Getter[Iterable[tuple[str, object]]]):
    """gRPC metadata: a sequence of (key, value) pairs, keys lower-case. Binary `-bin` entries carry
    bytes, never text context, so they are skipped rather than handed to a text propagator."""

    def get(self, carrier: Iterable[tuple[str, object]], key: str) -> list[str] | None:
        found = [v for k, v in carrier if k == key and isinstance(v, str)]
        return found or None

    def keys(self, carrier: Iterable[tuple[str, object]]) -> list[str]:
        return [k for k, _ in carrier if not k.endswith("-bin")]


class MetadataSetter(Setter[MutableSequence[tuple[str, str]]]):
    """Appends to a list of metadata pairs, replacing an existing entry of the same (lower-case) key."""

    def set(self, carrier: MutableSequence[tuple[str, str]], key: str, value: str) -> None:
        key = key.lower()
        for i, (k, _) in enumerate(carrier):
            if k == key:
                carrier[i] = (key, value)
                return
        carrier.append((key, value))


HEADERS_GETTER = HeadersGetter()
HEADERS_SETTER = HeadersSetter()
METADATA_GETTER = MetadataGetter()
METADATA_SETTER = MetadataSetter()
