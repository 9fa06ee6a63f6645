"""Run a patch when its library is imported (or at once, if it already is).

Zero-code tracing must not import every library it knows how to trace: a program that never imports
django should not pay for importing it at start-up, and importing libraries early changes the order a
program's own start-up relies on (gevent's monkey-patching, Django's settings). So each patch waits
for its module: a meta-path finder wraps the module's loader, and the patch runs right after the
module's code has run, before the importer sees the module.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

Hook = Callable[[ModuleType], None]

_log = logging.getLogger("kubetrace")
_lock = threading.RLock()
_pending: dict[str, list[Hook]] = {}
_searching = threading.local()  # names this thread is looking up through the other finders


def when_imported(name: str, hook: Hook) -> None:
    """Call hook(module) once module `name` has been imported: now if it is already, else right after."""
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _pending.setdefault(name, []).append(hook)
            if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
                sys.meta_path.insert(0, _Finder())
            return
    _run(hook, module)


def _run(hook: Hook, module: ModuleType) -> None:
    try:
        hook(module)
    except Exception:  # a patch that fails leaves the library untraced, never the program broken
        _log.exception("kubetrace: could not instrument %s; it is not traced", module.__name__)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds a waited-for module through the other finders and hands back its spec with a loader
    that runs the hooks after the module's code."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in _pending or fullname in getattr(_searching, "names", ()):
            return None
        _searching.names = {*getattr(_searching, "names", ()), fullname}
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            _searching.names = _searching.names - {fullname}
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _HookedLoader(spec.loader)
        return spec


class _HookedLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its real loader: importlib.resources, pkgutil and reload() ask it.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        with _lock:
            hooks = _pending.pop(module.__name__, [])
        for hook in hooks:
            _run(hook, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
