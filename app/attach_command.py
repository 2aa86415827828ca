"""attach a contact sensor's pulse CSV to a recording, as its reference (BVP.csv)

A finger or ear PPG sensor records on its own; its CSV (a time column in Unix
seconds, ms, us or ns, and a pulse column) is lined up with the recording's frame
times and written as ``BVP.csv``, so ``rppg evaluate REC --format recording`` can
score the recording against it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rppg.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recording", metavar="RECORDING", help="a folder written by the recorder (GUI Record button)")
    parser.add_argument("sensor_csv", metavar="SENSOR.csv", help="the contact sensor's CSV, with a header row")
    parser.add_argument("--time-column", default=None,
                        help="name of the time column (default: the first of timestamp, time, unix_time, ts, t)")
    parser.add_argument("--value-column", default=None,
                        help="name of the pulse column (default: the first of bvp, ppg, pulse, value, signal, "
                             "red, ir)")
    parser.add_argument("--offset", type=float, default=0.0, metavar="S",
                        help="seconds to add to the sensor's times (its clock's lag behind the computer's)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing BVP.csv")


def run(args: argparse.Namespace) -> int:
    for path, what in ((args.recording, "recording folder"), (args.sensor_csv, "sensor file")):
        if not Path(path).exists():
            raise ConfigError(f"{what} not found: {path}")
    from rppg.recording_writer import attach_reference

    out = attach_reference(args.recording, args.sensor_csv, args.time_column, args.value_column, args.offset,
                           args.overwrite)
    print(f"reference pulse written: {out}")
    return 0
