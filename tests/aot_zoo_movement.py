"""Zoo models for the movement op family (pipeline/aot/ops/movement.py), merged into aot_zoo.ZOO: each is
checked bit-exact against tflite_micro on the host build and in QEMU (M4; M7 and M55 in the slow set).

Every model mixes a few convolutions in so the moved tensors carry ordinary, non-trivial int8
quantization, and groups many movement ops so the zoo stays small (each model runs on three cores)."""
from __future__ import annotations

from collections.abc import Callable


def _keras():
    from pipeline.keras_api import keras3
    return keras3()


def _tf_lambda(fn, name: str):
    """A Keras Lambda layer running a TensorFlow op (the zoo converts Keras 3 models with the TF
    backend, so the op reaches the stock converter as the TFLite builtin)."""
    return _keras().layers.Lambda(fn, name=name)


def _slices():
    """TRANSPOSE, STRIDED_SLICE (steps, a negative step, a shrink axis), SLICE, REVERSE_V2,
    SPLIT, SPLIT_V, CONCATENATION on a non-last axis."""
    import aot_zoo
    import tensorflow as tf
    k = _keras()
    L, ops = k.layers, k.ops
    x = inp = L.Input((8, 6, 4), batch_size=1)
    x = L.Conv2D(6, 3, padding="same", **aot_zoo._init(201))(x)
    t = L.Permute((2, 1, 3))(x)                                  # TRANSPOSE (1, 6, 8, 6)
    s = t[:, 1:6:2, ::-1, :]                                      # STRIDED_SLICE, negative step
    s = L.Conv2D(4, 1, **aot_zoo._init(203))(s)                   # (1, 3, 8, 4)
    a, b = ops.split(s, 2, axis=-1)                              # SPLIT
    r = ops.flip(a, axis=2)                                       # REVERSE_V2
    c = _tf_lambda(lambda v: tf.slice(v, [0, 1, 2, 0], [1, 2, 3, 4]), "slice")(x)   # SLICE
    p, q = _tf_lambda(lambda v: tf.split(v, [1, 3], axis=-1), "split_v")(c)        # SPLIT_V
    row = s[:, 1, :, :]                                           # STRIDED_SLICE shrink axis (1, 8, 4)
    y = ops.concatenate([r, b], axis=1)                           # (1, 6, 8, 2)
    return inp, [y, ops.concatenate([q, p, p], axis=-1), row]


def _gathers():
    """RESIZE_NEAREST_NEIGHBOR (plain, align_corners, half_pixel_centers), GATHER, MIRROR_PAD
    (REFLECT, SYMMETRIC), DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND."""
    import aot_zoo
    import tensorflow as tf
    k = _keras()
    L, ops = k.layers, k.ops
    x = inp = L.Input((5, 6, 4), batch_size=1)
    x = L.Conv2D(8, 3, padding="same", **aot_zoo._init(211))(x)
    u = _tf_lambda(lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, [10, 12]), "resize")(x)
    v = _tf_lambda(lambda t: tf.compat.v1.image.resize_nearest_neighbor(t, [7, 9], align_corners=True),
                   "resize_ac")(x)
    w = _tf_lambda(lambda t: tf.image.resize(t, [9, 4], method="nearest"), "resize_hp")(x)  # half pixel
    g = ops.take(x, [3, 0, 0, 2, 5], axis=2)                      # GATHER, constant indices
    m = _tf_lambda(lambda t: tf.pad(t, [[0, 0], [2, 1], [1, 3], [0, 0]], mode="REFLECT"), "reflect")(x)
    n = _tf_lambda(lambda t: tf.pad(t, [[0, 0], [1, 2], [3, 0], [0, 0]], mode="SYMMETRIC"), "symmetric")(x)
    d = _tf_lambda(lambda t: tf.nn.depth_to_space(t, 2), "d2s")(x)             # (10, 12, 2)
    e = _tf_lambda(lambda t: tf.nn.space_to_depth(t, 2), "s2d")(u)             # (5, 6, 32)
    # BATCH_TO_SPACE_ND of a batch-4 view of x, with uneven crops: (4, 5, 6, 2) -> (1, 9, 11, 2)
    bs = _tf_lambda(lambda t: tf.batch_to_space(tf.transpose(tf.reshape(t, [5, 6, 4, 2]), [2, 0, 1, 3]),
                                                [2, 2], [[0, 1], [1, 0]]), "b2s")(x)
    # SPACE_TO_BATCH_ND without padding (TFLM leaves padded positions undefined): -> (2, 5, 3, 8)
    sb = _tf_lambda(lambda t: tf.space_to_batch(t, [1, 2], [[0, 0], [0, 0]]), "s2b")(x)
    return inp, [u, v, w, g, m, n, d, e, bs, sb]


def _stacks():
    """PACK, UNPACK, BROADCAST_TO, TRANSPOSE of a 3-D tensor, GATHER_ND (the squeeze and expand_dims
    reach TFLite as RESHAPE: the converter rewrites SQUEEZE / EXPAND_DIMS with static shapes)."""
    import aot_zoo
    import tensorflow as tf
    k = _keras()
    L, ops = k.layers, k.ops
    x = inp = L.Input((6, 5), batch_size=1)
    x = L.Conv1D(4, 3, padding="same", **aot_zoo._init(221))(x)  # (1, 6, 4)
    parts = ops.unstack(x, axis=1)                                # UNPACK: 6 x (1, 4)
    st = ops.stack(parts[::2], axis=2)                            # PACK (1, 4, 3)
    st2 = ops.stack(parts[1::2], axis=0)                          # PACK (3, 1, 4)
    sq = _tf_lambda(lambda t: tf.squeeze(t, axis=0), "squeeze")(x)          # SQUEEZE (6, 4)
    ex = _tf_lambda(lambda t: tf.expand_dims(t, 2), "expand")(sq)           # EXPAND_DIMS (6, 4, 1)
    bt = _tf_lambda(lambda t: tf.broadcast_to(t, [6, 4, 3]), "bcast")(ex)   # BROADCAST_TO
    tr = ops.transpose(x, (0, 2, 1))                              # TRANSPOSE (1, 4, 6)
    nd = _tf_lambda(lambda t: tf.gather_nd(t, [[0, 1], [0, 4], [0, 1]]), "gather_nd")(x)  # GATHER_ND (3, 4)
    return inp, [st, st2, bt, tr, nd]


def _free_batch():
    """A free batch dimension (Input without batch_size): the converter computes the Flatten's
    target shape at run time, SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE, as in MobileNetV3's head
    (dead code for the engine, pipeline/aot/compile/lower.py _shape_only), and a SHAPE output."""
    import aot_zoo
    L = _keras().layers
    x = inp = L.Input((6, 5, 3))
    import tensorflow as tf
    x = L.Conv2D(4, 3, padding="same", **aot_zoo._init(231))(x)
    shape = _tf_lambda(lambda v: tf.shape(v), "shape")(x)          # a live SHAPE: an int32 output
    x = L.Reshape((-1,))(x)
    return inp, [L.Dense(5, **aot_zoo._init(233))(x), shape]


def _one_op(op: str, in_shape: tuple, out_shape: tuple) -> bytes:
    """A one-operator model built by hand (the converter folds or rewrites these ops when shapes are
    static): int8 in and out, scale 0.05 / zero point 3 on both."""
    import numpy as np

    from pipeline.aot.ops.lut_table import one_op_model
    from pipeline.tflite import BUILTIN_OPS, Operator, Quantization, Tensor
    q = Quantization(np.array([0.05], np.float32), np.array([3]), 0)
    x = Tensor(0, "x", in_shape, "int8", 0, None, q)
    y = Tensor(1, "y", out_shape, "int8", 0, None, q)
    return one_op_model(Operator(0, op, BUILTIN_OPS.index(op), 1, (0,), (1,)), {}, x, y, pad=4096)


ZOO: dict[str, Callable] = {
    "movement_squeeze": lambda: _one_op("SQUEEZE", (1, 5, 1, 7), (5, 7)),
    "movement_zeros_like": lambda: _one_op("ZEROS_LIKE", (1, 5, 7), (1, 5, 7)),
    "movement_free_batch": _free_batch, "movement_slices": _slices, "movement_gathers": _gathers,
                            "movement_stacks": _stacks}
