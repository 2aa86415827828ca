"""Which network each method name uses: a table, not an if-chain."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from rppg.errors import ConfigError
from rppg.models.student import StudentNet
from rppg.models.teacher import TeacherNet

#: Architecture name -> constructor.
ARCHS: dict[str, Callable[[], nn.Module]] = {"teacher": TeacherNet, "student": StudentNet}

#: Method name (as on the command line) -> architecture. ``student_nokd`` is the same
#: student trained without distillation, shipped for comparison.
METHOD_ARCH: dict[str, str] = {"teacher": "teacher", "student": "student", "student_nokd": "student"}


def build(arch: str) -> nn.Module:
    """A fresh network of architecture ``arch``."""
    if arch not in ARCHS:
        raise ConfigError(f"unknown network {arch!r}; choose from {', '.join(ARCHS)}")
    return ARCHS[arch]()


def arch_of(method: str) -> str:
    """Architecture behind a network method name."""
    if method not in METHOD_ARCH:
        raise ConfigError(f"unknown network method {method!r}; choose from {', '.join(METHOD_ARCH)}")
    return METHOD_ARCH[method]
