"""Numerics: accuracy, element-wise agreement between runtimes, and the per-layer report.

Per-layer report: the float TFLite and the int8 TFLite come from the same SavedModel, so they
have the same operators in the same order (the int8 one may add QUANTIZE/DEQUANTIZE at the
edges). Both run on LiteRT with `experimental_preserve_all_tensors=True` (int8 on the reference
kernels, the golden numerics TFLM matches) on the same inputs; every operator output of the int8
model is dequantized and compared with the float model's corresponding tensor:

    snr_db      = 10 log10( sum(f^2) / sum((dequant(q) - f)^2) )   over all samples
    max_abs_err = max |dequant(q) - f|
    channel_snr_db = mean over channels (last axis) of each channel's SNR; one channel with a
                  huge range (an outlier weight) dominates the total signal power and hides
                  that every other channel lost resolution -- the per-channel mean does not
    *_drop_db   = (worst SNR among the op's activation inputs) - this op's SNR,
                  i.e. how much signal-to-noise this layer itself loses.

Layers are ranked worst first by `channel_snr_drop_db` (where quantization hurts), then
`snr_drop_db`. A layer whose weights or activations quantize badly (an outlier weight, a huge
activation range) shows as a large drop at that layer, while its downstream layers merely
inherit the low SNR (their drop is small or negative).
"""
from __future__ import annotations

import math

import numpy as np

from ..tflite import TFLiteModel, read_model
from .runtimes import litert_interpreter, prepare_inputs

SNR_CAP_DB = 120.0  # identical tensors: report the cap instead of infinity (JSON has no inf)
_SKIP = {"QUANTIZE", "DEQUANTIZE"}


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits.reshape(logits.shape[0], -1), axis=1) == np.asarray(y)))


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of identical output elements."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    return float(np.mean(a == b)) if a.size else 1.0


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.max(np.abs(a.astype(np.int64) - b.astype(np.int64)))) if np.size(a) else 0


def top1_agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.argmax(a.reshape(len(a), -1), 1) == np.argmax(b.reshape(len(b), -1), 1)))


def snr_db(signal_power: float, noise_power: float) -> float:
    if noise_power <= 0.0:
        return SNR_CAP_DB
    if signal_power <= 0.0:
        return -SNR_CAP_DB
    return float(min(SNR_CAP_DB, max(-SNR_CAP_DB, 10.0 * math.log10(signal_power / noise_power))))


def _pairs(fm: TFLiteModel, qm: TFLiteModel) -> list[tuple[int, int, int]]:
    """(int8 operator index, int8 output tensor, float output tensor) for matching operators."""
    qops = [o for o in qm.operators if o.op not in _SKIP]
    fops = [o for o in fm.operators if o.op not in _SKIP]
    if [o.op for o in qops] == [o.op for o in fops]:
        return [(q.index, q.outputs[0], f.outputs[0]) for q, f in zip(qops, fops) if q.outputs and f.outputs]
    # Different graphs: fall back to matching output tensors by name.
    fnames = {fm.tensor(o.outputs[0]).name: o.outputs[0] for o in fops if o.outputs}
    return [(q.index, q.outputs[0], fnames[qm.tensor(q.outputs[0]).name])
            for q in qops if q.outputs and qm.tensor(q.outputs[0]).name in fnames]


_WEIGHTED_TFLITE = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def source_layer_names(onnx_path, int8_model: TFLiteModel) -> dict[int, str]:
    """Operator index -> the PyTorch/ONNX layer it came from, for conv / dense operators.

    The exporter names nodes after the module path ("/blocks/blocks.1/pw/conv/Conv" ->
    "blocks.1.pw.conv"). ONNX Conv/Gemm nodes and TFLite CONV_2D/DEPTHWISE_CONV_2D/
    FULLY_CONNECTED operators are paired in graph order, and only when every pair has the same
    number of weights (else {}: better no name than a wrong one)."""
    try:
        import onnx
        from onnx import numpy_helper

        g = onnx.load(str(onnx_path)).graph
    except Exception:  # noqa: BLE001
        return {}
    inits = {i.name: i for i in g.initializer}
    src = []
    for n in g.node:
        if n.op_type in ("Conv", "Gemm") and len(n.input) > 1 and n.input[1] in inits:
            w = inits[n.input[1]]
            name = n.name.strip("/").rsplit("/", 1)[0].replace("/", ".") if "/" in n.name else (n.name or n.op_type)
            parts = [p for p in name.split(".") if p]
            # "/blocks/blocks.1/pw/conv/Conv" -> ["blocks", "blocks", "1", "pw", "conv"]: drop the
            # repeated container prefix torch adds for Sequential children.
            dedup = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
            src.append((".".join(dedup) or n.op_type, int(np.prod(w.dims))))
    ops = [o for o in int8_model.operators if o.op in _WEIGHTED_TFLITE and len(o.inputs) > 1 and o.inputs[1] >= 0]
    if len(ops) != len(src):
        return {}
    out = {}
    for o, (name, count) in zip(ops, src):
        if int8_model.tensor(o.inputs[1]).size != count:
            return {}
        out[o.index] = name
    return out


def per_layer_report(float_bytes: bytes, int8_bytes: bytes, x: np.ndarray, max_samples: int = 200,
                     onnx_path=None) -> list[dict]:
    """Per-layer SNR / max error of the int8 model vs the float model, worst first.

    `x`: float32 channels-last inputs [N, ...] (the test split); at most `max_samples` are used.
    `onnx_path`: the source ONNX model, to name conv/dense layers as in PyTorch (`layer`).
    """
    fm = read_model(float_bytes)
    qm = read_model(int8_bytes)
    pairs = _pairs(fm, qm)
    if not pairs:
        return []
    x = np.asarray(x, np.float32)[:max_samples]
    fi = litert_interpreter(float_bytes, "builtin", preserve_all_tensors=True)
    qi = litert_interpreter(int8_bytes, "ref", preserve_all_tensors=True)
    f_in = fi.get_input_details()[0]
    q_in = qi.get_input_details()[0]
    xq = prepare_inputs(int8_bytes, x)

    # Quantization parameters of every int8 activation we compare (per-tensor for activations).
    def qparams(t: int) -> tuple[np.ndarray, np.ndarray]:
        q = qm.tensor(t).quantization
        if q is None or q.scale.size == 0:
            return np.float32(1.0), np.float32(0.0)
        return q.scale.astype(np.float32), q.zero_point.astype(np.float32)

    # The model input is a "layer" too: quantizing the input is the first loss.
    q_input = qm.inputs[0]
    tracked = [(-1, q_input, fm.inputs[0])] + pairs
    stats = {qt: [0.0, 0.0, 0.0, 0.0] for _, qt, _ in tracked}  # signal, noise, max err, max |f|
    chan: dict[int, list[np.ndarray]] = {}  # per-channel (last axis) signal and noise
    for i in range(x.shape[0]):
        fi.set_tensor(f_in["index"], x[i:i + 1].reshape(f_in["shape"]))
        fi.invoke()
        qi.set_tensor(q_in["index"], xq[i:i + 1].reshape(q_in["shape"]))
        qi.invoke()
        for _, qt, ft in tracked:
            f = np.asarray(fi.get_tensor(ft), np.float64)
            q = qi.get_tensor(qt)
            scale, zp = qparams(qt)
            dq = (q.astype(np.float64) - zp) * scale if q.dtype != np.float32 else q.astype(np.float64)
            if dq.shape != f.shape:
                if dq.size != f.size:
                    continue
                dq = dq.reshape(f.shape)
            err = dq - f
            s = stats[qt]
            s[0] += float(np.sum(f * f))
            s[1] += float(np.sum(err * err))
            s[2] = max(s[2], float(np.max(np.abs(err))) if err.size else 0.0)
            s[3] = max(s[3], float(np.max(np.abs(f))) if f.size else 0.0)
            if f.ndim >= 2 and f.size:
                c = chan.setdefault(qt, [np.zeros(f.shape[-1]), np.zeros(f.shape[-1])])
                c[0] += np.sum((f * f).reshape(-1, f.shape[-1]), axis=0)
                c[1] += np.sum((err * err).reshape(-1, f.shape[-1]), axis=0)

    snr = {qt: snr_db(s[0], s[1]) for qt, s in stats.items()}
    names = source_layer_names(onnx_path, qm) if onnx_path is not None else {}
    # Mean over channels of each channel's SNR: one channel with a huge range (an outlier
    # weight) dominates the tensor's total signal power and hides that every other channel lost
    # resolution; the per-channel mean does not.
    csnr = {}
    for qt in snr:
        if qt in chan:
            sig, noise = chan[qt]
            live = sig > 0
            csnr[qt] = float(np.mean([snr_db(a, b) for a, b in zip(sig[live], noise[live])])) if live.any() else snr[qt]
        else:
            csnr[qt] = snr[qt]
    rows = []
    for op_index, qt, _ in pairs:
        op = qm.operators[op_index]
        act_inputs = [t for t in op.inputs if t >= 0 and not qm.tensor(t).is_constant and t in snr]
        # Inputs produced by skipped ops (QUANTIZE) inherit the SNR of what they quantize.
        in_snr = min((snr[t] for t in act_inputs), default=snr.get(q_input, SNR_CAP_DB))
        in_csnr = min((csnr[t] for t in act_inputs), default=csnr.get(q_input, SNR_CAP_DB))
        t = qm.tensor(qt)
        s = stats[qt]
        scale, _ = qparams(qt)
        rows.append({
            "op_index": op_index,
            "op": op.op,
            "layer": names.get(op_index),
            "tensor": t.name,
            "shape": list(t.shape),
            "snr_db": round(snr[qt], 2),
            "snr_drop_db": round(in_snr - snr[qt], 2),
            "channel_snr_db": round(csnr[qt], 2),
            "channel_snr_drop_db": round(in_csnr - csnr[qt], 2),
            "max_abs_err": float(s[2]),
            "max_abs_ref": float(s[3]),
            "scale": float(np.asarray(scale).reshape(-1)[0]),
        })
    rows.sort(key=lambda r: (-r["channel_snr_drop_db"], -r["snr_drop_db"], r["snr_db"]))
    return rows


def input_snr_db(int8_bytes: bytes, x: np.ndarray) -> float:
    """SNR of the quantized model input vs the float input (the first, unavoidable loss)."""
    qm = read_model(int8_bytes)
    q = qm.tensor(qm.inputs[0]).quantization
    xq = prepare_inputs(int8_bytes, x).astype(np.float64)
    dq = (xq - float(q.zero_point[0])) * float(q.scale[0])
    xf = np.asarray(x, np.float64)
    return snr_db(float(np.sum(xf * xf)), float(np.sum((dq - xf) ** 2)))
