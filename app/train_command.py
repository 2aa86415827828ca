"""Train the teacher, or distil the student from it (synthetic data or a real dataset).

Writes checkpoints, a metrics.jsonl log and finally TARGET.safetensors with a JSON
model card into the run folder; copy them into models/ to ship them. For several
GPUs or machines, launch ``torchrun ... -m training TARGET`` with the same options.
"""

from __future__ import annotations

from training.cli_args import add_arguments, run

__all__ = ["add_arguments", "run"]
