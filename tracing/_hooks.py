"""Run user-supplied hooks so that a broken hook is logged, never raised into a request."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_log = logging.getLogger("kubetrace.hooks")
_reported: set[int] = set()


def safe_invoke(hook: Callable[..., Any] | None, *args: Any, default: Any = None) -> Any:
    """Call `hook(*args)`; on any exception log it once per hook and return `default`."""
    if hook is None:
        return default
    try:
        return hook(*args)
    except Exception:
        if id(hook) not in _reported:
            _reported.add(id(hook))
            _log.exception("kubetrace: hook %r failed; ignoring it (logged once)", hook)
        return default
