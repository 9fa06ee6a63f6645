"""Message streams that report each message as it passes (used only when message events are on)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator


def reported(messages: Iterable, report: Callable[[object], None]) -> Iterator:
    for message in messages:
        report(message)
        yield message


async def areported(messages: AsyncIterable, report: Callable[[object], None]) -> AsyncIterator:
    async for message in messages:
        report(message)
        yield message


def reported_any(messages, report: Callable[[object], None]):
    """grpc.aio accepts sync and async request iterables alike; keep whichever kind was given."""
    if hasattr(messages, "__aiter__"):
        return areported(messages, report)
    return reported(messages, report)
