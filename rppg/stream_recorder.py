"""Record a live session (video, frame times, readings) in the ``recording`` dataset format.

Encoding video is too slow to do on the capture or processing thread, so
frames and readings go through a bounded queue to a writer thread of their own.
If the disk cannot keep up with a live source, frames are dropped (and
counted) rather than stalling the monitor; the frame times file still says
exactly which were kept. A file read as fast as possible waits instead.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

from rppg.containers import Frame, Reading
from rppg.recording_writer import RecordingWriter
from rppg.stream import Engine

_DONE = object()


class SessionRecorder:
    """Taps an :class:`Engine` and writes what it sees to ``out_dir`` until :meth:`stop`."""

    def __init__(self, engine: Engine, out_dir: str | Path, queue_size: int = 256) -> None:
        self.engine = engine
        self.out_dir = Path(out_dir)
        self.frames_written = 0
        self.frames_dropped = 0
        self.error: str | None = None
        self._queue: queue.Queue = queue.Queue()  # frames are bounded by the slots, readings never dropped
        self._frame_slots = threading.BoundedSemaphore(queue_size)
        self._writer: RecordingWriter | None = None
        self._thread = threading.Thread(target=self._run, name="rppg-recorder", daemon=True)

    def start(self) -> SessionRecorder:
        self._thread.start()
        self.engine.tap_frames(self._on_frame)
        self.engine.subscribe(self._on_reading)
        return self

    def stop(self, timeout: float = 10.0) -> Path:
        """Detach, flush what is queued, close the files; returns the folder."""
        self.engine.untap_frames(self._on_frame)
        self.engine.unsubscribe(self._on_reading)
        self._queue.put(_DONE)
        self._thread.join(timeout)
        return self.out_dir

    def _on_frame(self, frame: Frame) -> None:
        # A file read as fast as possible can wait for the disk; a camera cannot.
        if self._frame_slots.acquire(blocking=not self.engine.realtime):
            self._queue.put(frame)
        else:
            self.frames_dropped += 1

    def _on_reading(self, reading: Reading) -> None:
        self._queue.put(reading.to_json())  # one a second: never worth dropping

    def _run(self) -> None:
        while (item := self._queue.get()) is not _DONE:
            if isinstance(item, Frame):
                self._frame_slots.release()
            if self.error is not None:
                continue  # keep draining, so the engine never waits on a dead recorder
            try:
                if isinstance(item, Frame):
                    self._write_frame(item)
                elif self._writer is not None:
                    self._writer.add_reading(item)
            except Exception as exc:  # a full disk: stop recording, keep monitoring
                self.error = str(exc)
        if self._writer is not None:
            self._writer.close()

    def _write_frame(self, frame: Frame) -> None:
        if self._writer is None:
            height, width = frame.image.shape[:2]
            self._writer = RecordingWriter(self.out_dir, self.engine.source_fps, (width, height))
        self._writer.write(frame)
        self.frames_written += 1
