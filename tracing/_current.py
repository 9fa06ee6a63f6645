"""The settings in force: the active setup()'s, else what the environment alone says."""

from __future__ import annotations

from functools import lru_cache

from ._provider import active
from .config import Settings, read_environment, resolve


def current_settings() -> Settings:
    """The active setup()'s settings; without one, the environment's and the defaults, as they are now.
    The configuration file is left out then: it holds none of the settings read this way (the HTTP
    interceptors', the zero-code plan's), and a file setup() would refuse must not fail them."""
    handle = active()
    if handle is not None:
        return handle.settings
    return _from_environment(tuple(sorted(read_environment().items())))


@lru_cache(maxsize=4)
def _from_environment(environ: tuple[tuple[str, str], ...]) -> Settings:
    # Cached by the variables' values: resolving looks up installed samplers, some milliseconds,
    # and a program may build an HTTP client per request.
    return resolve(environ=dict(environ), read_file=False).settings
