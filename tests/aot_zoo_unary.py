"""Zoo models for the unary op family (pipeline/aot/ops/unary.py), merged into aot_zoo.ZOO: each is
checked bit-exact against tflite_micro on the host build and in QEMU (M4; M7 and M55 in the slow set)."""
from __future__ import annotations

from collections.abc import Callable


def _activations():
    """Activations the converter cannot fuse into the layer before them: ReLU and ReLU6 after a
    CONCATENATION (standalone RELU / RELU6), LeakyReLU, hard-swish (MobileNetV3), each an output."""
    import aot_zoo as z
    L, ops = z._layers(), z.keras3().ops
    x = inp = L.Input((6, 5, 3), batch_size=1)
    a = L.Conv2D(4, 3, padding="same", **z._init(101))(x)
    b = L.Conv2D(4, 1, **z._init(103))(x)
    c = L.Concatenate(axis=-1)([a, b])
    relu = L.ReLU()(c)
    relu6 = L.ReLU(max_value=6.0)(L.Concatenate(axis=-1)([b, a]))
    leaky = L.LeakyReLU(negative_slope=0.2)(a)
    hswish = ops.hard_swish(b)
    return inp, [relu, relu6, leaky, hswish]


def _math():
    """TANH, RSQRT and ABS on dense layers' outputs (RSQRT of |x| + 0.25 so its input stays
    positive: TFLM fails an inference whose RSQRT input is negative), each an output. Keras ELU and
    negative stay float32 through the int8 converter and TFLM's EXP is float32 only; ELU is tested
    on a hand-built model in tests/aot/test_unary_lut.py."""
    import aot_zoo as z
    L, ops = z._layers(), z.keras3().ops
    x = inp = L.Input((40,), batch_size=1)
    d = L.Dense(32, **z._init(111))(x)
    e = L.Dense(24, **z._init(113))(x)
    return inp, [ops.tanh(d), ops.rsqrt(ops.abs(d) + 0.25), ops.abs(e)]


def _one_op(op: str, out: str) -> bytes:
    """A one-operator model built by hand: int8 input (1, 5, 70), scale 0.05 / zero point 3; an
    int8 output has scale 0.04 / zero point -5."""
    import numpy as np

    from pipeline.aot.ops.lut_table import one_op_model
    from pipeline.tflite import BUILTIN_OPS, Operator, Quantization, Tensor
    q = lambda s, z: Quantization(np.array([s], np.float32), np.array([z]), 0)  # noqa: E731
    x = Tensor(0, "x", (1, 5, 70), "int8", 0, None, q(0.05, 3))
    y = Tensor(1, "y", (1, 5, 70), out, 0, None, q(0.04, -5) if out == "int8" else None)
    return one_op_model(Operator(0, op, BUILTIN_OPS.index(op), 1, (0,), (1,)), {}, x, y, pad=4096)


def _elu() -> bytes:
    """int8 ELU: Keras' ELU stays float32 through the stock int8 converter, but TFLite Micro has
    an int8 ELU kernel (a LUT built in its Prepare)."""
    return _one_op("ELU", "int8")


def _cast() -> bytes:
    """CAST int8 -> float32 (TFLM casts the raw code): float outputs through the 4-byte table."""
    return _one_op("CAST", "float32")


def _layernorm():
    """LayerNormalization over tokens: the int8 converter leaves its negation in float
    (DEQUANTIZE -> NEG -> QUANTIZE), the float32 NEG kernel's case."""
    import aot_zoo as z
    L = z._layers()
    x = inp = L.Input((8, 16), batch_size=1)
    x = L.LayerNormalization()(L.Dense(16, **z._init(131))(x))
    return inp, L.Dense(6, **z._init(133))(x)


ZOO: dict[str, Callable] = {"unary_activations": _activations, "unary_math": _math, "unary_elu": _elu,
                            "unary_cast": _cast, "unary_layernorm": _layernorm}
