"""The settings in force: the active setup()'s, else what the environment alone says."""

from __future__ import annotations

from ._provider import active
from .config import Settings, resolve


def current_settings() -> Settings:
    """The active setup()'s settings; without one, the environment's and the defaults, read now.
    The configuration file is left out then: it holds none of the settings read this way (the HTTP
    interceptors', the zero-code plan's), and a file setup() would refuse must not fail them."""
    handle = active()
    return handle.settings if handle is not None else resolve(read_file=False).settings
