"""Create the QApplication (after cleaning OpenCV's Qt variables) and run the main window."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rppg_app.gui.qt_env import clean_qt_environment

if TYPE_CHECKING:
    from PyQt6.QtWidgets import QApplication

    from rppg_app.gui.window import EngineSettings


def make_application() -> QApplication:
    """The one QApplication, dark Fusion style so the plots and the readout match.

    Qt is imported here, after the environment is clean, not at module import.
    """
    clean_qt_environment()
    import pyqtgraph as pg
    from PyQt6.QtGui import QColor, QPalette
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("rppg")
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in ((QPalette.ColorRole.Window, "#1e1e1e"), (QPalette.ColorRole.WindowText, "#e0e0e0"),
                         (QPalette.ColorRole.Base, "#141414"), (QPalette.ColorRole.Text, "#e0e0e0"),
                         (QPalette.ColorRole.Button, "#2d2d2d"), (QPalette.ColorRole.ButtonText, "#e0e0e0"),
                         (QPalette.ColorRole.Highlight, "#3a78c8")):
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6a6a"))  # busy controls look off
    app.setPalette(palette)
    pg.setConfigOptions(antialias=True, background="#141414", foreground="#c0c0c0")
    return app


def run_window(settings: EngineSettings, record_dir: str | Path, duration_s: float | None = None,
               screenshot: str | Path | None = None) -> int:
    """Start the engine, show the window, run until closed or ``duration_s``; 0 on a normal exit.

    The engine is started before the window exists, so a bad source or weight file
    fails with a one-line error and no window.
    """
    app = make_application()
    from PyQt6.QtCore import QTimer

    from rppg_app.gui.window import MainWindow

    engine = settings.build()
    window = MainWindow(engine, settings, record_dir)
    window.show()

    def finish() -> None:
        window.refresh()  # the last readings and frame, so the screenshot shows the latest state
        window.refresh_status()
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(screenshot))
        window.close()
        app.quit()

    if duration_s is not None:
        QTimer.singleShot(int(duration_s * 1000), finish)
    app.exec()
    if window.isVisible():
        window.close()
    return 0
