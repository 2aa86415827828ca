"""Run slow work (opening a source, loading a model, stopping an engine) off the UI thread.

The Qt event loop must keep painting while an engine is built or stopped, which
can take seconds. A :class:`BackgroundJob` runs one callable on its own QThread
and reports back through signals, which Qt delivers on the UI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QThread, pyqtSignal

from rppg.errors import RppgError


class BackgroundJob(QThread):
    """``work()`` on a thread; ``succeeded(result)`` or ``failed(message)`` afterwards."""

    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, work: Callable[[], object], what: str) -> None:
        super().__init__()
        self.work = work
        self.what = what  # shown while it runs
        self.result: object = None  # also kept here, for a window that closes before the signal arrives

    def run(self) -> None:
        try:
            self.result = self.work()
        except RppgError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # anything else is still one line in the status bar, not a crash
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.succeeded.emit(self.result)
