"""Append-only JSON-lines log of readings that survives rotation, for a daemon that runs for days.

Each line is flushed as written, so a crash or power cut loses at most one line.
Rotation works both ways:
- external (logrotate): before each line the file's identity (device, inode) is
  checked; when the path was renamed away or deleted, the log is reopened at the
  path. ``copytruncate`` also works because the file is opened in append mode.
- built in: with ``max_bytes`` set, ``log`` becomes ``log.1`` (``log.1`` becomes
  ``log.2``, ...) once it would grow past it, keeping ``backups`` old files.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO

from rppg.errors import ConfigError


class JsonLinesLog:
    """Writes one JSON object per line to ``path``; thread-safe."""

    def __init__(self, path: str | Path, max_bytes: int | None = None, backups: int = 5) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = max(backups, 1)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._identity: tuple[int, int] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except OSError as exc:
            raise ConfigError(f"cannot write log file {self.path}: {exc.strerror}") from None

    def _open(self) -> None:
        self._file = self.path.open("a", encoding="utf-8")
        st = os.fstat(self._file.fileno())
        self._identity = (st.st_dev, st.st_ino)

    def _reopen_if_moved(self) -> None:
        try:
            st = os.stat(self.path)
            moved = (st.st_dev, st.st_ino) != self._identity
        except FileNotFoundError:
            moved = True
        if moved:
            self._file.close()
            self._open()

    def _rotate(self) -> None:
        self._file.close()
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._open()

    def write(self, record: dict) -> None:
        line = json.dumps(record, allow_nan=False) + "\n"
        with self._lock:
            if self._file is None:
                return
            self._reopen_if_moved()
            if self.max_bytes:
                size = os.fstat(self._file.fileno()).st_size  # not tell(): copytruncate moves the end
                if size > 0 and size + len(line.encode()) > self.max_bytes:
                    self._rotate()
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
