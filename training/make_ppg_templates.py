"""Build rppg/synth/ppg_templates.npz: real single-beat pulse shapes and RR-interval patterns.

The synthetic video generator concatenates real beats instead of sinusoids, so that the
networks learn what a pulse wave really looks like (fast systolic upstroke, slower decay,
dicrotic notch). Source: the Welltory PPG dataset (CC0, Neshitov et al., Sensors 2021,
https://doi.org/10.3390/s21206798): fingertip-camera PPG with per-frame mean R, G, B and
simultaneous chest-strap RR intervals.

A fingertip camera sees *less* light when there is *more* blood, so the colour trace is
negated to obtain blood volume (BVP up = more blood).

Usage: python training/make_ppg_templates.py [/path/to/welltory_ppg] [--out rppg/synth/ppg_templates.npz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.signal import butter, find_peaks, sosfiltfilt

FS = 60.0  # resampling rate of the fingertip traces
N_SAMPLES = 64  # samples per normalised beat
MIN_GOOD_BEATS = 20


def load_recording(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (times s, rgb (N,3), rr intervals s) of one Welltory subject folder."""
    table = np.genfromtxt(folder / "PPG.csv", delimiter=",", names=True)
    t = table["time"] / 1000.0
    rgb = np.stack([table["R"], table["G"], table["B"]], axis=1)
    rr = np.loadtxt(folder / "RR.txt").ravel() / 1000.0
    keep = np.concatenate([[True], np.diff(t) > 0])
    return t[keep], rgb[keep], rr


def pulse_channel(t: np.ndarray, rgb: np.ndarray, hr_hz: float) -> np.ndarray:
    """Uniformly resampled, negated trace of the channel with the strongest pulse."""
    tu = np.arange(t[0], t[-1], 1.0 / FS)
    best, best_score = None, -1.0
    for c in range(3):
        x = np.interp(tu, t, rgb[:, c])
        if np.ptp(x) < 1e-6:
            continue
        spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(len(x)))) ** 2
        f = np.fft.rfftfreq(len(x), 1.0 / FS)
        band = (f > 0.5) & (f < 5.0)
        near = band & (np.abs(f - hr_hz) < 0.15)
        score = spec[near].sum() / spec[band].sum()
        if score > best_score:
            best, best_score = x, score
    if best is None:
        raise ValueError("no channel varies")
    return -best


def beats(x: np.ndarray, hr_hz: float) -> list[np.ndarray]:
    """Foot-to-foot beats of a BVP trace, each detrended and resampled to N_SAMPLES, peak 1."""
    smooth = sosfiltfilt(butter(3, 8.0, btype="low", fs=FS, output="sos"), x)
    band = sosfiltfilt(butter(2, [0.5, 4.0], btype="band", fs=FS, output="sos"), x)
    period = FS / hr_hz
    peaks, _ = find_peaks(band, distance=int(0.6 * period))
    feet = []
    for p in peaks:
        lo = max(0, p - int(0.6 * period))
        feet.append(lo + int(np.argmin(smooth[lo : p + 1])))
    feet = np.unique(feet)
    out = []
    for a, b in zip(feet[:-1], feet[1:], strict=False):
        n = b - a
        if not 0.6 * period < n < 1.5 * period:
            continue
        seg = smooth[a : b + 1]
        seg = seg - np.linspace(seg[0], seg[-1], len(seg))
        if seg.max() <= 0:
            continue
        seg = seg / seg.max()
        out.append(np.interp(np.linspace(0, len(seg) - 1, N_SAMPLES), np.arange(len(seg)), seg))
    return out


def clean_rr(rr: np.ndarray) -> np.ndarray:
    """Relative RR deviations (rr / local median - 1) with strap artefacts removed."""
    med = np.array([np.median(rr[max(0, i - 5) : i + 6]) for i in range(len(rr))])
    ok = np.abs(rr / med - 1) < 0.25
    rel = rr[ok] / rr[ok].mean() - 1.0
    return rel.astype(np.float32)


def main() -> None:
    default_src = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "welltory_ppg"
    default_out = Path(__file__).resolve().parents[1] / "rppg" / "synth" / "ppg_templates.npz"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", type=Path, default=default_src)
    ap.add_argument("--out", type=Path, default=default_out)
    args = ap.parse_args()

    templates, sources, rr_sets = [], [], []
    for folder in sorted((args.src / "data").glob("subject_*")):
        t, rgb, rr = load_recording(folder)
        hr_hz = 1.0 / float(np.median(rr))
        bs = np.array(beats(pulse_channel(t, rgb, hr_hz), hr_hz))
        rr_sets.append(clean_rr(rr))
        if len(bs) < MIN_GOOD_BEATS:
            print(f"{folder.name}: {len(bs)} beats, skipped")
            continue
        med = np.median(bs, axis=0)
        corr = np.array([np.corrcoef(b, med)[0, 1] for b in bs])
        good = bs[corr > 0.95]
        if len(good) < MIN_GOOD_BEATS:
            print(f"{folder.name}: {len(good)} clean beats, skipped")
            continue
        tpl = np.median(good, axis=0)
        tpl = tpl - np.linspace(tpl[0], tpl[-1], N_SAMPLES)
        tpl = tpl / tpl.max()
        if int(np.argmax(tpl)) > N_SAMPLES // 2:  # upstroke must come first
            print(f"{folder.name}: implausible shape, skipped")
            continue
        templates.append(tpl.astype(np.float32))
        sources.append(folder.name)
        print(f"{folder.name}: {len(good)}/{len(bs)} clean beats, peak at {np.argmax(tpl) / N_SAMPLES:.2f}")

    rr_lengths = np.array([len(r) for r in rr_sets])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        templates=np.stack(templates),
        sources=np.array(sources),
        rr_rel=np.concatenate(rr_sets),
        rr_lengths=rr_lengths,
    )
    print(f"wrote {len(templates)} templates and {len(rr_sets)} RR sequences to {args.out}")


if __name__ == "__main__":
    main()
