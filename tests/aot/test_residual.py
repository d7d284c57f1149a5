"""Residual blocks fused into one row-by-row step (pipeline/aot/compile/fuse.py, firmware/kernels/residual.c):
bit-exact with tflite_micro on the host and on QEMU M4/M7/M55, actually selected, smaller in the
arena, written over the block input only where the schedule allows it, and left alone where the
pattern does not hold."""
from dataclasses import replace

import pytest

import aot_zoo as zoo
from pipeline.aot.compile.codegen import render
from pipeline.aot.compile.compiler import _pack, compile_model
from pipeline.aot.compile.lower import lower
from pipeline.aot.compile.plan import plan

from .exactness import device_mismatch, general_requantization, host_mismatch, needs_qemu


def _init(seed, kernel="kernel"):
    return zoo._init(seed, kernel)


def _blocks():
    """The ResNet-8 block kinds on odd sizes: identity skip (ADD operands z, x), a stride-2 block
    with a 1x1 stride-2 skip (operands s, z; 9x7 -> 5x4: SAME puts a padding row on top), and one
    that triples the channels (5x4x8 -> 3x2x24: an output row is 1.5 input rows, the width pads only
    at the right); ReLU / ReLU6 fused into the convolutions and the ADDs (the converter gives their
    outputs zero point -128, so the clamp bounds come out as the int8 range, as on IC)."""
    L = zoo._layers()
    x = inp = L.Input((9, 7, 3), batch_size=1)
    x = L.Conv2D(6, 3, padding="same", activation="relu", **_init(1))(x)
    y = L.Conv2D(6, 3, padding="same", activation="relu", **_init(3))(x)
    z = L.Conv2D(6, 3, padding="same", **_init(5))(y)
    x = L.ReLU()(L.Add()([z, x]))
    y = L.Conv2D(8, 3, strides=2, padding="same", activation="relu6", **_init(7))(x)
    z = L.Conv2D(8, 3, padding="same", **_init(9))(y)
    s = L.Conv2D(8, 1, strides=2, **_init(11))(x)
    x = L.Add()([s, z])
    y = L.Conv2D(24, 3, strides=2, padding="same", activation="relu", **_init(13))(x)
    z = L.Conv2D(24, 3, padding="same", activation="relu", **_init(15))(y)
    s = L.Conv2D(24, 1, strides=2, padding="same", **_init(17))(x)
    x = L.ReLU()(L.Add()([z, s]))
    x = L.GlobalAveragePooling2D()(x)
    return inp, L.Dense(4, **_init(19))(x)


def _blocks_apart():
    """Where the pattern fuses without writing over x, and where it must not fuse:
    block 1: a 5x5 first convolution (output row r would land on x row r while y row r + 2, computed
    after it, still reads x rows r..r+4): fused, output in its own buffer;
    block 2: its input is read again after the block (the last ADD): fused, not aliased;
    block 3: its intermediate y has a second reader (an ADD after the block): not fused."""
    L = zoo._layers()
    x = inp = L.Input((8, 6, 4), batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu", **_init(21))(x)
    y = L.Conv2D(8, 5, padding="same", activation="relu", **_init(23))(x)
    z = L.Conv2D(8, 3, padding="same", **_init(25))(y)
    x = L.Add()([x, z])
    y = L.Conv2D(8, 3, padding="same", activation="relu", **_init(27))(x)
    z = L.Conv2D(8, 3, padding="same", **_init(29))(y)
    b = L.Add()([z, x])
    y = L.Conv2D(8, 3, padding="same", activation="relu", **_init(31))(b)
    z = L.Conv2D(8, 3, padding="same", **_init(33))(y)
    c = L.Add()([z, b])
    c = L.Add()([c, y])
    return inp, L.Add()([c, x])


def _blocks_wide():
    """Identity blocks whose first convolution takes the reference loop (K = 3*3*72 = 648 >
    GEMM_MAX_K) on row slices: block 1 in place; block 2's is dilated (3x3, rate 2: y row r + 2 still
    reads x row r when output row r is due), so it is fused but writes its own buffer."""
    L = zoo._layers()
    x = inp = L.Input((6, 5, 3), batch_size=1)
    x = L.Conv2D(72, 3, padding="same", activation="relu", **_init(41))(x)
    for k, rate in ((0, 1), (1, 2)):
        y = L.Conv2D(16, 3, padding="same", dilation_rate=rate, activation="relu", **_init(43 + 4 * k))(x)
        z = L.Conv2D(72, 3, padding="same", **_init(45 + 4 * k))(y)
        x = L.Add()([x, z])
    return inp, x


MODELS = {"rb_blocks": _blocks, "rb_apart": _blocks_apart, "rb_wide": _blocks_wide}


@pytest.fixture(scope="module")
def rb_models(tmp_path_factory):
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()
    out = tmp_path_factory.mktemp("rb")
    paths = {}
    for name, builder in MODELS.items():
        keras.utils.set_random_seed(0)
        inp, o = builder()
        path = out / f"{name}.tflite"
        path.write_bytes(zoo.convert(inp, o))
        paths[name] = path
    return paths


def _blocks_of(c):
    return [s for s in c.steps if s.kernel == "resblock"]


def _unfused_arena(c):
    steps = lower(c.model)
    _pack(steps)
    return plan(c.model, steps).arena_bytes


def test_blocks_are_fused_in_place_and_shrink_the_arena(rb_models):
    c = compile_model(rb_models["rb_blocks"].read_bytes())
    blocks = _blocks_of(c)
    assert [b.params["skip"] is None for b in blocks] == [True, False, False]
    assert {b.params["skip_first"] for b in blocks} == {0, 1}           # both ADD operand orders
    assert [len(b.parts) for b in blocks] == [3, 4, 4]
    assert not any(s.kernel == "conv" and s.params["k_h"] == 1 for s in c.steps)   # skips are inside
    for b in blocks:
        assert b.params["inplace"] and c.memory.aliases.get(b.outputs[0]) == b.inputs[0]
        assert c.memory.offset(b.outputs[0]) == c.memory.offset(b.inputs[0])
        # the scratch is placed clear of the block's input and output
        lo, hi = c.memory.scratch[b.index], c.memory.scratch[b.index] + b.scratch
        for t in (b.inputs[0], b.outputs[0]):
            buf = c.memory.buffers[t]
            assert hi <= buf.offset or buf.offset + buf.size <= lo
    src = c.sources.files["aot_model.c"]
    assert src.count("aot_resblock_s8(&op") == 3
    assert c.macs == sum(s.macs for s in lower(c.model))
    # x, y and z of the identity block were live together: 3 x 9*7*6 bytes
    assert c.arena_bytes < _unfused_arena(c) - 9 * 7 * 6


def test_blocks_apart_fuse_only_where_the_pattern_holds(rb_models):
    c = compile_model(rb_models["rb_apart"].read_bytes())
    blocks = _blocks_of(c)
    assert len(blocks) == 2
    five, reread = blocks
    assert five.parts[0].params["k_h"] == 5 and not five.params["inplace"]
    assert reread.params["inplace"] and reread.outputs[0] not in c.memory.aliases   # x is read later
    for b in blocks:
        assert c.memory.offset(b.outputs[0]) != c.memory.offset(b.inputs[0])
    # block 3 (y read twice) runs as its separate operators
    assert [s.op for s in c.steps].count("CONV_2D") == 3 and [s.op for s in c.steps].count("ADD") == 3


def test_wide_blocks_take_the_reference_loop_and_a_dilated_one_is_not_in_place(rb_models):
    from pipeline.aot.compile.compiler import GEMM_MAX_K
    c = compile_model(rb_models["rb_wide"].read_bytes())
    blocks = _blocks_of(c)
    assert len(blocks) == 2
    for b in blocks:
        a = b.parts[0].params
        assert a["k_h"] * a["k_w"] * a["in_c"] > GEMM_MAX_K and not a.get("wpack")
    assert [b.parts[0].params["dil_h"] for b in blocks] == [1, 2]
    assert [b.params["inplace"] for b in blocks] == [True, False]
    assert [b.outputs[0] in c.memory.aliases for b in blocks] == [True, False]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_host_bit_exact(name, rb_models, host_build_dir):
    data = rb_models[name].read_bytes()
    c = compile_model(data)
    assert host_mismatch(c, data, host_build_dir / name, seeds=range(6)) is None


def test_writing_over_x_where_the_schedule_forbids_it_is_caught(rb_models, host_build_dir):
    """The in-place check matters, and the exactness test can fail: the 5x5 block forced to write
    over its input differs from tflite_micro at that block."""
    data = rb_models["rb_apart"].read_bytes()
    c = compile_model(data)
    five = _blocks_of(c)[0]
    five.params["inplace"] = True
    mem = plan(c.model, c.steps)
    assert mem.aliases.get(five.outputs[0]) == five.inputs[0]
    bad = replace(c, memory=mem, sources=render(c.model, c.steps, mem))
    assert host_mismatch(bad, data, host_build_dir / "rb-forced", seeds=range(2)) == (0, five.index)


@needs_qemu
@pytest.mark.emulator
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7", "cortex-m55"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_cortex_m_bit_exact(name, target, rb_models, tmp_path):
    data = rb_models[name].read_bytes()
    where = device_mismatch(compile_model(data), data, target, tmp_path)
    assert where is None, f"{name} on {target}: (seed, output) {where}"


def test_general_requantization_path_host_bit_exact(rb_models, host_build_dir):
    data = rb_models["rb_blocks"].read_bytes()
    c = general_requantization(compile_model(data))
    assert not any(p.params.get("tables") for s in c.steps for p in (s.parts or [s]))
    assert "op3_ta" not in c.sources.files["aot_model.c"] and len(_blocks_of(c)) == 3
    assert host_mismatch(c, data, host_build_dir / "rb-general") is None


@needs_qemu
@pytest.mark.emulator
def test_general_requantization_path_cortex_m4_bit_exact(rb_models, tmp_path):
    data = rb_models["rb_blocks"].read_bytes()
    c = general_requantization(compile_model(data))
    assert device_mismatch(c, data, "cortex-m4", tmp_path, seeds=range(2)) is None
