"""Desktop GUI: a real X window under Xvfb (catches the OpenCV/Qt plugin clash), and the readout offscreen."""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from rppg.containers import Reading
from tests.conftest import PYFEAT, REAL_VIDEO

WINDOW_SIZE = (1200, 760)


@pytest.fixture(scope="module")
def xvfb_display():
    """A private Xvfb server; its display number comes back through -displayfd."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(5)


def test_gui_runs_in_a_real_x_window_and_saves_a_screenshot(xvfb_display, tmp_path):
    from PyQt6.QtGui import QImage

    shot = tmp_path / "gui.png"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["DISPLAY"] = xvfb_display
    result = subprocess.run([sys.executable, "-m", "rppg_app.cli", "gui", "--source", str(REAL_VIDEO),
                             "--method", "pos",
                             "--duration", "12", "--screenshot", str(shot), "--record-dir", str(tmp_path)],
                            env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == WINDOW_SIZE
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    pixels = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint8)
    pixels = pixels.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 3]
    pixels = pixels.reshape(image.height(), image.width(), 3)
    assert pixels.std() > 20  # not a blank or single-colour window
    video = pixels[60:450, 190:710]  # where the 640x480 frame is shown: the real scene, many colours
    assert len(np.unique(video.reshape(-1, 3) // 16, axis=0)) > 100




def test_readout_says_no_reading_when_bpm_is_null_or_the_face_is_lost(qt_app):
    from rppg_app.gui.readout import NO_READING, BpmReadout

    readout = BpmReadout()
    assert readout.value.text() == NO_READING
    readout.show_reading(Reading(t=10.0, bpm=72.4, quality=5.0, face=True))
    assert readout.value.text() == "72" and readout.unit.text() == "bpm"
    readout.show_reading(Reading(t=11.0, bpm=None, quality=-3.0, face=True))
    assert readout.value.text() == NO_READING and readout.unit.text() == "signal too weak"
    readout.show_reading(Reading(t=12.0, bpm=None, quality=float("-inf"), face=False))
    assert readout.value.text() == NO_READING and readout.unit.text() == "no face"
    assert readout.quality.text() == "quality: -"
    readout.show_reading(Reading(t=13.0, bpm=None, quality=0.0, face=False, source="lost"))
    assert readout.value.text() == NO_READING and readout.unit.text() == "source lost"


def test_plots_take_readings_with_gaps(qt_app):
    from rppg_app.gui.plots import TrendPlot, WaveformPlot

    trend, wave = TrendPlot(), WaveformPlot()
    t = np.arange(300) / 30.0
    trend.add_reading(Reading(t=10.0, bpm=70.0, quality=3.0, face=True))
    trend.add_reading(Reading(t=11.0, bpm=None, quality=-5.0, face=True))
    xs, ys = trend._curve.getData()
    assert list(xs) == [10.0, 11.0] and ys[0] == 70.0 and np.isnan(ys[1])
    wave.show_reading(Reading(t=10.0, bpm=70.0, quality=3.0, face=True,
                              waveform=np.sin(2 * np.pi * 1.2 * t).astype(np.float32)))
    xs, ys = wave._curve.getData()
    assert xs[-1] == pytest.approx(10.0) and len(xs) == 300 and abs(ys.std() - 1.0) < 0.1


def settle(app, window, timeout: float = 90.0) -> None:
    """Run the event loop until the window's background jobs are done."""
    deadline = time.monotonic() + timeout
    while not window.idle and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    assert window.idle and not window.busy


def test_window_records_switches_method_and_keeps_running_on_a_bad_source(qt_app, tmp_path):
    from rppg_app.gui.window import EngineSettings, MainWindow

    settings = EngineSettings(source=str(REAL_VIDEO), method="pos")
    window = MainWindow(settings.build(), settings, tmp_path)
    first = window.engine
    try:
        window.set_recording(True)
        assert window.controls.record.isChecked()
        deadline = time.monotonic() + 20
        while window.recorder.frames_written < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        window.set_recording(False)
        assert not window.controls.record.isChecked() and window.recorder is None
        settle(qt_app, window)  # the recorder flushes its frames to disk off the UI thread
        assert "recording saved" in window.statusBar().currentMessage()
        folders = [p for p in tmp_path.iterdir() if p.is_dir()]
        assert len(folders) == 1 and not window.controls.record.isChecked()
        rows = (folders[0] / "frames_timestamp.csv").read_text().splitlines()
        assert len(rows) >= 21 and rows[0] == "frame,timestamp"

        window.switch_method("chrom")
        assert window.busy and window.engine is first  # built in the background; the old one runs meanwhile
        assert not window.controls.method.isEnabled() and not window.controls.record.isEnabled()
        assert "opening" in window.controls.busy_note.text()
        window.switch_source(str(REAL_VIDEO))  # a second request while busy is ignored
        settle(qt_app, window)
        assert window.engine is not first and window.engine.method == "chrom" and not first.running
        assert window.engine.running and window.controls.method.isEnabled()

        second = window.engine
        window.switch_source(str(tmp_path / "missing.avi"))
        settle(qt_app, window)
        assert window.engine is second and second.running
        assert "cannot switch" in window.statusBar().currentMessage()
        assert window.controls.method.currentText() == "chrom"
    finally:
        window.close()
    assert not window.engine.running


def test_window_says_when_a_source_ends_without_a_face(qt_app, tmp_path):
    from rppg_app.gui.readout import SOURCE_ENDED
    from rppg_app.gui.window import EngineSettings, MainWindow

    settings = EngineSettings(source=str(PYFEAT / "no_face.mp4"), method="pos")  # 4 s, no one in it
    window = MainWindow(settings.build(), settings, tmp_path)
    try:
        assert window.engine.wait(60)
        window.refresh()
        window.refresh_status()
        assert not window.banner.isHidden()
        assert "ended" in window.banner.text() and "No face was found" in window.banner.text()
        assert window.readout.unit.text() == SOURCE_ENDED  # no longer "waiting for the first window"
        assert "waiting" not in window.readout.quality.text()
    finally:
        window.close()


STALL_PROBE = """
import json, sys, threading, time
from rppg_app.gui.application import make_application
app = make_application()
from PyQt6.QtCore import QTimer
from rppg_app.gui.window import EngineSettings, MainWindow

video, out = sys.argv[1], sys.argv[2]
settings = EngineSettings(source=video, method="pos")
window = MainWindow(settings.build(), settings, out)
window.show()
SCHEDSTAT = f"/proc/self/task/{threading.get_native_id()}/schedstat"  # ns on CPU, ns waiting for a CPU
def waited_for_cpu():
    with open(SCHEDSTAT) as f:
        return int(f.read().split()[1]) / 1e9
gaps, baseline, last, phase = [], [], [(time.monotonic(), waited_for_cpu())], ["warm-up"]
def tick():
    now, queued = time.monotonic(), waited_for_cpu()
    gap = (now - last[0][0], now - last[0][0] - (queued - last[0][1]))  # (wall, wall less time runnable)
    {"baseline": baseline, "switching": gaps}.get(phase[0], []).append(gap)
    last[0] = (now, queued)
probe = QTimer()
probe.timeout.connect(tick)
probe.start(5)
steps = [("method", "chrom"), ("method", "green"), ("source", video), ("source", out + "/missing.avi"),
         ("method", "pos")]
disabled = []
def step():
    if not window.idle:
        QTimer.singleShot(10, step)
        return
    if not steps:
        phase[0] = "done"
        window.grab().save(out + "/window.png")
        print(json.dumps({"switches": len(disabled), "disabled_while_busy": all(disabled),
                          "max_stall_ms": 1000 * max(g[0] for g in gaps),
                          "max_own_stall_ms": 1000 * max(g[1] for g in gaps),
                          "baseline_max_stall_ms": 1000 * max(g[0] for g in baseline),
                          "baseline_max_own_stall_ms": 1000 * max(g[1] for g in baseline),
                          "engine": window.engine.method}))
        window.close()
        app.quit()
        return
    phase[0] = "switching"
    kind, value = steps.pop(0)
    (window.switch_method if kind == "method" else window.switch_source)(value)
    disabled.append(window.busy and not window.controls.method.isEnabled() and not window.controls.demo.isEnabled())
    QTimer.singleShot(10, step)
QTimer.singleShot(1000, lambda: phase.__setitem__(0, "baseline"))
QTimer.singleShot(3000, step)
app.exec()
"""


def test_event_loop_never_stalls_while_method_and_source_switch(xvfb_display, tmp_path):
    """A 5 ms timer in a real window while the method and source are switched five times (one
    of them to a missing file). Stall: the longest gap between its ticks, less the time the UI
    thread was runnable but waiting for a CPU (from the kernel's schedstat), so that a machine
    busy with other programs does not count against the window; the raw gaps are reported too.
    Target: 100 ms. On a machine so loaded that the same window, doing nothing but play,
    already stalls for tens of ms (threads waiting for the interpreter lock held by preempted
    threads), the bound is twice that idle stall instead. Building an engine on the UI thread,
    as before, stalls it for seconds: either bound tells the two apart."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env["DISPLAY"] = xvfb_display
    result = subprocess.run([sys.executable, "-c", STALL_PROBE, str(REAL_VIDEO), str(tmp_path)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    print(probe)
    assert probe["switches"] == 5 and probe["disabled_while_busy"] and probe["engine"] == "pos"
    assert probe["max_own_stall_ms"] <= max(100.0, 2 * probe["baseline_max_own_stall_ms"]), probe
    assert (tmp_path / "window.png").is_file()
