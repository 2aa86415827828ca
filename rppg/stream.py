"""Live monitoring engine: capture and processing in their own threads, readings to subscribers.

Why two threads and a bounded queue: a camera delivers frames on its own clock.
When processing falls behind, the newest frames matter, so the capture thread
drops the *oldest* queued frame (and counts it) instead of letting latency grow.
A file read as fast as possible (``realtime=False``) is the opposite case: every
frame matters and nothing is late, so the capture thread waits for room instead.

Time: the pipeline must see increasing timestamps. Each (re)opened source
restarts at 0 s, so the engine adds an offset. A looping file continues one
frame after the previous pass (no reset: the seam is one frame, and readings
keep coming every second). After a loss the timeline continues at wall-clock
time and the pipeline is reset, because a window that spans the gap would mix
two unrelated signals.

Front ends never block on the engine: readings arrive through callbacks (run on
the processing thread, keep them short) or per-subscriber queues, and the latest
frame for display is pulled with :meth:`Engine.latest_frame`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from rppg.containers import FaceBox, Frame, Reading
from rppg.errors import SourceError
from rppg.face.regions import skin_rects
from rppg.pipeline import Pipeline
from rppg.sources import FrameSource, open_source
from rppg.stream_stats import EngineStats, LatencyWindow, RateMeter

log = logging.getLogger(__name__)

SourceOpener = Callable[[str, bool], FrameSource]
ReadingCallback = Callable[[Reading], None]

STARTING, OK, LOST, FINISHED = "starting", "ok", "lost", "finished"


class DisplayFrame(NamedTuple):
    """The latest processed image for display, with the face box the pipeline used on it."""

    image: np.ndarray
    box: FaceBox | None
    regions: list[tuple[int, int, int, int]]  # skin regions (x, y, w, h) the classical methods average
    t: float


class _Item(NamedTuple):
    frame: Frame
    captured_at: float  # time.monotonic() when it left the source
    segment: int  # bumps after a loss: the pipeline must start a fresh window


class Engine:
    """Runs a source through :class:`rppg.pipeline.Pipeline` in the background.

    ``realtime`` (None means True): a file plays at its own frame rate and frames
    are dropped oldest-first when processing lags; False reads a file as fast as
    processing allows, with no drops. ``retry``: a lost camera (or a file that
    fails mid-way) is reopened with exponential backoff, and a ``source: "lost"``
    reading is published every second meanwhile; without it the engine finishes.
    ``loop``: a file starts over at its end. Further keyword options (``band``,
    ``fallback``, ``window_s``, ...) go to :class:`Pipeline`; ``pipeline`` replaces
    the one built here altogether.
    """

    def __init__(self, source_spec: str, method: str = "student", weights: str | None = None,
                 backend: str = "torch", realtime: bool | None = None, queue_size: int = 64,
                 retry: bool = True, loop: bool = False, *, pipeline: Pipeline | None = None,
                 opener: SourceOpener = open_source, display_hz: float = 30.0,
                 lost_interval_s: float = 1.0, backoff_s: tuple[float, float] = (0.5, 10.0),
                 **pipeline_options: Any) -> None:
        self._created_at = time.monotonic()
        self.source_spec = str(source_spec)
        self.method = method
        self.realtime = True if realtime is None else bool(realtime)
        self.retry = retry
        self.loop = loop
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        # Building the pipeline loads the network: the slow part of start-up, done once here.
        self.pipeline = pipeline or Pipeline(method=method, weights=weights, backend=backend, **pipeline_options)
        self._opener = opener
        self._display_period = 1.0 / display_hz if display_hz > 0 else 0.0
        self._lost_interval = lost_interval_s
        self._backoff_min, self._backoff_max = backoff_s

        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._capture_done = threading.Event()
        self._finished = threading.Event()
        self._ready = threading.Event()  # first frame processed, or the source is lost or done
        self._subscribers: dict[object, ReadingCallback] = {}
        self._subscribers_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._source: FrameSource | None = None
        self._closed = False
        self._drop_oldest = self.realtime

        self.state = STARTING
        self.source_name = self.source_spec
        self.source_fps = 30.0
        self._frame_taps: list[Callable[[Frame], None]] = []
        self.latest: Reading | None = None
        self._display: DisplayFrame | None = None
        self._display_at = -np.inf
        self._started_at: float | None = None
        self._first_frame_at: float | None = None
        self._captured = self._processed = self._dropped = self._readings = self._reopens = 0
        self._queue_max = 0
        self._last_error: str | None = None
        self._last_t: float | None = None  # engine time of the newest captured frame
        self._last_frame_wall = 0.0
        self._lost_published_at = -np.inf
        self._latency = LatencyWindow()
        self._lag = LatencyWindow()
        self._capture_rate = RateMeter()
        self._process_rate = RateMeter()

    # ---- life cycle -------------------------------------------------------------------------

    def start(self) -> Engine:
        """Open the source and start both threads.

        A file or folder that cannot be opened raises :class:`SourceError` here, so a
        typo gets a one-line error. A camera that cannot be opened is retried in
        the background when ``retry`` is set (it may be plugged in later).
        """
        if self._threads:
            raise RuntimeError("engine already started")
        self._started_at = time.monotonic()
        try:
            self._source = self._open()
        except SourceError as exc:
            if not (self.retry and self._is_camera_spec()):
                raise
            self._mark_lost(str(exc))
        self._threads = [threading.Thread(target=self._capture_loop, name="rppg-capture", daemon=True),
                         threading.Thread(target=self._process_loop, name="rppg-process", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop both threads and release the source; True when they ended within ``timeout``."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stopped = not any(thread.is_alive() for thread in self._threads)
        if stopped and not self._closed:
            self._closed = True
            self.pipeline.close()
        return stopped

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the first frame went through the pipeline (or the source is lost or done)."""
        return self._ready.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a finite source has been fully processed; True when it has."""
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- subscribers ------------------------------------------------------------------------

    def subscribe(self, callback: ReadingCallback) -> ReadingCallback:
        """Call ``callback(reading)`` on the processing thread for every reading; keep it quick."""
        with self._subscribers_lock:
            self._subscribers[callback] = callback
        return callback

    def readings(self, maxsize: int = 256) -> queue.Queue[Reading]:
        """A queue that receives every reading; a consumer that falls behind loses its oldest ones."""
        box: queue.Queue[Reading] = queue.Queue(maxsize=maxsize)

        def put(reading: Reading) -> None:
            _put_dropping_oldest(box, reading)

        with self._subscribers_lock:
            self._subscribers[box] = put
        return box

    def unsubscribe(self, handle: object) -> None:
        """Remove a callback or a queue from :meth:`readings`; unknown handles are ignored."""
        with self._subscribers_lock:
            self._subscribers.pop(handle, None)

    def tap_frames(self, callback: Callable[[Frame], None]) -> None:
        """Call ``callback(frame)`` on the capture thread for every captured frame (engine time).

        It must not block (hand the frame to another thread): capture waits for it.
        """
        self._frame_taps = [*self._frame_taps, callback]

    def untap_frames(self, callback: Callable[[Frame], None]) -> None:
        self._frame_taps = [tap for tap in self._frame_taps if tap is not callback]

    def _publish(self, reading: Reading) -> None:
        self.latest = reading
        self._readings += 1
        with self._subscribers_lock:
            callbacks = list(self._subscribers.values())
        for callback in callbacks:
            try:
                callback(reading)
            except Exception:  # one broken consumer must not stop the others or the engine
                log.exception("reading subscriber failed")

    # ---- display and stats ------------------------------------------------------------------

    def latest_frame(self) -> DisplayFrame | None:
        """The newest processed frame (throttled to ``display_hz``), its face box and skin regions."""
        return self._display

    def stats(self) -> EngineStats:
        median, p95, top = self._latency.percentiles_ms()
        lag = self._lag.percentiles_ms()[0]
        now = time.monotonic()
        first = None if self._first_frame_at is None else self._first_frame_at - self._created_at
        return EngineStats(
            source=self.source_name, source_state=self.state,
            uptime_s=0.0 if self._started_at is None else now - self._started_at,
            frames_captured=self._captured, frames_processed=self._processed, frames_dropped=self._dropped,
            fps_captured=self._capture_rate.rate(now), fps_processed=self._process_rate.rate(now),
            latency_ms_median=median, latency_ms_p95=p95, latency_ms_max=top, lag_ms_median=lag,
            queue_size=self._queue.qsize(), queue_max=self._queue_max, queue_bound=self._queue.maxsize,
            readings=self._readings, reopens=self._reopens, first_frame_s=first, last_error=self._last_error)

    # ---- capture thread ---------------------------------------------------------------------

    def _is_camera_spec(self) -> bool:
        return self.source_spec.strip().isdigit()

    def _open(self) -> FrameSource:
        source = self._opener(self.source_spec, self.realtime)
        self.source_name = getattr(source, "name", self.source_spec)
        self.source_fps = float(getattr(source, "fps", 0.0) or 30.0)
        # A camera never waits for the reader, whatever ``realtime`` says: keep its newest frames.
        self._drop_oldest = self.realtime or bool(getattr(source, "live", False))
        return source

    def _mark_lost(self, error: str | None) -> None:
        if error:
            self._last_error = error
        if self.state != LOST:
            log.warning("source lost: %s", error or "stream ended")
        self.state = LOST
        self._ready.set()

    def _clock(self) -> float:
        """Engine time now: the newest frame's time plus the wall time since it arrived."""
        now = time.monotonic()
        if self._last_t is None:
            return now - (self._started_at or now)
        return self._last_t + (now - self._last_frame_wall)

    def _capture_loop(self) -> None:
        source, offset, segment = self._source, 0.0, 0
        backoff = self._backoff_min
        try:
            while not self._stop.is_set():
                if source is None:
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2.0, self._backoff_max)
                    if self._stop.is_set():
                        break
                    try:
                        source = self._open()
                    except SourceError as exc:
                        self._mark_lost(str(exc))
                        continue
                    self._reopens += 1
                    offset, segment = self._clock(), segment + 1
                before = self._captured
                failed = self._pump(source, offset, segment)
                if self._captured > before:
                    backoff = self._backoff_min
                fps = float(getattr(source, "fps", 30.0) or 30.0)
                live = bool(getattr(source, "live", False))
                source.close()
                source = None
                if self._stop.is_set():
                    break
                if self.loop and not live and not failed:
                    try:  # a file's end with loop set: next pass one frame later, same window
                        source = self._open()
                    except SourceError as exc:
                        self._mark_lost(str(exc))
                        failed = True
                    else:
                        self._reopens += 1
                        offset = (self._last_t or 0.0) + 1.0 / fps
                        continue
                if (live or failed) and self.retry:
                    self._mark_lost(self._last_error if failed else f"{self.source_name}: stream ended")
                    continue
                break
        finally:
            if source is not None:
                source.close()
            self._capture_done.set()

    def _pump(self, source: FrameSource, offset: float, segment: int) -> bool:
        """Move frames from ``source`` to the queue until it ends or stop; True when it failed."""
        try:
            for frame in source:
                self._enqueue(Frame(image=frame.image, t=frame.t + offset), segment)
                if self._stop.is_set():
                    break
        except Exception as exc:  # a camera driver or decoder failing mid-stream: retried, not fatal
            self._last_error = f"{self.source_name}: {exc}"
            return True
        return False

    def _enqueue(self, frame: Frame, segment: int) -> None:
        for tap in self._frame_taps:
            tap(frame)
        now = time.monotonic()
        self._last_t, self._last_frame_wall = frame.t, now
        self._captured += 1
        self._capture_rate.tick(now)
        if self.state != OK:
            if self.state == LOST:
                log.warning("source back: %s", self.source_name)
            self.state = OK
        item = _Item(frame, now, segment)
        if self._drop_oldest:
            self._dropped += _put_dropping_oldest(self._queue, item)
        else:
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
        self._queue_max = max(self._queue_max, self._queue.qsize())

    # ---- processing thread ------------------------------------------------------------------

    def _process_loop(self) -> None:
        segment = 0
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._capture_done.is_set():
                    break
                if self.state == LOST:
                    self._publish_lost()
                continue
            if item.segment != segment:
                self.pipeline.reset()
                segment = item.segment
            started = time.perf_counter()
            reading = self.pipeline.push(item.frame)
            done = time.perf_counter()
            self._latency.add(done - started)
            self._lag.add(time.monotonic() - item.captured_at)
            self._processed += 1
            self._process_rate.tick()
            if self._first_frame_at is None:
                self._first_frame_at = time.monotonic()
                self._ready.set()
            self._update_display(item.frame)
            if reading is not None:
                self._publish(reading)
        if self._capture_done.is_set() and self._queue.empty():
            self.state = FINISHED
            self._finished.set()
        self._ready.set()

    def _update_display(self, frame: Frame) -> None:
        now = time.monotonic()
        if now - self._display_at < self._display_period:
            return
        self._display_at = now
        box = self.pipeline.last_box
        self._display = DisplayFrame(frame.image, box, skin_rects(box) if box is not None else [], frame.t)

    def _publish_lost(self) -> None:
        now = time.monotonic()
        if now - self._lost_published_at < self._lost_interval:
            return
        self._lost_published_at = now
        self._publish(Reading(t=self._clock(), bpm=None, quality=0.0, face=False, source=LOST))


def _put_dropping_oldest(box: queue.Queue, item: object) -> int:
    """Put ``item``; when the queue is full, discard the oldest first. Returns how many were dropped."""
    dropped = 0
    while True:
        try:
            box.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                box.get_nowait()
                dropped += 1
            except queue.Empty:
                pass
