"""Options shared by the commands that run the pipeline, declared once."""

from __future__ import annotations

import argparse

from rppg.constants import HR_MAX_BPM, HR_MIN_BPM, METHODS


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """--method, --weights, --backend, --band."""
    parser.add_argument("--method", default="student", choices=METHODS + ("student_nokd",),
                        help="estimator: the distilled student network (default), the teacher, or a "
                             "classical method (pos, chrom, green)")
    parser.add_argument("--weights", default=None,
                        help="weights file for student/teacher (default: the shipped models/<method>.safetensors)")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnx"),
                        help="inference backend for networks")
    parser.add_argument("--fallback", default="pos", choices=("none", "pos", "chrom"),
                        help="for networks: per reading, use this classical method instead when its signal "
                             "quality is higher ('none': the network alone)")
    parser.add_argument("--band", nargs=2, type=float, default=(HR_MIN_BPM, HR_MAX_BPM), metavar=("LOW", "HIGH"),
                        help="heart-rate band in bpm")


def add_source_argument(parser: argparse.ArgumentParser, default: str = "0") -> None:
    parser.add_argument("--source", default=default,
                        help="camera index (0), video file, image folder, or 'demo' (a synthetic face, no camera)")


def add_tracking_arguments(parser: argparse.ArgumentParser) -> None:
    """--detector and --roi: the face tracker and where classical methods average skin."""
    parser.add_argument("--detector", default="mediapipe", choices=("mediapipe", "haar"),
                        help="face detector: mediapipe BlazeFace (default) or OpenCV's Haar cascade (baseline)")
    parser.add_argument("--roi", default="skin", choices=("skin", "box"),
                        help="classical methods average skin patches (forehead, cheeks; default) or the whole "
                             "face box (baseline)")
