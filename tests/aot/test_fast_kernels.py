"""The optimized CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED kernels (SMLAD on M4/M7, Helium on
M55, the portable packed-weights path on the host) against tflite_micro, on shapes chosen to hit
every edge: channel counts that are odd or not a multiple of 2/4, patch sizes not a multiple of 4,
odd pixel counts (the GEMM's single-pixel tail), strides, SAME padding (gathered borders), dilation,
depth multipliers, batched FULLY_CONNECTED rows, and patches too large for the GEMM (fallback)."""
import numpy as np
import pytest

import aot_zoo as zoo
from pipeline.aot.compile.compiler import GEMM_MAX_K, compile_model, pack_gemm_weights

from .exactness import device_mismatch, general_requantization, host_mismatch, needs_qemu


def check_model(path, build_dir, seeds):
    """Host build (portable kernels, packed weights): every operator's output equals TFLM's."""
    data = path.read_bytes()
    where = host_mismatch(compile_model(data), data, build_dir, seeds)
    assert where is None, f"{path.stem}: (seed, operator) {where}"


def _init(seed, kernel="kernel"):
    return zoo._init(seed, kernel)


def _pointwise():
    L = zoo._layers()
    x = inp = L.Input((5, 3, 13), batch_size=1)              # 15 pixels, K = 13
    x = L.Conv2D(7, 1, **_init(1))(x)                         # odd out_c
    x = L.Conv2D(9, 1, activation="relu", **_init(3))(x)     # K = 7
    return inp, L.Conv2D(4, 1, **_init(5))(x)


def _conv():
    L = zoo._layers()
    x = inp = L.Input((7, 6, 5), batch_size=1)
    x = L.Conv2D(6, (3, 2), strides=(2, 1), padding="same", **_init(1))(x)   # K = 30, borders
    x = L.Conv2D(5, 3, padding="same", dilation_rate=2, activation="relu6", **_init(3))(x)
    x = L.Conv2D(3, (2, 3), strides=2, padding="valid", **_init(5))(x)
    return inp, x


def _depthwise():
    L = zoo._layers()
    x = inp = L.Input((8, 7, 7), batch_size=1)                              # C = 7: one group + 3
    x = L.DepthwiseConv2D(3, padding="same", activation="relu", **_init(1, "depthwise"))(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same", **_init(3, "depthwise"))(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", **_init(5, "depthwise"))(x)  # C = 14
    x = L.DepthwiseConv2D((2, 3), dilation_rate=(2, 1), padding="valid", **_init(7, "depthwise"))(x)
    return inp, L.Conv2D(5, 1, **_init(9))(x)


def _dw_plane():
    """3x3 stride-1 SAME depthwise on the plane kernel (dw_plane.c): odd height and width (the
    blocks that store past the edge onto the real outputs), every clamp kind, in place."""
    L = zoo._layers()
    x = inp = L.Input((9, 5, 6), batch_size=1)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu6", **_init(1, "depthwise"))(x)
    x = L.DepthwiseConv2D(3, padding="same", **_init(3, "depthwise"))(x)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu", **_init(5, "depthwise"))(x)
    return inp, L.Conv2D(3, 1, **_init(7))(x)


def _dw_thin():
    """The plane kernel's degenerate shapes: one row (no row pair), then one column."""
    L = zoo._layers()
    x = inp = L.Input((1, 6, 4), batch_size=1)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu", **_init(1, "depthwise"))(x)
    x = L.Reshape((6, 1, 4))(x)
    x = L.DepthwiseConv2D(3, padding="same", **_init(3, "depthwise"))(x)
    return inp, L.Conv2D(2, 1, **_init(5))(x)


def _dense():
    L = zoo._layers()
    x = inp = L.Input((3, 37), batch_size=1)        # three FULLY_CONNECTED rows, depth 37
    x = L.Dense(11, activation="relu", **_init(1))(x)
    x = L.Dense(6, **_init(3))(x)
    return inp, x


def _large_patch():
    L = zoo._layers()
    x = inp = L.Input((4, 4, 80), batch_size=1)     # K = 720 > GEMM_MAX_K: reference loop
    x = L.Conv2D(3, 3, padding="same", **_init(1))(x)
    x = L.Flatten()(x)
    return inp, L.Dense(4, **_init(3))(x)           # depth 48


def _kws_like():
    """The KWS DS-CNN's shapes, small: a first layer whose kernel rows are one word each (k_w x in_c
    = 4, padded on every side: conv.c widen_word_rows), plane depthwise layers on an even channel
    count (two planes per gather) and an odd one (one plane), and pointwise layers the GEMM assembly
    runs in one call (K a multiple of 4, even out_c, odd pixel count, in place, with and without a
    clamp) next to ones it leaves to C (K = 6, out_c = 5)."""
    L = zoo._layers()
    x = inp = L.Input((13, 9, 1), batch_size=1)
    x = L.Conv2D(8, (5, 4), strides=2, padding="same", activation="relu", **_init(1))(x)   # 7 x 5
    x = L.DepthwiseConv2D(3, padding="same", activation="relu", **_init(3, "depthwise"))(x)
    x = L.Conv2D(8, 1, activation="relu6", **_init(5))(x)
    x = L.Conv2D(6, 1, **_init(7))(x)
    x = L.DepthwiseConv2D(3, padding="same", **_init(9, "depthwise"))(x)
    x = L.Conv2D(5, 1, activation="relu", **_init(11))(x)
    x = L.DepthwiseConv2D(3, padding="same", **_init(13, "depthwise"))(x)
    x = L.Conv2D(2, (1, 2), padding="same", **_init(15))(x)      # k_w x in_c = 10: the byte patch
    x = L.Reshape((7, 5, 2))(x)
    return inp, L.Conv2D(4, (3, 2), strides=(1, 2), padding="same", **_init(17))(x)   # 2 x 2: word rows again


def _deep_patch():
    """Patches longer than the GEMM assembly's 64 unrolled groups (K = 320: a second pass), one
    pixel (the assembly on the pixel twice), and a one-row FULLY_CONNECTED with an odd out_c."""
    L = zoo._layers()
    x = inp = L.Input((3, 3, 320), batch_size=1)
    x = L.Conv2D(6, 1, activation="relu6", **_init(1))(x)        # 9 pixels, in place
    x = L.Conv2D(264, 1, **_init(3))(x)
    x = L.Conv2D(4, (3, 3), strides=3, **_init(5))(x)             # 1 pixel, K = 2376 > GEMM_MAX_K
    x = L.Flatten()(x)
    return inp, L.Dense(5, activation="relu", **_init(7))(x)


MODELS = {"fk_kws_like": _kws_like, "fk_deep_patch": _deep_patch, "fk_pointwise": _pointwise, "fk_conv": _conv, "fk_depthwise": _depthwise, "fk_dense": _dense,
          "fk_large_patch": _large_patch, "fk_dw_plane": _dw_plane, "fk_dw_thin": _dw_thin}


@pytest.fixture(scope="module")
def fk_models(tmp_path_factory):
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()
    out = tmp_path_factory.mktemp("fk")
    paths = {}
    for name, builder in MODELS.items():
        keras.utils.set_random_seed(0)
        inp, o = builder()
        path = out / f"{name}.tflite"
        path.write_bytes(zoo.convert(inp, o))
        paths[name] = path
    return paths


def test_packed_layout_pairs_channels_and_sxtb16_order():
    rng = np.random.default_rng(0)
    for oc, k in [(1, 1), (3, 5), (4, 8), (7, 13)]:
        w = rng.integers(-128, 128, (oc, k)).astype(np.int8)
        p = pack_gemm_weights(w)
        k4 = -(-k // 4) * 4
        assert p.dtype == np.int16 and p.size == (oc + (oc & 1)) * k4
        g = p.reshape(-1, k4 // 4, 2, 4)                      # [pair][group][channel][tap]
        for c in range(oc):
            for kk in range(k):
                assert g[c // 2, kk // 4, c % 2, [0, 2, 1, 3].index(kk % 4)] == w[c, kk]
        padded = np.zeros((oc + (oc & 1), k4), bool)
        padded[:oc, :k] = True
        assert int(np.count_nonzero(p)) <= int(padded.sum())


def test_gemm_stream_holds_each_channel_pairs_records_around_its_doubled_weights():
    from pipeline.aot.compile.compiler import GEMM_STREAM_HEAD, GEMM_STREAM_TAIL, gemm_acc0_layout, pack_gemm_stream
    rng = np.random.default_rng(1)
    for oc, k, per_channel in [(4, 8, True), (3, 5, True), (5, 13, False)]:
        w = rng.integers(-128, 128, (oc, k)).astype(np.int8)
        acc0 = rng.integers(-(1 << 29), 1 << 29, oc)
        rq = rng.integers(-(1 << 31), 1 << 31, (oc if per_channel else 1, 3))
        s = pack_gemm_stream(w, acc0, rq)
        k4, pairs = -(-k // 4) * 4, -(-oc // 2)
        per_pair = GEMM_STREAM_HEAD + 2 * k4 + GEMM_STREAM_TAIL
        assert s.dtype == np.int16 and s.size == pairs * per_pair
        s = s.reshape(pairs, per_pair)
        words = lambda h: np.ascontiguousarray(h).view(np.int32)      # noqa: E731 (little-endian halves)
        assert words(s[:, :GEMM_STREAM_HEAD]).reshape(-1).tolist() == (2 * gemm_acc0_layout(acc0)).tolist()
        body = s[:, GEMM_STREAM_HEAD:GEMM_STREAM_HEAD + 2 * k4].reshape(-1)
        assert body.tolist() == (2 * pack_gemm_weights(w).astype(np.int64)).tolist()
        full = np.broadcast_to(rq, (oc, 3))
        full = np.concatenate([full, full[-1:]]) if oc % 2 else full
        assert words(s[:, -GEMM_STREAM_TAIL:]).reshape(-1).tolist() == full.astype(np.int32).reshape(-1).tolist()


def test_kws_like_models_reach_the_fast_paths(fk_models):
    """The shapes the assembly and the word-row patches take must stay in the exactness models."""
    steps = compile_model(fk_models["fk_kws_like"].read_bytes()).steps
    conv = [s.params for s in steps if s.kernel == "conv"]
    assert any(p["k_w"] * p["in_c"] == 4 and p["pad_w"] and p["pad_h"] for p in conv)            # word rows
    pw = [p for p in conv if p["k_h"] == p["k_w"] == 1 and p["rq"] and p["wpack"]]
    assert any(p["in_c"] % 4 == 0 and p["out_c"] % 2 == 0 for p in pw)                          # one call
    assert any(p["in_c"] % 4 or p["out_c"] % 2 for p in pw)                                      # C
    assert sorted(s.params["in_c"] for s in steps if s.params.get("dw_plane")) == [5, 6, 8]    # 1 and 2 planes
    deep = [s.params for s in compile_model(fk_models["fk_deep_patch"].read_bytes()).steps if s.kernel == "conv"]
    assert deep[0]["in_c"] > 256 and deep[0]["rq"]


def test_packing_is_selected_per_core_in_the_generated_code(fk_models):
    c = compile_model(fk_models["fk_large_patch"])
    conv, fc = [s for s in c.steps if s.kernel in ("conv", "fc")]
    assert not conv.params.get("wpack") and conv.params["k_h"] * conv.params["k_w"] * conv.params["in_c"] > GEMM_MAX_K
    assert fc.params.get("wpack")
    src = c.sources.files["aot_model.c"]
    assert f"#if AOT_PACKED_W\nstatic const int16_t op{fc.index}_wp" in src
    assert f"#if !AOT_PACKED_W\nstatic const int8_t op{fc.index}_w[" in src
    assert f"static const int8_t op{conv.index}_w[" in src and f"op{conv.index}_wp" not in src
    # the reported weight bytes stay those of the plain int8 layout
    assert c.summary()["weights_bytes"] == sum(x.values.size * (1 if x.ctype == "int8_t" else 4)
                                               for s in c.steps for x in s.consts if not x.name.endswith("_wp"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_host_portable_path_bit_exact(name, fk_models, host_build_dir):
    check_model(fk_models[name], host_build_dir / name, seeds=range(4))


@needs_qemu
@pytest.mark.emulator
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7", "cortex-m55"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_cortex_m_kernels_bit_exact(name, target, fk_models, tmp_path):
    data = fk_models[name].read_bytes()
    where = device_mismatch(compile_model(data), data, target, tmp_path)
    assert where is None, f"{name} on {target}: (seed, output) {where}"


def test_plane_depthwise_is_chosen_where_it_applies(fk_models):
    """The plane kernel's models must keep reaching it (3x3, stride 1, SAME, one-multiply
    requantization), or the exactness tests would silently cover only the NHWC kernel."""
    for name, want in (("fk_dw_plane", 3), ("fk_dw_thin", 2), ("fk_depthwise", 1)):
        steps = compile_model(fk_models[name].read_bytes()).steps
        assert sum(bool(s.params.get("dw_plane")) for s in steps) == want, name
    g = general_requantization(compile_model(fk_models["fk_dw_plane"].read_bytes()))
    assert not any(s.params.get("dw_plane") for s in g.steps)


def test_one_multiply_requantization_is_used_where_it_applies(fk_models):
    c = compile_model(fk_models["fk_depthwise"].read_bytes())
    assert all(s.params.get("rq") for s in c.steps if s.kernel in ("conv", "dwconv", "fc"))
    assert "(const aot_rq_t *)op" in c.sources.files["aot_model.c"]
    g = general_requantization(c)
    assert "(const aot_rq_t *)op" not in g.sources.files["aot_model.c"]


@pytest.mark.parametrize("name", ["fk_depthwise", "fk_pointwise", "fk_dense", "fk_dw_plane", "fk_kws_like",
                                  "fk_deep_patch"])
def test_general_requantization_path_host_bit_exact(name, fk_models, host_build_dir):
    data = fk_models[name].read_bytes()
    c = general_requantization(compile_model(data))
    assert host_mismatch(c, data, host_build_dir / f"general-{name}", seeds=range(3)) is None, name


@needs_qemu
@pytest.mark.emulator
@pytest.mark.parametrize("name", ["fk_depthwise", "fk_pointwise", "fk_dense", "fk_dw_plane", "fk_kws_like",
                                  "fk_deep_patch"])
def test_general_requantization_path_cortex_m4_bit_exact(name, fk_models, tmp_path):
    data = fk_models[name].read_bytes()
    c = general_requantization(compile_model(data))
    assert device_mismatch(c, data, "cortex-m4", tmp_path, seeds=range(2)) is None, name


def test_in_place_operators_are_exercised_by_the_bit_exact_suite(fk_models):
    """The planner lets depthwise (stride 1) and 1x1 convolutions write over their input; the
    fast-kernel models must contain such pairs, or the exactness tests above would not cover the
    in-place code paths (output-row ring, copied 1x1 patches)."""
    for name, kernel in (("fk_depthwise", "dwconv"), ("fk_pointwise", "conv")):
        c = compile_model(fk_models[name].read_bytes())
        writers = {s.outputs[0]: s.kernel for s in c.steps}
        kinds = {writers[out] for out in c.memory.aliases}
        assert kernel in kinds, (name, c.memory.aliases)
        for out, inp in c.memory.aliases.items():
            assert c.memory.buffers[out].offset == c.memory.buffers[inp].offset
