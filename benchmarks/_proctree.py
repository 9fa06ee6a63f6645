"""CPU time and peak memory of a process and every process below it, read from Linux's /proc.

A library may do its work in helper processes (an exporter child, a server's workers), so "what
the service costs" is the sum over its whole process tree. Processes that exit between two readings
are still counted once their parent has waited for them (the kernel adds their time to the parent's
cutime/cstime, which `tree_cpu` includes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:  # gone since the directory was listed
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its closing one
    return raw[raw.rindex(")") + 2 :].split()


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(name))
    return children


def tree(root: int, exclude: Iterable[int] = ()) -> list[int]:
    """`root` and its live descendants, leaving out the subtrees rooted at `exclude`."""
    children, skip = _children(), set(exclude)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in skip:
            found.append(pid)
            todo.extend(children.get(pid, ()))
    return found


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of `root` and its descendants, including waited-for children."""
    total = 0
    for pid in tree(root):
        fields = _stat_fields(pid)
        if fields is not None:  # utime stime cutime cstime are fields 14-17 of stat (1-based)
            total += sum(int(x) for x in fields[11:15])
    return total / _TICK


def helpers_cpu(root: int, exclude: Iterable[int]) -> float:
    """CPU seconds of `root`'s live descendants (not `root` itself), leaving out `exclude`'s subtrees:
    for a benchmark that times its own process precisely and adds what helper processes did."""
    total = 0
    for pid in tree(root, exclude)[1:]:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


def _peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


class PeakRss:
    """Watches the peak resident set (VmHWM) of every process in `root`'s tree, from another thread,
    until stop(); a helper process is seen as long as it lives at least one `interval`."""

    def __init__(self, root: int, interval: float = 0.05):
        self._root, self._interval = root, interval
        self._peaks: dict[int, int] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(self._interval):
            for pid in tree(self._root):
                self._peaks[pid] = max(self._peaks.get(pid, 0), _peak_kb(pid))

    def stop(self) -> dict[int, float]:
        """Peak MiB per process seen."""
        self._done.set()
        self._thread.join()
        return {pid: kb / 1024 for pid, kb in self._peaks.items()}
