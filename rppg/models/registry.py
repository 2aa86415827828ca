"""Which network each method name uses: a table, not an if-chain.

Architectures are named by import path, so this table (and everything that only
needs a method's architecture name, like the ONNX backend) works without PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

from rppg.errors import ConfigError

#: Architecture name -> "module:class" of its PyTorch network, imported only by :func:`build`.
ARCHS: dict[str, str] = {"teacher": "rppg.models.teacher:TeacherNet", "student": "rppg.models.student:StudentNet"}

#: Method name (as on the command line) -> architecture. ``student_nokd`` is the same
#: student trained without distillation, shipped for comparison.
METHOD_ARCH: dict[str, str] = {"teacher": "teacher", "student": "student", "student_nokd": "student"}


def build(arch: str) -> Any:
    """A fresh PyTorch network (``nn.Module``) of architecture ``arch``; needs torch."""
    if arch not in ARCHS:
        raise ConfigError(f"unknown network {arch!r}; choose from {', '.join(ARCHS)}")
    module_name, _, class_name = ARCHS[arch].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()


def arch_of(method: str) -> str:
    """Architecture behind a network method name."""
    if method not in METHOD_ARCH:
        raise ConfigError(f"unknown network method {method!r}; choose from {', '.join(METHOD_ARCH)}")
    return METHOD_ARCH[method]
