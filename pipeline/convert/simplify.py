"""ONNX clean-up before onnx2tf: a static batch of 1 and onnxruntime's constant folding.

Why: the TorchScript exporter leaves `Constant` nodes and shape arithmetic (Shape -> Gather ->
Concat -> Expand for a GRU's zero initial state, Sqrt(Shape) for attention's scale). onnx2tf
1.28.8 validates some ops by building a Keras model whose output is an op input; a constant there
fails ("Output tensors of a Functional model must be the output of a TensorFlow `Layer`. Found:
1.4142135" for GELU's Div, "[[[0.]]]" for GRU/LSTM's h0) -- 3 of the 8 zoo models (issue #23).
onnxruntime's basic level (constant folding, redundant-node removal; only standard ONNX ops, no
layout changes) folds all of it: GRU 18 -> 5 nodes, TransformerEncoderLayer 83 -> 41. onnxsim
would do the same but is not a dependency; onnxruntime already is (the float ONNX reference).
"""
from __future__ import annotations

from pathlib import Path


def static_batch_folded(src: Path, dest: Path) -> Path:
    """Write `src` with batch 1 and constants folded to `dest` (the same arithmetic)."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(src))
    for value in (model.graph.input[0], *model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].Clear()
            dims[0].dim_value = 1
    staged = Path(dest).with_suffix(".static.onnx")
    onnx.save(model, str(staged))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = str(dest)
    so.intra_op_num_threads = 1
    try:
        ort.InferenceSession(str(staged), so, providers=["CPUExecutionProvider"])
    finally:
        staged.unlink(missing_ok=True)
    folded = onnx.load(str(dest))
    # onnxruntime lists every domain it knows in opset_import; keep the ones the graph uses
    # (onnx2tf looks ops up by domain).
    used = {n.domain for n in folded.graph.node} | {""}
    keep = [o for o in folded.opset_import if o.domain in used]
    del folded.opset_import[:]
    folded.opset_import.extend(keep)
    onnx.checker.check_model(folded)
    onnx.save(folded, str(dest))
    return Path(dest)
