"""The ``rppg`` command: one entry point, one module per subcommand.

Only the chosen subcommand's module is imported, so ``rppg monitor`` never pays
for Qt and ``rppg --help`` starts instantly. Expected failures (RppgError) print
one line and exit 2; Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "monitor": ("app.monitor_command", "read a source headlessly and print one JSON line per reading"),
    "gui": ("app.gui_command", "desktop window: live video, pulse waveform, BPM, trend, recording"),
    "daemon": ("app.daemon_command", "headless service: HTTP /health, /reading, /stream (SSE), JSON-lines log"),
    "evaluate": ("app.evaluate_command", "accuracy over a dataset with reference pulse (MAE, RMSE, r, plots)"),
    "train": ("app.train_command", "train the teacher, or distil the student from it"),
    "export": ("app.export_command", "export a network to ONNX for ONNX Runtime / TensorRT"),
    "bench": ("app.bench_command", "measure parameters, FLOPs, latency and pipeline speed"),
    "synth": ("app.synth_command", "write synthetic face videos with a known pulse (UBFC layout)"),
}


def _quiet_native_logs() -> None:
    """mediapipe's native code logs INFO lines to stderr; keep the terminal for our output."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rppg",
        description="Contactless heart-rate monitor: a camera sees a face, the program reports the pulse.",
        epilog="Run 'rppg COMMAND --help' for the options of each command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        if name == command:
            importlib.import_module(module_name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _quiet_native_logs()
    command = next((a for a in argv if not a.startswith("-")), None)
    from rppg.errors import RppgError

    try:
        parser = build_parser(command if command in COMMANDS else None)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        module = importlib.import_module(COMMANDS[args.command][0])
        return int(module.run(args) or 0)
    except RppgError as exc:
        print(f"rppg: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rppg monitor | head` closed the pipe: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
