"""ONNX graph rewrites applied before onnx2tf.

`dense_head_as_conv`: a classifier head "global average pool -> Linear" becomes
"global average pool (keepdims) -> 1x1 Conv -> Flatten". Same arithmetic, but the int8 model then
has CONV_2D instead of FULLY_CONNECTED for the head. Why: LiteRT's reference FULLY_CONNECTED
kernel requantizes with single rounding while TFLite Micro's uses double rounding, so about one
output element in 500 differs by 1 LSB (measured on the digits/MNIST-1D students: 99.86-99.97 %
identical outputs, one at exactly 99.90 %); their CONV_2D kernels agree bit for bit (100 % on
the same models), which makes TFLite Micro bit-exact with the reference kernels end to end.

Patterns (as the TorchScript exporter writes them, opset 13-21):
  GlobalAveragePool -> Flatten(axis=1) -> Gemm
  ReduceMean(all spatial axes, keepdims=0) -> Gemm          (x.mean(dim=(2, 3)) / mean(dim=2))
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def dense_head_as_conv(onnx_path: Path, dest: Path) -> int:
    """Write the rewritten model to `dest` (only when something was rewritten); returns how
    many Gemm heads were rewritten."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(onnx_path))
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    ranks = _ranks(model)
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    graph_outputs = {o.name for o in g.output}

    def attrs(node) -> dict:
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def single_use(name: str) -> bool:
        return len(consumers.get(name, [])) == 1 and name not in graph_outputs

    plans = []  # (gemm, nodes to remove, nodes to insert in place of the gemm, pooled tensor name)
    for n in g.node:
        if n.op_type != "Gemm" or len(n.input) < 2 or n.input[1] not in inits:
            continue
        a = attrs(n)
        if a.get("transA", 0) != 0 or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            continue
        if len(n.input) > 2 and n.input[2] and (n.input[2] not in inits
                                               or numpy_helper.to_array(inits[n.input[2]]).ndim != 1):
            continue
        src = producer.get(n.input[0])
        if src is None or not single_use(n.input[0]):
            continue
        remove, pre = [], []
        if src.op_type == "Flatten" and attrs(src).get("axis", 1) == 1:
            gap = producer.get(src.input[0])
            if gap is None or gap.op_type != "GlobalAveragePool":
                continue
            pooled, rank = gap.output[0], ranks.get(gap.input[0])
            remove.append(src)
        elif src.op_type == "ReduceMean" and attrs(src).get("keepdims", 1) == 0:
            rank = ranks.get(src.input[0])
            axes = attrs(src).get("axes")
            if axes is None and len(src.input) > 1 and src.input[1] in inits:
                axes = numpy_helper.to_array(inits[src.input[1]]).tolist()
            if rank is None or axes is None or sorted(int(x) % rank for x in axes) != list(range(2, rank)):
                continue
            pooled = src.output[0] + "_keepdims"
            extra = {"axes": list(axes)} if "axes" in attrs(src) else {}
            pre.append(helper.make_node("ReduceMean", list(src.input), [pooled], name=(src.name or "mean") + "_keep",
                                        keepdims=1, **extra))
            remove.append(src)
        else:
            continue
        if rank not in (3, 4):
            continue
        w = numpy_helper.to_array(inits[n.input[1]])
        if a.get("transB", 0) == 0:
            w = w.T
        w = np.ascontiguousarray(w.reshape(w.shape + (1,) * (rank - 2)).astype(np.float32))
        w_name = n.input[1] + "_as_conv"
        g.initializer.append(numpy_helper.from_array(w, w_name))
        conv_out = n.output[0] + "_conv"
        conv_inputs = [pooled, w_name] + ([n.input[2]] if len(n.input) > 2 and n.input[2] else [])
        base = n.name or "gemm"
        new = pre + [
            helper.make_node("Conv", conv_inputs, [conv_out], name=base + "_conv", kernel_shape=[1] * (rank - 2)),
            helper.make_node("Flatten", [conv_out], [n.output[0]], name=base + "_flatten", axis=1),
        ]
        plans.append((n, remove, new))
    if not plans:
        return 0
    removed = {id(r) for _, rm, _ in plans for r in rm}
    by_gemm = {id(gm): new for gm, _, new in plans}
    nodes = []
    for n in g.node:
        if id(n) in removed:
            continue
        nodes.extend(by_gemm.get(id(n), [n]))
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    del g.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))
    return len(plans)


def _ranks(model) -> dict[str, int]:
    """Each value's rank, from ONNX shape inference (empty where inference fails)."""
    from .portable import value_shapes

    return {name: len(shape) for name, shape in value_shapes(model).items()}
