"""JaegerFileSampler: the service's strategy from a Jaeger strategies file, reloaded when it changes."""

from __future__ import annotations

import logging
import os
import time

from .._errors import ConfigError, Problem
from ._deciders import DEFAULT_MAX_OPERATIONS, Clock
from ._file_format import parse_strategies, read_file
from ._model import Strategy
from ._poller import Poller
from ._strategy_sampler import StrategySampler

DEFAULT_RELOAD_INTERVAL = 10.0
_logger = logging.getLogger("kubetrace.sampling")


class JaegerFileSampler(StrategySampler):
    """Samples new traces as the strategies file says for `service_name`, as Jaeger would serve it.

    The file is read again every `reload_interval` seconds on a daemon thread (0 disables reloading);
    a changed, valid file takes effect at once. A file that turns invalid, unreadable or missing
    keeps the last good strategy and is logged once per change. An invalid file at construction
    raises ConfigError. With `background=False` nothing runs by itself: call reload() to check.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        service_name: str,
        *,
        reload_interval: float = DEFAULT_RELOAD_INTERVAL,
        clock: Clock = time.monotonic,
        max_operations: int = DEFAULT_MAX_OPERATIONS,
        background: bool = True,
    ):
        if reload_interval < 0:
            message = f"must be >= 0 seconds, got {reload_interval}"
            raise ConfigError([Problem("JaegerFileSampler", "reload_interval", message)])
        self._path = os.fspath(path)
        self._service = service_name
        self._reload_interval = reload_interval
        self._seen = read_file(self._path)  # the content last read, good or bad
        self._seen_problem: str | None = None  # what is wrong with that content
        self._problem: str | None = None  # what was logged last, so that each problem is logged once
        strategy = parse_strategies(self._seen, self._path).for_service(service_name)
        super().__init__(strategy, clock=clock, max_operations=max_operations)
        self._poller = None
        if background and reload_interval > 0:
            self._poller = Poller(
                "kubetrace-sampling-file",
                self._reload_task,
                first_delay=reload_interval,
                fallback_delay=reload_interval,
            )
            self._poller.start()

    @property
    def path(self) -> str:
        return self._path

    def reload(self) -> bool:
        """Read the file now; True if that changed the strategy. Never raises."""
        with self._update_lock:
            try:
                data = read_file(self._path)
            except ConfigError as err:
                self._report(f"{err}; keeping {self.strategy.describe()}")
                return False
            if data == self._seen:
                self._problem = self._seen_problem  # readable again: back to what we knew of this content
                return False
            self._seen = data
            try:
                strategies = parse_strategies(data, self._path)
            except ConfigError as err:
                self._seen_problem = (
                    f"invalid sampling strategies, keeping {self.strategy.describe()}:\n{err}"
                )
                self._report(self._seen_problem)
                return False
            self._seen_problem = None
            if self._problem is not None:
                _logger.info("kubetrace: %s is valid again", self._path)
                self._problem = None
            return self._change(strategies.for_service(self._service))

    def shutdown(self) -> None:
        """Stop reloading; the last strategy keeps deciding."""
        if self._poller is not None:
            self._poller.stop()

    def get_description(self) -> str:
        return f"JaegerFileSampler{{{self._path},{self._service},{self.strategy.describe()}}}"

    def _change(self, strategy: Strategy) -> bool:
        changed = self._apply(strategy)
        if changed:
            _logger.info(
                "kubetrace: sampling for %s from %s: %s", self._service, self._path, strategy.describe()
            )
        return changed

    def _reload_task(self) -> float:
        self.reload()
        return self._reload_interval

    def _report(self, message: str) -> None:
        if message != self._problem:
            _logger.warning("kubetrace: %s", message)
            self._problem = message
