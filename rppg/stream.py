"""Live monitoring engine: capture and processing in their own threads, readings to subscribers.

Why two threads and a bounded queue: a camera delivers frames on its own clock.
When processing falls behind, the newest frames matter, so the capture thread
drops the *oldest* queued frame (and counts it) instead of letting latency grow.
A file read as fast as possible (``realtime=False``) is the opposite case: every
frame matters and nothing is late, so the capture thread waits for room instead.
The end of a stream travels through the same queue, behind the last frame, so
no frame is lost at the end and :meth:`Engine.wait` always returns.

Time: the pipeline must see strictly increasing timestamps. Each (re)opened
source restarts at 0 s, so the engine adds an offset; a source whose clock
jumps backwards is shifted to continue one frame period after the previous
frame. A looping file continues one frame after the previous pass (no reset:
the seam is one frame, and readings keep coming every second). After a loss
(the source failed, or a live one sent nothing for ``stall_s``) the timeline
continues at wall-clock time and the pipeline is reset, because a window that
spans the gap would mix two unrelated signals; a new resolution resets it too. While
the fresh window fills, a reading with no heart rate is published every
second, so clients see at once that frames are flowing again.

Faults stay inside the engine: a frame that is not an image is skipped and
counted, a pipeline error is logged and the window restarts, a subscriber that
raises is logged. :meth:`Engine.stop` returns within its timeout even when a
source's ``read`` never returns: that capture thread is abandoned (it closes
its source if the read ever comes back) and the pipeline is released.

Front ends never block on the engine: readings arrive through callbacks (run on
the processing thread, keep them short) or per-subscriber queues, and the latest
frame for display is pulled with :meth:`Engine.latest_frame`.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from rppg.constants import STEP_SECONDS
from rppg.containers import FaceBox, Frame, Reading
from rppg.errors import SourceError
from rppg.face.regions import skin_rects
from rppg.pipeline import Pipeline
from rppg.sources import FrameSource, open_source
from rppg.stream_queue import END, FrameQueue
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
    segment: int  # bumps after a loss or a new resolution: the pipeline must start a fresh window


def is_image(image: object) -> bool:
    """A frame the pipeline can take: a non-empty HxWx3 uint8 array."""
    return (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3 and image.shape[0] > 0 and image.shape[1] > 0)


class Engine:
    """Runs a source through :class:`rppg.pipeline.Pipeline` in the background.

    ``realtime`` (None means True): a file plays at its own frame rate and frames
    are dropped oldest-first when processing lags; False reads a file as fast as
    processing allows, with no drops. ``retry``: a lost camera (or a file that
    fails mid-way) is reopened with exponential backoff, and a ``source: "lost"``
    reading is published every second meanwhile; without it the engine finishes.
    ``loop``: a file starts over at its end. ``stall_s``: a live source (a camera) that
    sends no frame for this long is reported lost until frames come again; a file is
    never stalled, only slow. Further keyword
    options (``band``, ``fallback``, ``window_s``, ...) go to :class:`Pipeline`;
    ``pipeline`` replaces the one built here altogether (anything with ``push``,
    ``reset``, ``close`` and ``last_box``).
    """

    def __init__(self, source_spec: str, method: str = "student", weights: str | None = None,
                 backend: str = "torch", realtime: bool | None = None, queue_size: int = 64,
                 retry: bool = True, loop: bool = False, *, pipeline: Pipeline | None = None,
                 opener: SourceOpener = open_source, display_hz: float = 30.0,
                 lost_interval_s: float = 1.0, backoff_s: tuple[float, float] = (0.5, 10.0),
                 stall_s: float = 2.0, **pipeline_options: Any) -> None:
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
        self._stall_s = stall_s
        self._warm_step = float(getattr(self.pipeline, "step_s", STEP_SECONDS))

        self._frames: FrameQueue[_Item] = FrameQueue(queue_size)
        self._lock = threading.Lock()  # state, times and counters below; stats() reads them at one instant
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._ready = threading.Event()  # first frame processed, or the source is lost or done
        self._subscribers: dict[object, ReadingCallback] = {}
        self._subscribers_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._source: FrameSource | None = None
        self._released = False
        self._release_lock = threading.Lock()
        self._drop_oldest = self.realtime
        self._live = self._is_camera_spec()  # updated when the source opens

        self.state = STARTING
        self.source_name = self.source_spec
        self.source_fps = 30.0
        self._frame_taps: list[Callable[[Frame], None]] = []
        self.latest: Reading | None = None
        self._display: DisplayFrame | None = None
        self._display_at = -np.inf
        self._started_at: float | None = None
        self._first_frame_at: float | None = None
        self._readings = self._reopens = self._invalid = self._time_jumps = self._errors = 0
        self._last_error: str | None = None
        # capture thread's view of time: offset added to the source's clock, newest frame time and shape
        self._offset = 0.0
        self._segment = 0
        self._shape: tuple[int, ...] | None = None
        self._last_t: float | None = None
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
        """Stop both threads and release the pipeline; True when both threads ended within ``timeout``.

        Returns by the deadline whatever the source does. A capture thread stuck in a
        source's read is left behind (it is a daemon thread; it closes its source and
        ends if the read returns); no frame or reading comes from it any more.
        """
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in reversed(self._threads):  # processing first: it holds the pipeline
            thread.join(max(0.0, deadline - time.monotonic()))
        processing = len(self._threads) == 2 and self._threads[1].is_alive()
        if not processing:
            self._release_pipeline()
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        if stuck:
            log.warning("engine stopped with %s still busy after %.1f s (%s)", ", ".join(stuck), timeout,
                        "a source read that does not return" if not processing else "a slow subscriber")
        return not stuck

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the first frame went through the pipeline (or the source is lost or done)."""
        return self._ready.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a finite source has been fully processed; True when it has."""
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    @property
    def released(self) -> bool:
        """The pipeline (face detector, network) has been closed."""
        return self._released

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _release_pipeline(self) -> None:
        with self._release_lock:
            if self._released:
                return
            self._released = True
        self.pipeline.close()

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
        with self._lock:
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
        """A snapshot taken at one instant: captured = processed + dropped + queued (+ one in progress)."""
        median, p95, top = self._latency.percentiles_ms()
        lag = self._lag.percentiles_ms()[0]
        with self._lock:
            counts = self._frames.counts()
            now = time.monotonic()
            first = None if self._first_frame_at is None else self._first_frame_at - self._created_at
            return EngineStats(
                source=self.source_name, source_state=self.state,
                uptime_s=0.0 if self._started_at is None else now - self._started_at,
                frames_captured=counts.captured, frames_processed=counts.processed,
                frames_dropped=counts.dropped,
                fps_captured=self._capture_rate.rate(now), fps_processed=self._process_rate.rate(now),
                latency_ms_median=median, latency_ms_p95=p95, latency_ms_max=top, lag_ms_median=lag,
                queue_size=counts.waiting, queue_max=counts.max_waiting, queue_bound=counts.bound,
                readings=self._readings, reopens=self._reopens, first_frame_s=first,
                last_error=self._last_error, frames_in_progress=counts.in_progress,
                frames_invalid=self._invalid, time_jumps=self._time_jumps, pipeline_errors=self._errors)

    # ---- capture thread ---------------------------------------------------------------------

    def _is_camera_spec(self) -> bool:
        return self.source_spec.strip().isdigit()

    def _open(self) -> FrameSource:
        source = self._opener(self.source_spec, self.realtime)
        self.source_name = getattr(source, "name", self.source_spec)
        self.source_fps = float(getattr(source, "fps", 0.0) or 30.0)
        # A camera never waits for the reader, whatever ``realtime`` says: keep its newest frames.
        self._live = bool(getattr(source, "live", False))
        self._drop_oldest = self.realtime or self._live
        return source

    def _mark_lost(self, error: str | None) -> None:
        with self._lock:
            if error:
                self._last_error = error
            was = self.state
            self.state = LOST
        if was != LOST:
            log.warning("source lost: %s", error or "stream ended")
        self._ready.set()

    def _clock(self, now: float | None = None) -> float:
        """Engine time now: the newest frame's time plus the wall time since it arrived."""
        now = time.monotonic() if now is None else now
        if self._last_t is None:
            return now - (self._started_at or now)
        return self._last_t + (now - self._last_frame_wall)

    def _capture_loop(self) -> None:
        source = self._source
        backoff = self._backoff_min
        try:
            while not self._stop.is_set():
                if source is None:
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2.0, self._backoff_max)
                    if self._stop.is_set():
                        break
                    try:
                        source = self._source = self._open()
                    except SourceError as exc:
                        self._mark_lost(str(exc))
                        continue
                    with self._lock:
                        self._reopens += 1
                        self._offset = self._clock()
                before = self._frames.counts().captured
                failed = self._pump(source)
                if self._frames.counts().captured > before:
                    backoff = self._backoff_min
                fps = float(getattr(source, "fps", 30.0) or 30.0)
                live = bool(getattr(source, "live", False))
                source.close()
                source = self._source = None
                if self._stop.is_set():
                    break
                if self.loop and not live and not failed:
                    try:  # a file's end with loop set: next pass one frame later, same window
                        source = self._source = self._open()
                    except SourceError as exc:
                        self._mark_lost(str(exc))
                        failed = True
                    else:
                        with self._lock:
                            self._reopens += 1
                            self._offset = (self._last_t or 0.0) + 1.0 / fps
                        continue
                if (live or failed) and self.retry:
                    self._mark_lost(self._last_error if failed else f"{self.source_name}: stream ended")
                    continue
                break
        finally:
            if source is not None:
                source.close()
            self._frames.end()  # behind the last frame: processing finishes what was captured

    def _pump(self, source: FrameSource) -> bool:
        """Move frames from ``source`` to the queue until it ends or stop; True when it failed."""
        try:
            for frame in source:
                if self._stop.is_set():
                    break
                self._enqueue(frame)
        except Exception as exc:  # a camera driver or decoder failing mid-stream: retried, not fatal
            with self._lock:
                self._last_error = f"{self.source_name}: {exc}"
            return True
        return False

    def _enqueue(self, frame: Frame) -> None:
        image = getattr(frame, "image", None)
        t_source = getattr(frame, "t", None)
        if not is_image(image) or not isinstance(t_source, (int, float)) or not math.isfinite(t_source):
            with self._lock:
                self._invalid += 1
            return
        with self._lock:
            now = time.monotonic()  # taken under the lock: "lost" readings and this frame stay in order
            t = t_source + self._offset
            back = self.state == LOST
            if back:  # after a loss the timeline continues at wall-clock time, in a fresh window
                clock = self._clock(now)
                if t < clock:
                    self._offset += clock - t
                    t = clock
                self._segment += 1
            elif self._last_t is not None and t <= self._last_t:  # the source's clock went backwards
                step = 1.0 / self.source_fps
                self._offset += self._last_t + step - t
                t = self._last_t + step
                self._time_jumps += 1
            if self._shape is not None and image.shape != self._shape and not back:
                self._segment += 1
                log.info("%s: resolution changed from %s to %s", self.source_name, self._shape[:2], image.shape[:2])
            self._shape = image.shape
            self._last_t, self._last_frame_wall = t, now
            self.state = OK
            segment = self._segment
        if back:
            log.warning("source back: %s", self.source_name)
        frame = Frame(image=image, t=t)
        for tap in self._frame_taps:
            tap(frame)
        self._capture_rate.tick(now)
        self._frames.put(_Item(frame, now, segment), self._drop_oldest, self._stop)

    # ---- processing thread ------------------------------------------------------------------

    def _process_loop(self) -> None:
        segment, warm_at = 0, None  # warm_at: engine time of the next "warming up" reading after a reset
        try:
            while not self._stop.is_set():
                item = self._frames.get(timeout=0.05)
                if item is END:
                    with self._lock:
                        self.state = FINISHED
                    self._finished.set()
                    break
                self._watch()
                if item is None:
                    continue
                try:
                    if item.segment != segment:
                        self.pipeline.reset()
                        segment, warm_at = item.segment, item.frame.t
                    warm_at = self._process(item, warm_at)
                finally:
                    self._frames.done()
        finally:
            self._ready.set()
            if self._stop.is_set():  # stop() may have given up on this thread: release here
                self._release_pipeline()

    def _process(self, item: _Item, warm_at: float | None) -> float | None:
        """Push one frame; publish its reading, or a warming-up one after a reset. Returns the new warm_at."""
        started = time.perf_counter()
        try:
            reading = self.pipeline.push(item.frame)
        except Exception as exc:  # a frame the tracker or estimator chokes on: log, start a fresh window
            log.exception("pipeline failed on the frame at %.2f s", item.frame.t)
            with self._lock:
                self._errors += 1
                self._last_error = f"pipeline: {exc}"
            self.pipeline.reset()
            return item.frame.t
        self._latency.add(time.perf_counter() - started)
        self._lag.add(time.monotonic() - item.captured_at)
        self._process_rate.tick()
        if self._first_frame_at is None:
            with self._lock:
                self._first_frame_at = time.monotonic()
            self._ready.set()
        self._update_display(item.frame)
        if reading is not None:
            self._publish(reading)
            return None
        if warm_at is not None and item.frame.t >= warm_at:
            box = getattr(self.pipeline, "last_box", None)
            self._publish(Reading(t=item.frame.t, bpm=None, quality=float("-inf"), face=box is not None, box=box))
            return warm_at + self._warm_step
        return warm_at

    def _watch(self) -> None:
        """Report a source that went quiet, and publish "lost" once a second while it is.

        Checked between frames too, so a lagging processing thread does not hide a loss.
        For a live source, frames still waiting from before a loss are dropped: the window
        restarts after it anyway, and they would only delay the news. A file read without
        drops keeps every frame, and "lost" waits until they are done.
        """
        now = time.monotonic()
        with self._lock:
            state = self.state
            since = self._last_frame_wall if self._last_t is not None else (self._started_at or now)
        waiting = self._frames.counts().waiting
        if self._live and state in (STARTING, OK) and now - since > self._stall_s:
            self._mark_lost(f"{self.source_name}: no frames for {now - since:.1f} s")
            state = LOST
        if state != LOST:
            return
        if self._drop_oldest:
            with self._lock:  # the capture thread marks a return under this lock before queueing
                if self.state == LOST:
                    self._frames.drop_waiting()
        elif waiting:
            return
        self._publish_lost()

    def _update_display(self, frame: Frame) -> None:
        now = time.monotonic()
        if now - self._display_at < self._display_period:
            return
        self._display_at = now
        box = getattr(self.pipeline, "last_box", None)
        self._display = DisplayFrame(frame.image, box, skin_rects(box) if box is not None else [], frame.t)

    def _publish_lost(self) -> None:
        now = time.monotonic()
        if now - self._lost_published_at < self._lost_interval:
            return
        self._lost_published_at = now
        with self._lock:
            if self.state != LOST:  # the source came back meanwhile: its frames carry on the timeline
                return
            t = self._clock()
        self._publish(Reading(t=t, bpm=None, quality=0.0, face=False, source=LOST))


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
