"""Fans readings out from the engine's processing thread to the event loop's stream clients.

One engine subscription for all clients: the engine thread hands each reading to
the loop once (``call_soon_threadsafe``), and the loop puts it in every client's
bounded queue, dropping that client's oldest when it lags. A cap on clients
keeps a flood of ``/stream`` connections from costing more than a fixed amount.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rppg.containers import Reading

#: Put in a client's queue when the daemon stops, so its stream ends at once.
CLOSED = object()


class StreamHub:
    """Bounded set of per-client queues fed by an engine; all methods but ``publish`` run on the loop."""

    def __init__(self, max_clients: int, queue_size: int = 32) -> None:
        self.max_clients = max_clients
        self.queue_size = queue_size
        self.loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        self._clients: set[asyncio.Queue] = set()

    @property
    def clients(self) -> int:
        return len(self._clients)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def join(self) -> asyncio.Queue | None:
        """A queue for a new client, or None when the cap is reached or the daemon stops."""
        if self.closed or len(self._clients) >= self.max_clients:
            return None
        box: asyncio.Queue = asyncio.Queue(maxsize=self.queue_size)
        self._clients.add(box)
        return box

    def leave(self, box: asyncio.Queue) -> None:
        self._clients.discard(box)

    def publish(self, reading: Reading) -> None:
        """Engine thread: hand the reading to the loop (never blocks)."""
        loop = self.loop
        if loop is not None and not self.closed and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._deliver, reading)
            except RuntimeError:  # the loop closed in between: the daemon is stopping
                pass

    def close(self) -> None:
        """Any thread: end every stream."""
        self.closed = True
        loop = self.loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._deliver, CLOSED)
            except RuntimeError:
                pass

    def _deliver(self, item: Any) -> None:
        for box in list(self._clients):
            if box.full():
                box.get_nowait()
            box.put_nowait(item)
