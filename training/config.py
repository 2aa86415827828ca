"""Training configs: JSON files in training/configs/, one per shipped network."""

from __future__ import annotations

import json
from pathlib import Path

from rppg.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
TARGETS = ("teacher", "student", "student_nokd")
REQUIRED = ("arch", "data", "batch_size", "steps", "lr", "val_every", "val_window", "loss")


def load_config(target: str, path: str | Path | None = None) -> dict:
    """The config for ``target`` (teacher | student | student_nokd), or the file ``path``."""
    if path is None:
        if target not in TARGETS:
            raise ConfigError(f"unknown training target {target!r}; choose from {', '.join(TARGETS)}")
        path = CONFIG_DIR / f"{target}.json"
    path = Path(path)
    try:
        cfg = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path} is not valid JSON ({exc})") from None
    missing = [k for k in REQUIRED if k not in cfg]
    if missing:
        raise ConfigError(f"config {path} lacks {', '.join(missing)}")
    if cfg["arch"] == "student" and "distill" not in cfg:
        raise ConfigError(f"config {path}: a student config needs a 'distill' section (weights may be 0)")
    return cfg


def apply_overrides(cfg: dict, overrides: list[str]) -> dict:
    """``cfg`` with ``KEY=VALUE`` changes applied (dotted keys reach nested sections; values are
    JSON, or plain strings when they do not parse), so an ablation needs no copy of a config."""
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        *parents, leaf = key.split(".")
        node = cfg
        for name in parents:
            if not isinstance(node.get(name), dict):
                raise ConfigError(f"--set {key}: the config has no section {name!r}")
            node = node[name]
        if leaf not in node:  # a typo would otherwise train the unchanged config
            raise ConfigError(f"--set {key}: the config has no key {leaf!r} there")
        node[leaf] = value
    return cfg
