"""A camera-like source that injects one fault into another source: for fault tests and soaks.

``--source "faulty:KIND?key=value&..."``. The wrapped source (``source=SPEC``,
default ``demo``) plays in real time and starts over at its end, so the stream
is endless like a camera's; timestamps are wall-clock seconds since opening.
``after=S`` (default 2) is when the fault starts, in seconds of the stream.

=========  ======================================================================
KIND       what happens from ``after`` on
=========  ======================================================================
none       nothing: the wrapped source, endless and camera-like
block      ``read`` never returns (until the source is closed)
raise      ``read`` raises :class:`SourceError`, as a camera unplugged mid-stream
corrupt    for ``span`` s (default 2): every other frame is broken (empty array,
           one channel, NaN timestamp, float image, in turn)
backwards  the clock jumps back by ``jump`` s (default 5) and runs on from there
resize     frames are resized by ``scale`` (default 0.5) from then on
dropout    no frames for ``gap`` s (default 5), then frames again; with
           ``every=S`` the drop repeats every S s (counted from ``after``)
=========  ======================================================================

``size=WxH`` resizes every frame of the wrapped source first (small, fast tests).
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl

import cv2
import numpy as np

from rppg.containers import Frame
from rppg.errors import SourceError
from rppg.sources.base import FrameSource

PREFIX = "faulty:"
KINDS = ("none", "block", "raise", "corrupt", "backwards", "resize", "dropout")
_DEFAULTS = {"after": 2.0, "span": 2.0, "jump": 5.0, "scale": 0.5, "gap": 5.0, "every": 0.0}


def parse_spec(spec: str) -> tuple[str, dict[str, float], str, tuple[int, int] | None]:
    """``faulty:KIND?k=v&...`` -> (kind, numeric options, wrapped source spec, frame size or None)."""
    body = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    kind, _, query = body.partition("?")
    if kind not in KINDS:
        raise SourceError(f"unknown fault {kind!r} in {spec!r} (use one of: {', '.join(KINDS)})")
    options, inner, size = dict(_DEFAULTS), "demo", None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "source":
            inner = value
        elif key == "size":
            try:
                width, height = (int(v) for v in value.lower().split("x"))
            except ValueError:
                raise SourceError(f"size must be WIDTHxHEIGHT, got {value!r}") from None
            size = (width, height)
        elif key in _DEFAULTS:
            try:
                options[key] = float(value)
            except ValueError:
                raise SourceError(f"{key} must be a number of seconds (or a scale), got {value!r}") from None
        else:
            raise SourceError(f"unknown option {key!r} in {spec!r} (use source, size, {', '.join(_DEFAULTS)})")
    return kind, options, inner, size


def _broken(n: int, frame: Frame) -> Frame:
    """The n-th kind of broken frame, in turn."""
    image = frame.image
    return [Frame(np.zeros((0, 0, 3), np.uint8), frame.t),
            Frame(image[:, :, 0].copy(), frame.t),
            Frame(image, float("nan")),
            Frame(image.astype(np.float32), frame.t)][n % 4]


class FaultySource(FrameSource):
    """Wraps a source; see the module docstring for the faults."""

    live = True

    def __init__(self, spec: str) -> None:
        super().__init__(realtime=False)
        from rppg.sources.factory import open_source  # the factory imports this module

        self.kind, self.options, self.inner_spec, self.size = parse_spec(spec)
        self._open_inner = lambda: open_source(self.inner_spec, realtime=False)  # paced here instead
        self._inner = self._open_inner()
        self.fps = self._inner.fps
        self.name = f"faulty {self.kind} ({self._inner.name})"
        self._closed = threading.Event()
        self._t0 = self._next_at = time.monotonic()
        self._n = 0

    def _wait_for_slot(self) -> None:
        """One frame per 1/fps of wall time; after a stall, carry on from now (no burst to catch up)."""
        now = time.monotonic()
        if self._next_at < now - 1.0 / self.fps:
            self._next_at = now
        self._closed.wait(max(0.0, self._next_at - now))
        self._next_at += 1.0 / self.fps

    def _next_inner(self) -> Frame:
        frame = next(self._inner, None)
        if frame is None:  # the wrapped source ended: start it over, as an endless camera
            self._inner.close()
            self._inner = self._open_inner()
            frame = next(self._inner, None)
            if frame is None:
                raise SourceError(f"{self.inner_spec}: no frames")
        image = frame.image
        if self.size is not None:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        return Frame(image, frame.t)

    def _in_dropout(self, t: float) -> float:
        """Seconds left of the current drop at stream time ``t`` (0 when frames flow)."""
        after, gap, every = self.options["after"], self.options["gap"], self.options["every"]
        if t < after:
            return 0.0
        into = (t - after) % every if every > 0 else t - after
        return max(0.0, gap - into)

    def _read(self) -> Frame | None:
        if self._closed.is_set():
            return None
        t = time.monotonic() - self._t0
        after = self.options["after"]
        if self.kind == "block" and t >= after:
            self._closed.wait()  # a hung driver: only closing the source releases it
            return None
        if self.kind == "raise" and t >= after:
            raise SourceError("injected fault: the device stopped answering")
        if self.kind == "dropout" and (left := self._in_dropout(t)) > 0:
            if self._closed.wait(left):
                return None
        frame = self._next_inner()
        self._wait_for_slot()
        if self._closed.is_set():
            return None
        t = time.monotonic() - self._t0
        self._n += 1
        if self.kind == "backwards" and t >= after:
            t -= self.options["jump"]
        if self.kind == "resize" and t >= after:
            scale = self.options["scale"]
            frame = Frame(cv2.resize(frame.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), t)
        if self.kind == "corrupt" and after <= t < after + self.options["span"] and self._n % 2:
            return _broken(self._n // 2, Frame(frame.image, t))
        return Frame(frame.image, t)

    def close(self) -> None:
        self._closed.set()
        self._inner.close()
