"""`--device emulator`: the phone's int8 model on the emulated arm64 Linux, reported as a proxy."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.adapters import android as adapter
from pipeline import linux_litert
from pipeline.android.spec import prepare
from pipeline.report.io import validate
from pipeline.stages.report import make_report
from shared_helpers import why_no_arm64_chroot



def test_proxy_marks_latency_not_comparable(monkeypatch, tiny, packaged, make_ctx):
    """The adjustment alone, with the shared LiteRT emulator bench replaced by its documented output shape."""
    seen = {}

    def fake_bench(ctx, inputs):
        seen.update(device=ctx.options["device"], inputs=sorted(inputs))
        return ctx.artifact({"device": {"kind": "emulated", "name": "x", "transport": "qemu-user"},
                             "runtime": {"name": "litert", "engine": "reference", "threads": 1},
                             "latency": {"unit": "us", "runs": 20, "median": 900.0, "comparable": False, "note": "qemu"},
                             "accuracy": {"metric": "top1", "value": packaged.meta["host_accuracy"], "n": 100},
                             "memory": {"peak_rss_bytes": 123}})

    monkeypatch.setattr(linux_litert, "bench", fake_bench)
    ctx = make_ctx("bench")  # no --device: the target's default, the emulator
    bench = adapter.bench(ctx, {**tiny["inputs"], "package": packaged}).meta
    assert seen == {"device": "emulator", "inputs": ["convert", "data"]}
    assert bench["device"]["kind"] == "emulated" and bench["device"]["transport"] == "qemu-user"
    assert "proxy" in bench["device"]["name"]
    assert bench["latency"]["comparable"] is False and "bionic" in bench["latency"]["note"]
    assert not any("differs" in n for n in bench["notes"])
    assert json.loads((ctx.out_dir / "bench.json").read_text()) == bench
    report = make_report(ctx.target, bench, {}, {}, bench["model"], config_hash="0" * 16, dataset_hash="1" * 16)
    validate(report, "android proxy report")


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.skipif(why_no_arm64_chroot() is not None, reason=str(why_no_arm64_chroot()))
def test_emulated_proxy_accuracy_equals_host_litert(tiny, packaged, make_ctx):
    ctx = make_ctx("bench", device="emulator")
    bench = adapter.bench(ctx, {**tiny["inputs"], "package": packaged}).meta
    assert bench["accuracy"]["n"] == len(tiny["y_test"])
    assert bench["accuracy"]["value"] == packaged.meta["host_accuracy"]
    assert bench["device"]["kind"] == "emulated" and bench["latency"]["comparable"] is False


@pytest.mark.slow
@pytest.mark.emulator
@pytest.mark.skipif(why_no_arm64_chroot() is not None, reason=str(why_no_arm64_chroot()))
def test_emulated_run_model_matches_host(tiny, packaged, android_target, tmp_path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    q = prepare(tiny["x_test"][:20], packaged.meta["preprocess"])
    np.save(tmp_path / "x.npy", q)
    adapter.run_model(android_target, tiny["model"], tmp_path / "x.npy", tmp_path / "y.npy", "emulator", {})
    interp = Interpreter(model_path=str(tiny["model"]), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    want = []
    for i in range(len(q)):
        interp.set_tensor(interp.get_input_details()[0]["index"], q[i:i + 1])
        interp.invoke()
        want.append(interp.get_tensor(interp.get_output_details()[0]["index"])[0].copy())
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), np.stack(want))
