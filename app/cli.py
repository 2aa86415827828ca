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
from importlib.metadata import PackageNotFoundError, entry_points, version
from types import ModuleType

from rppg.errors import ConfigError, RppgError

ENTRY_POINT_GROUP = "rppg.commands"

#: subcommand -> (module, one-line help). A module of None is provided by another installed
#: package through the ``rppg.commands`` entry-point group (``train`` comes from ``training``,
#: which the front ends must not import).
COMMANDS: dict[str, tuple[str | None, str]] = {
    "monitor": ("rppg_app.monitor_command", "read a source headlessly and print one JSON line per reading"),
    "gui": ("rppg_app.gui_command", "desktop window: live video, pulse waveform, BPM, trend, recording"),
    "daemon": ("rppg_app.daemon_command", "headless service: HTTP /health, /reading, /stream (SSE), JSON-lines log"),
    "evaluate": ("rppg_app.evaluate_command", "accuracy over a dataset with reference pulse (MAE, RMSE, r, plots)"),
    "train": (None, "train the teacher, or distil the student from it (synthetic data or a real dataset)"),
    "export": ("rppg_app.export_command", "export a network to ONNX for ONNX Runtime / TensorRT"),
    "bench": ("rppg_app.bench_command", "measure parameters, FLOPs, latency and pipeline speed"),
    "synth": ("rppg_app.synth_command", "write synthetic face videos with a known pulse (UBFC layout)"),
    "attach-pulse": ("rppg_app.attach_command", "attach a contact sensor's pulse CSV to a recording as its reference"),
}


#: Optional packages -> the extra that installs them, for a one-line hint instead of a traceback.
EXTRA_OF: dict[str, str] = {"torch": "train", "onnx": "train", "PyQt6": "gui", "pyqtgraph": "gui",
                            "matplotlib": "plots"}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The hint for a missing optional package, or None when the import error is something else."""
    top = (exc.name or "").split(".")[0]
    if top not in EXTRA_OF:
        return None
    return f"this needs {top}, which is not installed: pip install 'rppg[{EXTRA_OF[top]}]'"


def _quiet_native_logs() -> None:
    """mediapipe's native code logs INFO lines to stderr; keep the terminal for our output."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def command_module(name: str) -> ModuleType:
    """The module implementing subcommand ``name``: ours, or a registered entry point."""
    module_name = COMMANDS[name][0]
    if module_name is None:
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not found:
            raise ConfigError(f"'rppg {name}' is not installed (reinstall the project: pip install -e .)")
        module_name = found[0].value
    return importlib.import_module(module_name)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" to an option's help unless the help already says its default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text, default = action.help or "", action.default
        switch = isinstance(action, argparse.BooleanOptionalAction)
        if "default" in text or not action.option_strings or default in (None, argparse.SUPPRESS) \
                or (default is False and not switch):
            return text
        if switch:
            shown = action.option_strings[0] if default else action.option_strings[-1]
        else:
            shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})"


def package_version() -> str:
    """The installed distribution's version (what ``pip`` installed), or 'unknown' from a bare checkout."""
    try:
        return version("rppg")
    except PackageNotFoundError:
        return "unknown"


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rppg",
        description="Contactless heart-rate monitor: a camera sees a face, the program reports the pulse.",
        epilog="Run 'rppg COMMAND --help' for the options of each command.",
    )
    parser.add_argument("--version", action="version", version=f"rppg {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=DefaultsHelpFormatter)
        if name == command:
            command_module(name).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _quiet_native_logs()
    command = next((a for a in argv if not a.startswith("-")), None)

    try:
        parser = build_parser(command if command in COMMANDS else None)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return int(command_module(args.command).run(args) or 0)
    except RppgError as exc:
        print(f"rppg: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        hint = missing_extra(exc)
        if hint is None:
            raise
        print(f"rppg: error: {hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rppg monitor | head` closed the pipe: not an error
        return 0


if __name__ == "__main__":
    sys.exit(main())
