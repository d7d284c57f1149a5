"""ONNX rewrites into ops that full-int8 TFLite (and, for Cortex-M, TFLite Micro) can run.

Each rewrite replaces one ONNX op by a few standard ones with the same arithmetic (or a stated
approximation) before onnx2tf sees the graph; `portable(src, dest, kind)` applies those the
target kind needs and returns what it changed (recorded in the convert stage's meta):

- `Erf` (exact GELU, from `nn.GELU()`): onnx2tf emits `tf.math.erf`, which has no TFLite builtin,
  so the int8 conversion fails. erf(z) ~ tanh(2/sqrt(pi) * (z + 0.044715 * 2 * z^3)), the
  approximation behind GELU(approximate="tanh"): |GELU error| < 1e-3 over all x (measured 4.7e-4
  at x = -2.0), far below one int8 step of any activation here. All targets.
- `GRU` / `LSTM` (forward, batch 1, fixed length): onnx2tf emits a TensorFlow WHILE loop, which the
  int8 calibrator cannot run (it segfaults in `_feed_tensors`, TF 2.21). Unrolled over the T steps
  into Gemm / Add / Mul / Sigmoid / Tanh, the ONNX spec's equations verbatim. All targets.
  For Cortex-M the sigmoid form instead (`_erf_sigmoid`): our engine has LOGISTIC, not TANH.
- `HardSigmoid` / `HardSwish` (MobileNetV3): the converter turns clip(x/6 + 1/2, 0, 1) into
  RELU_0_TO_1, which TFLite Micro lacks. As relu6(x + 3) * (1/6) (Clip(0, 6) -> RELU6, which it
  has) the arithmetic is the same; the converter then fuses x * relu6(x + 3) / 6 into HARD_SWISH,
  which TFLite Micro also has. Cortex-M only: LiteRT runs RELU_0_TO_1, so the Pi and Android
  keep the stock graph.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

_ERF_A = 2.0 / np.sqrt(np.pi)   # tanh(a * (z + b z^3)) ~ erf(z)
_ERF_B = 0.044715 * 2.0         # GELU's tanh form in terms of z = x / sqrt(2)


class _Graph:
    """Node list being rebuilt, with fresh names and initializers."""

    def __init__(self, model):
        self.model = model
        self.g = model.graph
        self.count = 0
        self.shapes: dict[str, list] = {}

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}__p{self.count}"

    def const(self, value, base: str = "c") -> str:
        from onnx import numpy_helper

        name = self.name(base)
        self.g.initializer.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op: str, inputs: list[str], out: str | None = None, **attrs):
        from onnx import helper

        out = out or self.name(op.lower())
        return helper.make_node(op, inputs, [out], name=self.name(op), **attrs), out


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _erf_sigmoid(gr: _Graph, n) -> list | None:
    """erf(z) ~ 2 sigmoid(2.4071 z) - 1 (GELU's sigmoid form x sigmoid(1.702 x), z = x / sqrt(2)):
    LOGISTIC, MUL and ADD only, which the Cortex-M engine has (it has no TANH, no SUB);
    |GELU error| < 0.021 (at x = +-1.8)."""
    a, u = gr.node("Mul", [n.input[0], gr.const(1.702 * np.sqrt(2.0))])
    b, s = gr.node("Sigmoid", [u])
    c, d2 = gr.node("Mul", [s, gr.const(2.0)])
    d, _ = gr.node("Add", [d2, gr.const(-1.0)], n.output[0])
    return [a, b, c, d]


def _erf(gr: _Graph, n) -> list | None:
    z = n.input[0]
    a, z2 = gr.node("Mul", [z, z])
    b, z3 = gr.node("Mul", [z2, z])
    c, bz3 = gr.node("Mul", [z3, gr.const(_ERF_B)])
    d, u = gr.node("Add", [z, bz3])
    e, v = gr.node("Mul", [u, gr.const(_ERF_A)])
    f, _ = gr.node("Tanh", [v], n.output[0])
    return [a, b, c, d, e, f]


def _hard_sigmoid_relu6(gr: _Graph, x: str, out: str | None, alpha: float, beta: float) -> tuple[list, str]:
    """clip(alpha x + beta, 0, 1) = clip(x + beta/alpha, 0, 1/alpha) * alpha (alpha > 0); with
    PyTorch's alpha 1/6, beta 1/2 that is relu6(x + 3) / 6."""
    a, shifted = gr.node("Add", [x, gr.const(beta / alpha)])
    b, clipped = gr.node("Clip", [shifted, gr.const(0.0), gr.const(1.0 / alpha)])
    c, y = gr.node("Mul", [clipped, gr.const(alpha)], out)
    return [a, b, c], y


def _hardsigmoid(gr: _Graph, n) -> list | None:
    at = _attrs(n)
    alpha, beta = float(at.get("alpha", 0.2)), float(at.get("beta", 0.5))
    if alpha <= 0:
        return None
    nodes, _ = _hard_sigmoid_relu6(gr, n.input[0], n.output[0], alpha, beta)
    return nodes


def _hardswish(gr: _Graph, n) -> list | None:
    nodes, hs = _hard_sigmoid_relu6(gr, n.input[0], None, 1.0 / 6.0, 0.5)
    last, _ = gr.node("Mul", [n.input[0], hs], n.output[0])
    return [*nodes, last]


def _init(gr: _Graph, name: str):
    from onnx import numpy_helper

    for i in gr.g.initializer:
        if i.name == name:
            return numpy_helper.to_array(i)
    return None


def _rnn(gr: _Graph, n) -> list | None:
    """GRU / LSTM, forward, layout 0, default activations, constant weights, X [T, 1, I] known.

    A zero initial state (PyTorch's default, an initializer after folding) is left out of the
    first step instead of multiplied: onnx2tf 1.28.8 cannot validate a Gemm of two constants."""
    at = _attrs(n)
    if at.get("direction", b"forward") not in (b"forward", "forward") or at.get("layout", 0) != 0:
        return None
    if any(k in at for k in ("activations", "clip")) or at.get("input_forget", 0):
        return None
    lstm = n.op_type == "LSTM"
    gates = 4 if lstm else 3
    ins = list(n.input) + [""] * (8 - len(n.input))
    w, r = _init(gr, ins[1]), _init(gr, ins[2])
    b = _init(gr, ins[3]) if ins[3] else None
    if w is None or r is None or ins[4] or (lstm and ins[7]) or (ins[3] and b is None):
        return None
    steps = gr.shapes.get(ins[0])
    if not steps or len(steps) != 3 or steps[1] != 1 or not all(isinstance(d, int) and d > 0 for d in steps):
        return None
    t_len = steps[0]
    hidden = int(at.get("hidden_size", r.shape[-1]))
    w, r = w[0], r[0]
    b = b[0] if b is not None else np.zeros(2 * gates * hidden, np.float32)
    wb, rb = b[:gates * hidden], b[gates * hidden:]

    def part(m, k):
        return m[k * hidden:(k + 1) * hidden]

    nodes: list = []

    def add(op, inputs, out=None, **kw):
        node, o = gr.node(op, inputs, out, **kw)
        nodes.append(node)
        return o

    def shape_const(*dims):  # Reshape / Split take int64 tensors
        from onnx import numpy_helper

        name = gr.name("shape")
        gr.g.initializer.append(numpy_helper.from_array(np.array(dims, np.int64), name))
        return name

    def init_state(idx):
        """None for a zero state; else a [1, H] tensor."""
        if not ins[idx]:
            return None
        value = _init(gr, ins[idx])
        if value is not None:
            return None if not np.any(value) else gr.const(value.reshape(1, hidden), "h0")
        return add("Reshape", [ins[idx], shape_const(1, hidden)])

    h = init_state(5)
    c = init_state(6) if lstm else None
    split_outs = [gr.name("x_t") for _ in range(t_len)]
    from onnx import helper

    nodes.append(helper.make_node("Split", [ins[0], shape_const(*([1] * t_len))], split_outs,
                                  name=gr.name("Split"), axis=0))
    ys = []

    def gate(x_t, k, act):
        s = add("Gemm", [x_t, gr.const(part(w, k)), gr.const(part(wb, k) + part(rb, k))], transB=1)
        if h is not None:
            s = add("Add", [s, add("Gemm", [h, gr.const(part(r, k))], transB=1)])
        return add(act, [s])

    for t in range(t_len):
        x_t = add("Reshape", [split_outs[t], shape_const(1, -1)])
        if lstm:  # ONNX gate order i, o, f, c
            i_g, o_g, f_g = gate(x_t, 0, "Sigmoid"), gate(x_t, 1, "Sigmoid"), gate(x_t, 2, "Sigmoid")
            c_hat = gate(x_t, 3, "Tanh")
            new_c = add("Mul", [i_g, c_hat])
            c = new_c if c is None else add("Add", [add("Mul", [f_g, c]), new_c])
            h = add("Mul", [o_g, add("Tanh", [c])])
        else:  # ONNX gate order z, r, h
            z_g, r_g = gate(x_t, 0, "Sigmoid"), gate(x_t, 1, "Sigmoid")
            xw_bias = part(wb, 2)
            if h is None:  # R h = 0: only the recurrent bias is left
                if at.get("linear_before_reset", 0):
                    xw = add("Gemm", [x_t, gr.const(part(w, 2)), gr.const(xw_bias)], transB=1)
                    pre = add("Add", [xw, add("Mul", [r_g, gr.const(part(rb, 2))])])
                else:
                    pre = add("Gemm", [x_t, gr.const(part(w, 2)), gr.const(xw_bias + part(rb, 2))], transB=1)
                cand = add("Tanh", [pre])
                h = add("Sub", [cand, add("Mul", [z_g, cand])])  # (1 - z) * cand
            else:
                xw = add("Gemm", [x_t, gr.const(part(w, 2)), gr.const(xw_bias)], transB=1)
                if at.get("linear_before_reset", 0):
                    hr = add("Gemm", [h, gr.const(part(r, 2)), gr.const(part(rb, 2))], transB=1)
                    cand = add("Tanh", [add("Add", [xw, add("Mul", [r_g, hr])])])
                else:
                    hr = add("Gemm", [add("Mul", [r_g, h]), gr.const(part(r, 2)), gr.const(part(rb, 2))], transB=1)
                    cand = add("Tanh", [add("Add", [xw, hr])])
                # (1 - z) * cand + z * h = cand + z * (h - cand)
                h = add("Add", [cand, add("Mul", [z_g, add("Sub", [h, cand])])])
        ys.append(h)
    outs = list(n.output) + [""] * (3 - len(n.output))
    if outs[0]:
        add("Reshape", [add("Concat", ys, axis=0), shape_const(t_len, 1, 1, hidden)], outs[0])
    if outs[1]:
        add("Reshape", [h, shape_const(1, 1, hidden)], outs[1])
    if lstm and outs[2]:
        add("Reshape", [c, shape_const(1, 1, hidden)], outs[2])
    return nodes


REWRITES: dict[str, tuple[Callable, tuple[str, ...]]] = {
    # ONNX op: (rewrite, target kinds it is for; () = all). The first that fits the kind applies.
    "Erf": ((_erf_sigmoid, ("cortex-m",)), (_erf, ())),
    "GRU": ((_rnn, ()),),
    "LSTM": ((_rnn, ()),),
    "HardSigmoid": ((_hardsigmoid, ("cortex-m",)),),
    "HardSwish": ((_hardswish, ("cortex-m",)),),
}


def value_shapes(model) -> dict[str, list]:
    """Each value's shape from ONNX shape inference (None for a symbolic dimension; empty where
    inference fails)."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001
        return {}
    out = {}
    for vi in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output):
        if vi.type.tensor_type.HasField("shape"):
            out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
    return out


def portable(src: Path, dest: Path, kind: str) -> dict[str, int]:
    """Rewrite `src` into `dest` for `kind`; {ONNX op: how many rewritten} ({}: `dest` not written)."""
    import onnx

    model = onnx.load(str(src))
    gr = _Graph(model)
    # GRU/LSTM need X's static [T, 1, I]
    gr.shapes = value_shapes(model)
    done: dict[str, int] = {}
    nodes = []
    for n in model.graph.node:
        rule = next((fn for fn, kinds in REWRITES.get(n.op_type, ()) if not kinds or kind in kinds), None)
        new = rule(gr, n) if rule is not None else None
        if new is None:
            nodes.append(n)
            continue
        nodes.extend(new)
        done[n.op_type] = done.get(n.op_type, 0) + 1
    if not done:
        return {}
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))
    return done
