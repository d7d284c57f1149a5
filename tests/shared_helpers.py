"""Helpers that tests in more than one folder use (fixtures stay in the conftest.py files): one copy
of each, so a changed requirement or model is changed once."""
from __future__ import annotations

import os
import shutil

import torch
from torch import nn


def why_no_arm64_chroot() -> str | None:
    """Why the emulated arm64 Debian (debootstrap + chroot + qemu-user) cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (debootstrap/chroot)"
    for tool in ("qemu-aarch64-static", "debootstrap", "chroot"):
        if not shutil.which(tool):
            return f"{tool} not installed"
    return None


class ExpNet(nn.Module):
    """EXP (int8 after conversion): fine for LiteRT targets, unsupported on Cortex-M (TFLite Micro's
    EXP is float32 only)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.exp(self.conv(x)).mean(dim=(2, 3)))


def with_op_replaced(data: bytes, old: str, new: str) -> bytes:
    """The model with every `old` operator's opcode changed to builtin `new` (same tensors and
    options): a model whose op a runtime lacks, where no converter emits it from a small graph."""
    from ai_edge_litert import schema_py_generated as schema

    codes = schema.BuiltinOperator
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    for oc in model.operatorCodes:
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == getattr(codes, old):
            oc.builtinCode = getattr(codes, new)
            oc.deprecatedBuiltinCode = min(getattr(codes, new), 127)
    b = schema.flatbuffers.Builder(len(data) + 1024)   # the runtime the schema module was generated for
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
