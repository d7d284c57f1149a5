"""Host runtime suite: LiteRT int8 vs float, XNNPACK vs reference kernels, onnxruntime float.

Same student, 1 thread, interleaved runs; ratios against LiteRT float + XNNPACK. On this x86 host
int8 is expected to be slower than float (conversion.md: 1.4-1.7x); int8 pays off on ARM/MCUs.
"""
from __future__ import annotations

import numpy as np

from .common import built_artifacts, interleaved_timings, summary_us

TITLE = "Runtime suite (host, 1 thread): LiteRT int8/float, XNNPACK/reference, onnxruntime"
DATASETS = ("digits", "mnist1d")
ROUNDS = 300


def _litert(path, kernels: str):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_REF if kernels == "reference" else OpResolverType.AUTO
    interp = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=resolver)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    x = np.zeros(inp["shape"], dtype=inp["dtype"])

    def run():
        interp.set_tensor(inp["index"], x)
        interp.invoke()

    return run


def _onnxruntime(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.zeros([d if isinstance(d, int) else 1 for d in inp.shape], dtype=np.float32)
    return lambda: sess.run(None, {inp.name: x})


def run(progress) -> dict:
    out = {}
    for dataset in DATASETS:
        conv = built_artifacts("host", dataset, "convert", progress)["convert"]
        runners = {
            "litert_float_xnnpack": _litert(conv.path("model_float.tflite"), "xnnpack"),
            "litert_int8_xnnpack": _litert(conv.path("model_int8.tflite"), "xnnpack"),
            "litert_int8_reference": _litert(conv.path("model_int8.tflite"), "reference"),
            "onnxruntime_float": _onnxruntime(conv.path("model.onnx")),
        }
        times = interleaved_timings(runners, ROUNDS)
        stats = {name: summary_us(t) for name, t in times.items()}
        base = stats["litert_float_xnnpack"]["median_us"]
        for s in stats.values():
            s["ratio_vs_litert_float"] = round(s["median_us"] / base, 3)
        out[dataset] = stats
    return out


def markdown(result: dict) -> str:
    rows = ["| dataset | runtime | median µs | p90 µs | × LiteRT float |", "|---|---|---:|---:|---:|"]
    for dataset, stats in result.items():
        if not isinstance(stats, dict):
            continue
        for name, s in stats.items():
            rows.append(f"| {dataset} | {name} | {s['median_us']:.1f} | {s['p90_us']:.1f} | {s['ratio_vs_litert_float']:.2f} |")
    return "\n".join(rows) + "\n"
