"""The private state of grpc that interceptors.grpc reads, in this one module, checked at import.

grpc has no public accessor for a channel's target (server.address/server.port come from it) nor
for the services a server already holds (instrument_server() refuses a server whose services would
go untraced). Both are read from the objects' private state here; _check() proves at import that the
installed grpc still keeps them there, and otherwise raises ImportError naming the grpc version,
rather than silently losing the attributes or the check.
"""

from __future__ import annotations

import grpc
import grpc._channel
import grpc._server
import grpc.aio._channel
from grpc._cython import cygrpc


def channel_target(channel: grpc.Channel | grpc.aio.Channel) -> bytes | str | None:
    """The target a sync or grpc.aio channel was created for; None for another kind of channel."""
    # The core channel inside each keeps it: a method of the sync one, an attribute of grpc.aio's.
    target = getattr(getattr(channel, "_channel", None), "target", None)
    if callable(target):
        target = target()
    return target if isinstance(target, (bytes, str)) else None


def holds_services(server: grpc.Server | grpc.aio.Server) -> bool:
    """Whether a grpc.server already holds services (grpc.server(handlers=...) or added ones).

    grpc.aio keeps them in its core, out of reach: for grpc.aio servers this answers False."""
    state = getattr(server, "_state", None)
    return bool(
        getattr(state, "generic_handlers", None) or getattr(state, "registered_method_handlers", None)
    )


def _assigns(function: object, *names: str) -> bool:
    code = getattr(function, "__code__", None)
    return code is not None and all(name in code.co_names for name in names)


def _check() -> None:
    found = [
        what
        for ok, what in (
            (_assigns(grpc._channel.Channel.__init__, "_channel"), "grpc._channel.Channel()._channel"),
            (
                _assigns(grpc.aio._channel.Channel.__init__, "_channel"),
                "grpc.aio._channel.Channel()._channel",
            ),
            (hasattr(cygrpc.Channel, "target"), "cygrpc.Channel.target"),
            (hasattr(cygrpc.AioChannel, "target"), "cygrpc.AioChannel.target"),
            (_assigns(grpc._server._Server.__init__, "_state"), "grpc._server._Server()._state"),
            (
                _assigns(
                    grpc._server._ServerState.__init__, "generic_handlers", "registered_method_handlers"
                ),
                "grpc._server._ServerState's generic_handlers and registered_method_handlers",
            ),
        )
        if not ok
    ]
    if found:
        raise ImportError(
            f"interceptors.grpc: grpcio {grpc.__version__} changed private state kubetrace reads: "
            f"{'; '.join(found)}. Install a grpcio release kubetrace supports (see pyproject.toml), "
            "or report this to kubetrace."
        )


_check()
