"""The MLPerf Tiny reference architectures: op sets bakenn can import, MACs and sizes near the
published reference figures, int8 in/out. Building all four converts with TensorFlow (~1 min
each on 2 cores), so those checks are `slow`; the files are cached in build/bench/mlperf."""
from __future__ import annotations

import pytest

from benchmarks import mlperf_tiny


def test_every_model_has_an_anchor_and_an_expected_op_set():
    assert set(mlperf_tiny.MODELS) == set(mlperf_tiny.ANCHORS) == set(mlperf_tiny.EXPECTED_OPS)
    for ops in mlperf_tiny.EXPECTED_OPS.values():
        assert "MEAN" not in ops  # bakenn rejects MEAN: AVERAGE_POOL_2D instead


def test_cache_key_is_stable_and_per_model():
    keys = {n: mlperf_tiny.cache_key(n) for n in mlperf_tiny.MODELS}
    assert keys == {n: mlperf_tiny.cache_key(n) for n in mlperf_tiny.MODELS}
    assert len(set(keys.values())) == len(keys)
    assert all(mlperf_tiny.model_path(n).name == f"{n}-{k}.tflite" for n, k in keys.items())


@pytest.mark.slow
@pytest.mark.parametrize("name", list(mlperf_tiny.MODELS))
def test_model_builds_with_expected_ops_macs_and_size(name):
    from pipeline.tflite import read_model

    path = mlperf_tiny.build(name)
    d = mlperf_tiny.describe(path, name)
    assert set(d["ops"]) == mlperf_tiny.EXPECTED_OPS[name], d["op_counts"]
    assert d["int8_io"]
    assert 0.9 <= d["macs_vs_anchor"] <= 1.1, d["macs"]
    assert 0.7 <= d["size_vs_anchor"] <= 1.3, d["model_bytes"]
    m = read_model(path.read_bytes())
    # bakenn needs rank-2 activations into every FULLY_CONNECTED (explicit RESHAPE to [1, C])
    for op in m.operators:
        if op.op == "FULLY_CONNECTED":
            assert len(m.tensor(op.inputs[0]).shape) == 2
            assert len(op.inputs) == 3 and op.inputs[2] >= 0  # a bias: bakenn wants FC v4 with bias
    # cached: a second build returns the same file untouched
    mtime = path.stat().st_mtime_ns
    assert mlperf_tiny.build(name) == path and path.stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_explicit_reshape_keeps_tflm_numerics():
    """The RESHAPE put back in front of FULLY_CONNECTED is exactly the Keras Flatten: TFLM gives
    byte-identical outputs for the converter's rank-4 FC graph and for the rewritten one."""
    import numpy as np
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()
    from tflite_micro.python.tflite_micro import runtime

    from pipeline.tflite import read_model

    L = keras.layers
    keras.utils.set_random_seed(0)
    inp = L.Input((6, 6, 3), batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = L.Flatten()(L.AveragePooling2D(6)(x))
    out = L.Dense(5, bias_initializer="ones")(x)
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    reps = [np.random.default_rng(i).uniform(0, 1, (1, 6, 6, 3)).astype(np.float32) for i in range(8)]
    conv.representative_dataset = lambda: ([r] for r in reps)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    raw = conv.convert()
    fixed = mlperf_tiny._explicit_reshape_before_fc(raw)
    m_raw, m_fixed = read_model(raw), read_model(fixed)
    assert "RESHAPE" not in m_raw.op_names  # what the converter does to a Flatten before Dense
    assert [o.op for o in m_fixed.operators][-2:] == ["RESHAPE", "FULLY_CONNECTED"]
    fc = m_fixed.operators[-1]
    assert m_fixed.tensor(fc.inputs[0]).shape == (1, 8)
    for seed in range(5):
        x = np.random.default_rng(seed).integers(-128, 128, size=(1, 6, 6, 3), dtype=np.int8)
        outs = []
        for data in (raw, fixed):
            it = runtime.Interpreter.from_bytes(data, arena_size=1 << 16)
            it.set_input(x, 0)
            it.invoke()
            outs.append(np.asarray(it.get_output(0)))
        np.testing.assert_array_equal(outs[0], outs[1])
