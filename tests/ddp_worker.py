"""Run by torchrun from tests/test_training.py: a tiny distributed training run, each rank
saving its weights so the test can check that the ranks stayed identical."""

import sys
from pathlib import Path

import torch.distributed as dist
from safetensors.torch import save_file

from rppg_training.config import load_config
from rppg_training.trainer import RunOptions, Trainer

out, cache = Path(sys.argv[1]), Path(sys.argv[2])
cfg = load_config("student_nokd")
cfg.pop("unlabelled", None)  # label-free losses run single-process only
cfg.update(batch_size=2, val_every=100, epoch_windows=8, data={"seed": 3, "train_clips": 2, "val_clips": 1,
                                                               "clip_seconds": 10.0})
trainer = Trainer(cfg, RunOptions("student_nokd", out, steps=2, cache_dir=cache, progress=False, threads=1))
init = {k: v.clone() for k, v in trainer.model.state_dict().items()}
trainer.fit()
rank = dist.get_rank()
state = {k: v.contiguous() for k, v in trainer.model.state_dict().items()}
save_file(state, str(out / f"rank{rank}.safetensors"))
save_file(init, str(out / f"init{rank}.safetensors"))
print(f"rank {rank} of {dist.get_world_size()} finished at step {trainer.step}")
dist.destroy_process_group()
