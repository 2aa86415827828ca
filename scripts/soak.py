"""Soak the daemon on a source that drops out, and write what was measured to a JSON summary.

Runs ``rppg daemon`` on ``faulty:dropout`` over a real clip (no frames for
``--gap`` seconds every ``--every`` seconds) for ``--minutes``, and watches it
from outside, as a client would:

- every ``--poll`` seconds ``/health`` (frames captured, source state) and the
  daemon's resident memory and thread count from ``/proc/PID/status``;
- ``/stream`` (SSE), every reading with the time it arrived.

A *return* is the first poll at which frames_captured grows again after it was
flat for at least half the gap; the reading delay of a return is the time from
it to the first reading whose source is not "lost". At the end the daemon gets
SIGTERM and must exit 0. Not part of the test suite (it runs for an hour):

    nice -n 10 python scripts/soak.py --minutes 60 --out docs/soak_summary.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from rppg_app.daemon.sse_reader import get_json, read_stream

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VIDEO = ROOT / "tests/data/physrecorder_v01/video_ZIP_H264.avi"


def proc_status(pid: int) -> tuple[float | None, int | None]:
    """(resident MiB, threads) of a process from /proc; Nones when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None, None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024.0, int(fields["Threads"])


class StreamListener(threading.Thread):
    """Collects (arrival monotonic time, reading) from /stream, reconnecting if the connection drops."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(name="soak-sse", daemon=True)
        self.port, self.stop = port, stop
        self.events: list[tuple[float, dict]] = []
        self.reconnects = 0

    def run(self) -> None:
        while not self.stop.is_set():
            read_stream(self.port, self.stop, self.events)
            if not self.stop.is_set():
                self.reconnects += 1
                self.stop.wait(0.5)


def find_returns(samples: list[dict], gap_s: float) -> list[float]:
    """Monotonic times at which frames started to flow again after a pause of at least gap_s / 2."""
    returns, flat_since, last = [], None, None
    for sample in samples:
        frames = sample.get("frames_captured")
        if frames is None:
            continue
        if last is not None and frames == last:
            flat_since = flat_since if flat_since is not None else sample["t"]
        elif last is not None and frames > last:
            if flat_since is not None and sample["t"] - flat_since >= gap_s / 2:
                returns.append(sample["t"])
            flat_since = None
        last = frames
    return returns


def rss_trace(samples: list[dict], started: float, every_s: float = 5.0) -> list[list[float]]:
    """[minutes since start, lowest MB, highest MB, threads] per ``every_s`` seconds, for a plot."""
    buckets: dict[int, list[dict]] = {}
    for s in samples:
        if s.get("rss_mb") is not None:
            buckets.setdefault(int((s["t"] - started) // every_s), []).append(s)
    return [[round(k * every_s / 60.0, 2), round(min(s["rss_mb"] for s in b), 1),
             round(max(s["rss_mb"] for s in b), 1), b[-1]["threads"]] for k, b in sorted(buckets.items())]


def peak_growth_mb(settled: list[dict], span_s: float = 600.0) -> float | None:
    """The peak resident memory of the last ``span_s`` minus that of the first ``span_s`` after the
    first minute (half the run each when it is shorter). Resident memory swings by the working set
    of one network inference between readings, so a leak shows as rising peaks; one sample at the
    first minute against the later maximum counts that swing as growth whenever the sample falls
    between two inferences."""
    if len(settled) < 2:
        return None
    t0, t1 = settled[0]["t"], settled[-1]["t"]
    span = min(span_s, (t1 - t0) / 2)
    first = max(s["rss_mb"] for s in settled if s["t"] <= t0 + span)
    last = max(s["rss_mb"] for s in settled if s["t"] >= t1 - span)
    return round(last - first, 1)


def summarise(args: argparse.Namespace, samples: list[dict], events: list[tuple[float, dict]],
              started: float, exit_code: int | None, exit_s: float | None, reconnects: int) -> dict:
    returns = find_returns(samples, args.gap)
    delays, bpm_delays = [], []
    for back in returns:
        ok = [t for t, r in events if t >= back and r.get("source", "ok") != "lost"]
        delays.append(round(ok[0] - back, 2) if ok else None)
        bpm = [t for t, r in events if t >= back and r.get("bpm") is not None]
        bpm_delays.append(round(bpm[0] - back, 2) if bpm else None)
    settled = [s for s in samples if s["t"] - started >= 60.0 and s.get("rss_mb") is not None]
    rss_1min = settled[0]["rss_mb"] if settled else None
    rss_max = max((s["rss_mb"] for s in settled), default=None)
    # "Growth after the first minute", peak against peak: resident memory rises by a reading's
    # scratch (about 10 MB) during every reading and falls after it, so the baseline is the peak
    # over the minute after the first (sixty readings), not one sample at an arbitrary phase.
    second_minute = [s["rss_mb"] for s in settled if s["t"] - started < 120.0]
    later = [s["rss_mb"] for s in settled if s["t"] - started >= 120.0]
    peak_2nd = max(second_minute, default=None)
    threads = [s["threads"] for s in settled if s.get("threads") is not None]
    finite_delays = [d for d in delays if d is not None]
    return {
        "command": " ".join(args.command),
        "minutes": round((samples[-1]["t"] - started) / 60.0, 2) if samples else 0.0,
        "dropout": {"every_s": args.every, "gap_s": args.gap},
        "returns": len(returns),
        "readings_back_s": delays,
        "readings_back_s_max": max(finite_delays) if finite_delays else None,
        "bpm_back_s": bpm_delays,
        "readings": len(events),
        "readings_lost": sum(1 for _, r in events if r.get("source") == "lost"),
        "readings_with_bpm": sum(1 for _, r in events if r.get("bpm") is not None),
        "rss_mb_at_1_min": None if rss_1min is None else round(rss_1min, 1),
        "rss_mb_max_after_1_min": None if rss_max is None else round(rss_max, 1),
        "rss_mb_sample_to_peak_after_1_min": None if rss_1min is None else round(rss_max - rss_1min, 1),
        "rss_mb_peak_minute_2": None if peak_2nd is None else round(peak_2nd, 1),
        "rss_mb_growth_after_1_min": (None if peak_2nd is None or not later
                                      else round(max(later) - peak_2nd, 1)),
        "rss_mb_peak_growth": peak_growth_mb(settled),
        "rss_mb_last": None if not settled else round(settled[-1]["rss_mb"], 1),
        "threads_min": min(threads, default=None),
        "threads_max": max(threads, default=None),
        "threads_at_1_min": threads[0] if threads else None,
        "threads_last": threads[-1] if threads else None,
        "rss_trace": rss_trace(samples, started),
        "stream_reconnects": reconnects,
        "sigterm_exit_code": exit_code,
        "sigterm_exit_s": None if exit_s is None else round(exit_s, 2),
        "targets": {"rss_mb_peak_growth_max": 10.0, "rss_mb_growth_after_1_min_max": 10.0,
                    "readings_back_s_max": 3.0, "threads_growth_max": 2},
    }


def passed(summary: dict) -> bool:
    """Every return answered in time, memory peaks flat, no thread leak (the count at the end
    against the count at the first minute: a dropout briefly ends the capture thread, so the
    lowest count is not the baseline), a clean exit on SIGTERM."""
    t, delays, growth = summary["targets"], summary["readings_back_s"], summary["rss_mb_peak_growth"]
    threads_ok = summary["threads_last"] is None or (
        summary["threads_last"] <= summary["threads_at_1_min"] + t["threads_growth_max"])
    return (summary["returns"] > 0 and None not in delays and max(delays) <= t["readings_back_s_max"]
            and growth is not None and growth <= t["rss_mb_peak_growth_max"]
            and summary["rss_mb_growth_after_1_min"] is not None
            and summary["rss_mb_growth_after_1_min"] <= t["rss_mb_growth_after_1_min_max"]
            and summary["sigterm_exit_code"] == 0 and threads_ok)


def plot_memory(summary: dict, returns_min: list[float], path: Path) -> None:
    """Resident memory over the run, with the source's returns marked (needs the plots extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("soak: matplotlib not installed, no plot (pip install '.[plots]')", file=sys.stderr)
        return
    minutes, low, high, _ = zip(*summary["rss_trace"], strict=True)
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.fill_between(minutes, low, high, lw=0.6, label="resident memory, range per 5 s")
    for i, m in enumerate(returns_min):
        ax.axvline(m, color="tab:orange", lw=0.6, ls="--", label="source back" if i == 0 else None)
    ax.set_xlabel("minutes")
    ax.set_ylabel("MB")
    ax.set_title(f"daemon resident memory, peak growth {summary['rss_mb_peak_growth']} MB")
    ax.legend(loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long the daemon runs")
    parser.add_argument("--every", type=float, default=300.0, help="seconds between dropouts")
    parser.add_argument("--gap", type=float, default=10.0, help="seconds without frames per dropout")
    parser.add_argument("--method", default="student", help="the daemon's --method")
    parser.add_argument("--video", default=str(DEFAULT_VIDEO), help="the clip the faulty source replays")
    parser.add_argument("--port", type=int, default=8779, help="loopback port for the daemon")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between /health polls")
    parser.add_argument("--out", default=str(ROOT / "docs/soak_summary.json"), help="the JSON summary")
    parser.add_argument("--log", default=None, help="the daemon's stderr (default: soak/daemon.stderr.log)")
    parser.add_argument("--plot", default=str(ROOT / "docs/soak_memory.png"),
                        help="PNG of resident memory over the run ('' for none)")
    args = parser.parse_args()

    spec = f"faulty:dropout?after={args.every:g}&every={args.every:g}&gap={args.gap:g}&source={args.video}"
    args.command = ["rppg", "daemon", "--source", spec, "--method", args.method, "--port", str(args.port)]
    log_path = ROOT / "soak/daemon.stderr.log" if args.log is None else Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file = open(log_path, "w")  # noqa: SIM115 - the daemon writes to it until the end
    daemon = subprocess.Popen([sys.executable, "-m", "rppg_app.cli", *args.command[1:]], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=log_file)
    stop = threading.Event()
    deadline = time.monotonic() + 600  # a busy machine can take minutes to load the model and detector
    while get_json(args.port, "/health") is None:
        if daemon.poll() is not None or time.monotonic() > deadline:
            print("soak: daemon did not start:", log_path.read_text()[-2000:], file=sys.stderr)
            daemon.kill()
            return 1
        time.sleep(0.5)
    listener = StreamListener(args.port, stop)
    listener.start()
    started = time.monotonic()
    end = started + args.minutes * 60.0
    samples: list[dict] = []
    try:
        while time.monotonic() < end and daemon.poll() is None:
            health = get_json(args.port, "/health") or {}
            rss, threads = proc_status(daemon.pid)
            samples.append({"t": time.monotonic(), "frames_captured": health.get("frames_captured"),
                            "state": health.get("source_state"), "rss_mb": rss, "threads": threads})
            time.sleep(args.poll)
    finally:
        stop.set()
        sent = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        try:
            exit_code = daemon.wait(30)
            exit_s = time.monotonic() - sent
        except subprocess.TimeoutExpired:
            daemon.kill()
            exit_code, exit_s = None, None
        log_file.close()
    summary = summarise(args, samples, listener.events, started, exit_code, exit_s, listener.reconnects)
    summary["passed"] = passed(summary)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    if args.plot and summary["rss_trace"]:
        plot_memory(summary, [(t - started) / 60.0 for t in find_returns(samples, args.gap)], Path(args.plot))
    print(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up: the daemon gets SIGTERM too
    sys.exit(main())
