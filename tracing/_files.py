"""Read and decode a configuration file in bounded time and memory: a regular file of at most 1 MiB.

Every file kubetrace reads at setup() or on reload (TracingConfiguration, Jaeger strategies, PEM
certificates) comes through here. A named pipe, a device or /dev/stdin given by mistake would
block setup() forever or fill memory; a ConfigMap holds at most 1 MiB, so no real configuration
file is larger.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from typing import Any

MAX_FILE_BYTES = 1 << 20  # a Kubernetes ConfigMap's limit


class UnreadableFile(Exception):
    """The file cannot be used; `reason` says why, in words for an operator (no path)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_config_file(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the regular file at `path`; raises UnreadableFile otherwise."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise UnreadableFile(err.strerror or str(err)) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableFile("Is a directory")
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"not a regular file ({_kind(mode)}); give the path of a file")
        with os.fdopen(os.dup(fd), "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise UnreadableFile(err.strerror or str(err)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(f"larger than {MAX_FILE_BYTES} bytes (1 MiB, the size limit of a ConfigMap)")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"


def loads_json(text: str, object_pairs_hook: Callable[[list[tuple[str, Any]]], Any]) -> Any:
    """json.loads that answers for any nesting and any number: json.JSONDecodeError for bad syntax,
    UnreadableFile for nesting deeper than Python's recursion limit."""
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook, parse_int=_parse_int)
    except RecursionError:
        raise UnreadableFile("arrays and objects nested too deeply to decode") from None


def _parse_int(digits: str) -> int | float:
    # Python converts at most 4300 digits to an int (ValueError beyond). As a float such a number
    # is infinite: out of every range a configuration field has, so it is reported, not a crash.
    return int(digits) if len(digits) <= 1000 else float(digits)
