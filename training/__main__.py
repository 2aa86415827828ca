"""``python -m rppg_training TARGET ...``: the same options as ``rppg train``, for launchers like torchrun.

Example: ``torchrun --standalone --nproc_per_node=2 -m rppg_training teacher --steps 1000``
"""

from __future__ import annotations

import argparse
import sys

from rppg.errors import RppgError
from rppg_training.cli_args import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rppg_training", description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except RppgError as exc:
        print(f"training: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
