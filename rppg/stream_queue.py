"""The bounded hand-off between the engine's capture and processing threads.

Why not ``queue.Queue``: the engine must (1) signal the end of a stream in the
same channel as the frames, so the processing thread cannot see "done" while a
frame is still waiting, and (2) count frames so that a snapshot never mixes two
moments (captured = processed + dropped + waiting + in progress, always). One
condition variable guards the frames, the end marker and the counters.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")

#: Returned by :meth:`FrameQueue.get` once the producer has ended and every item was taken.
END = object()


@dataclass(frozen=True)
class QueueCounts:
    """Frame counts taken at one instant."""

    captured: int  # accepted by put
    processed: int  # taken and marked done
    dropped: int  # discarded oldest-first to make room
    waiting: int
    in_progress: int  # taken, not yet done (0 or 1 with one consumer)
    max_waiting: int
    bound: int


class FrameQueue(Generic[Item]):
    """Bounded FIFO with an end marker that is never dropped and counts under one lock."""

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError("queue bound must be at least 1")
        self.bound = bound
        self._items: deque[Item] = deque()
        self._ended = False
        self._cond = threading.Condition()
        self._captured = self._processed = self._dropped = self._in_progress = self._max = 0

    def put(self, item: Item, drop_oldest: bool, cancelled: threading.Event) -> bool:
        """Add ``item``; when full, drop the oldest (``drop_oldest``) or wait for room until
        ``cancelled`` is set. Returns False when it gave up (cancelled) or the queue has ended."""
        with self._cond:
            while len(self._items) >= self.bound and not drop_oldest:
                if cancelled.is_set() or self._ended:
                    return False
                self._cond.wait(0.05)
            if self._ended:
                return False
            while len(self._items) >= self.bound:
                self._items.popleft()
                self._dropped += 1
            self._items.append(item)
            self._captured += 1
            self._max = max(self._max, len(self._items))
            self._cond.notify_all()
            return True

    def end(self) -> None:
        """No more items: once the waiting ones are taken, :meth:`get` returns :data:`END`."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def get(self, timeout: float) -> Item | object | None:
        """The oldest item (now counted as in progress), :data:`END`, or None after ``timeout``."""
        with self._cond:
            if not self._items and not self._ended:
                self._cond.wait(timeout)
            if self._items:
                self._in_progress += 1
                item = self._items.popleft()
                self._cond.notify_all()
                return item
            return END if self._ended else None

    def drop_waiting(self) -> int:
        """Discard every waiting item (counted as dropped); returns how many."""
        with self._cond:
            dropped = len(self._items)
            self._items.clear()
            self._dropped += dropped
            self._cond.notify_all()
            return dropped

    def done(self) -> None:
        """The item last taken by :meth:`get` has been processed."""
        with self._cond:
            self._in_progress -= 1
            self._processed += 1

    def counts(self) -> QueueCounts:
        with self._cond:
            return QueueCounts(self._captured, self._processed, self._dropped, len(self._items),
                               self._in_progress, self._max, self.bound)
