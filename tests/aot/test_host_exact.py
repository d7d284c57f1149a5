"""The generated C, compiled for the host, equals tflite_micro byte for byte, op by op."""
import numpy as np
import pytest

import aot_zoo as zoo
from pipeline.aot.compile.compiler import compile_model
from pipeline.aot.compile.host import HostModel, build_host_lib
from pipeline.aot.tflm.reference import random_inputs, tflm_run

SEEDS = range(8)


def first_mismatch(compiled, traced, tensors):
    for s in compiled.steps:
        t = compiled.model.tensors[s.outputs[0]]
        got = np.frombuffer(traced[s.index], dtype=t.dtype)
        want = tensors[s.outputs[0]].reshape(-1)
        if not np.array_equal(got, want):
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            return f"operator {s.index} ({s.op}): {int((diff > 0).sum())}/{got.size} differ, max {diff.max()}"
    return None


def check_model(path, build_dir, seeds=SEEDS):
    data = path.read_bytes()
    compiled = compile_model(data)
    host = HostModel(compiled, build_host_lib(compiled, build_dir))
    for seed in seeds:
        xs = random_inputs(compiled.model, seed)
        outs, traced = host.run(xs, trace=True)
        ref, tensors = tflm_run(compiled.model, data, xs, all_tensors=True)
        where = first_mismatch(compiled, traced, tensors)
        assert where is None, f"{path.stem} seed {seed}: {where}"
        for got, want in zip(outs, ref):
            assert got.tobytes() == np.asarray(want, dtype=got.dtype).tobytes()
    return compiled


@pytest.mark.parametrize("name", sorted(zoo.ZOO))
def test_host_bit_exact(name, zoo_models, host_build_dir):
    check_model(zoo_models[name], host_build_dir)


def test_zoo_covers_every_supported_op(zoo_models):
    from pipeline.aot.compile.lower import SUPPORTED_OPS
    seen = set()
    for path in zoo_models.values():
        seen |= {s.op for s in compile_model(path).steps}
    assert set(SUPPORTED_OPS) - seen == {"PADV2"}  # PADV2 shares PAD's kernel


def test_a_wrong_parameter_is_caught(zoo_models, host_build_dir):
    """The comparison can fail: one requantization shift off by one must be detected."""
    compiled = compile_model(zoo_models["conv_stack"])
    step = compiled.steps[0]
    shift = next(c for c in step.consts if c.name.endswith("_shift"))
    shift.values = shift.values + 1
    rq = next((c for c in step.consts if c.name.endswith("_rq")), None)
    if rq is not None:  # the one-multiply path: its shift word (m, h, r per channel)
        words = np.array(rq.values).reshape(-1, 3)
        words[:, 2] += 1
        rq.values = words.reshape(-1)
    # packed again, so the GEMM stream (which carries its own copy of the records) has the bad shift
    from pipeline.aot.compile.compiler import _pack
    step.consts = [c for c in step.consts if not c.name.endswith("_wp")]
    _pack([step])
    from pipeline.aot.compile.codegen import render
    from dataclasses import replace
    bad = replace(compiled, sources=render(compiled.model, compiled.steps, compiled.memory))
    host = HostModel(bad, build_host_lib(bad, host_build_dir / "bad"))
    data = zoo_models["conv_stack"].read_bytes()
    xs = random_inputs(compiled.model, 0)
    outs, traced = host.run(xs, trace=True)
    _, tensors = tflm_run(compiled.model, data, xs, all_tensors=True)
    assert first_mismatch(compiled, traced, tensors).startswith("operator 0 (CONV_2D)")


def test_per_build_proof_names_the_first_bad_operator(zoo_models, host_build_dir):
    from dataclasses import replace

    from pipeline.aot.compile.codegen import render
    from pipeline.aot.compile.host import prove_host_equality
    from pipeline.errors import PipelineError
    data = zoo_models["residual"].read_bytes()
    compiled = compile_model(data)
    assert prove_host_equality(compiled, data, host_build_dir / "good") == {"vectors": 5, "operators": len(compiled.steps)}
    step = next(s for s in compiled.steps if s.op == "ADD")
    step.params["out_offset"] += 1
    rq = next((c for c in step.consts if c.name.endswith("_rq")), None)
    if rq is not None:  # ADD with tables: out_offset is folded into h, +1 output step = h + 2^r
        words = np.array(rq.values).reshape(-1, 3)
        words[:, 1] += 1 << int(words[0, 2])
        rq.values = words.reshape(-1)
    bad = replace(compiled, sources=render(compiled.model, compiled.steps, compiled.memory))
    with pytest.raises(PipelineError, match=rf"operator {step.index} \(ADD\) on test vector 0"):
        prove_host_equality(bad, data, host_build_dir / "bad2")
