"""Size and cost of a model: parameters, exact conv/linear MACs, and int8 deployment estimates.

The estimates feed the fit-to-target search before anything is converted; the convert stage
(exact flatbuffer size) and TFLM (exact arena) check them later.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .families import BasicBlock

# int8 flatbuffer overheads (per tensor / per op / fixed), calibrated on converted students
# (torch -> ONNX -> onnx2tf -> int8 TFLite): DS-CNN 21k params 43,656 B (estimate 43,464 B),
# 1-D CNN 10k params 20,432 B (estimate 20,296 B).
TENSOR_OVERHEAD = 96
OP_OVERHEAD = 48
MODEL_OVERHEAD = 3072
# per output channel: int32 bias + scale/zero point of the weights and of the bias
PER_CHANNEL = 4 + 12 + 12
# a Conv1d becomes RESHAPE -> CONV_2D -> RESHAPE
RESHAPE_COST = 2 * (OP_OVERHEAD + TENSOR_OVERHEAD + 32)
# TFLM arena beyond activations: per-op node data, per-channel requantization data (multiplier +
# shift), fixed interpreter state. Calibrated by bisecting the tflite_micro arena: DS-CNN on 8x8
# 18,736 B (estimate 19,408 B), on 32x32 147,912 B (148,432 B); 1-D CNN 6,936 B (7,488 B).
PERSISTENT_PER_OP = 200
PERSISTENT_PER_CHANNEL = 8
PERSISTENT_FIXED = 1024


def count_params(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


@dataclass
class _Op:
    kind: str
    in_numel: int
    out_numel: int
    padded_numel: int  # input after explicit PAD (0 when no padding)
    macs: int
    weight_numel: int
    out_channels: int
    skip_numel: int  # a residual input kept alive across this op


def profile(model: nn.Module, input_shape) -> list[_Op]:
    """Run one sample through `model` (eval, no grad) and record every conv/linear/pool op."""
    ops: list[_Op] = []
    skips: list[int] = []
    hooks = []

    def conv_hook(m, inp, out):
        x = inp[0]
        per_out = (m.in_channels // m.groups) * int(torch.tensor(m.kernel_size).prod())
        pad = m.padding if isinstance(m.padding, tuple) else (m.padding,)
        padded = 0
        if any(p > 0 for p in pad):
            padded = x.shape[1]
            for size, p in zip(x.shape[2:], pad, strict=True):
                padded *= size + 2 * p
        ops.append(_Op("conv1d" if isinstance(m, nn.Conv1d) else "conv", x[0].numel(), out[0].numel(), padded, out[0].numel() * per_out,
                       m.weight.numel(), m.out_channels, sum(skips)))

    def linear_hook(m, inp, out):
        ops.append(_Op("linear", inp[0][0].numel(), out[0].numel(), 0, m.in_features * m.out_features,
                       m.weight.numel(), m.out_features, sum(skips)))

    def block_pre(m, inp):
        skips.append(inp[0][0].numel())

    def block_post(m, inp, out):
        skips.pop()

    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, BasicBlock):
            hooks.append(m.register_forward_pre_hook(block_pre))
            hooks.append(m.register_forward_hook(block_post))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros((1, *[int(d) for d in input_shape]), device=p.device, dtype=p.dtype))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return ops


def count_macs(model: nn.Module, input_shape) -> int:
    """Exact multiply-accumulates of all conv and linear layers for one sample."""
    return int(sum(op.macs for op in profile(model, input_shape)))


def estimate_flash_bytes(model: nn.Module, input_shape) -> int:
    """int8 TFLite size: int8 weights, int32 biases, per-channel scales, tensor/op metadata."""
    ops = profile(model, input_shape)
    total = MODEL_OVERHEAD
    for op in ops:
        # weight int8 + bias int32 + per-channel scale (f32) and zero point (i64)
        total += op.weight_numel + op.out_channels * PER_CHANNEL + 2 * TENSOR_OVERHEAD + OP_OVERHEAD
        if op.kind == "conv1d":
            total += RESHAPE_COST
        total += TENSOR_OVERHEAD  # output activation tensor
        if op.padded_numel:
            total += OP_OVERHEAD + TENSOR_OVERHEAD
    return int(total)


def estimate_peak_activation_bytes(model: nn.Module, input_shape) -> int:
    """Peak int8 activation memory of a sequential schedule: input + output of the largest op
    (or input + padded copy for an explicit PAD), plus residual inputs kept alive."""
    peak = 0
    for op in profile(model, input_shape):
        live = op.in_numel + op.out_numel
        if op.padded_numel:
            live = max(op.in_numel + op.padded_numel, op.padded_numel + op.out_numel)
        peak = max(peak, live + op.skip_numel)
    return int(peak)


def estimate_ram_bytes(model: nn.Module, input_shape) -> int:
    """TFLM arena estimate: peak activations + persistent per-op data."""
    ops = profile(model, input_shape)
    n_ops = len(ops) + 1  # + MEAN
    n_ops += sum(1 for op in ops if op.padded_numel) + sum(2 for op in ops if op.kind == "conv1d")
    channels = sum(op.out_channels for op in ops)
    return (estimate_peak_activation_bytes(model, input_shape) + PERSISTENT_FIXED + PERSISTENT_PER_OP * n_ops
            + PERSISTENT_PER_CHANNEL * channels)


def summary(model: nn.Module, input_shape) -> dict:
    """The numbers every stage records for a model."""
    return {
        "params": count_params(model),
        "macs": count_macs(model, input_shape),
        "est_flash_bytes": estimate_flash_bytes(model, input_shape),
        "est_peak_activation_bytes": estimate_peak_activation_bytes(model, input_shape),
        "est_ram_bytes": estimate_ram_bytes(model, input_shape),
    }
