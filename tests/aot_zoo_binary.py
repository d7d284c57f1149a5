"""Zoo models for the binary op family (pipeline/aot/ops/binary.py), merged into aot_zoo.ZOO: each is
checked bit-exact against tflite_micro on the host build and in QEMU (M4; M7 and M55 in the slow set)."""
from __future__ import annotations

from collections.abc import Callable


def _tf_op(fn, name: str, output_shape=None):
    """A TensorFlow op the Keras 3 API does not emit (tf.math.squared_difference, tf.where as
    SELECT_V2, argmax with an int32 output), as a Lambda layer: the TF backend traces it into the
    converted graph."""
    from pipeline.keras_api import keras3
    return keras3().layers.Lambda(fn, name=name, output_shape=output_shape)


def _arith():
    """SUB (two activations of different scales, broadcast, a constant), MAXIMUM, MINIMUM, PRELU
    (per-channel alpha) and SQUARED_DIFFERENCE."""
    import tensorflow as tf

    from aot_zoo import _init, _layers
    L = _layers()
    x = inp = L.Input((6, 5, 4), batch_size=1)
    a = L.Conv2D(4, 3, padding="same", **_init(101))(x)
    b = L.Conv2D(4, 1, **_init(103))(x)
    g = L.GlobalAveragePooling2D(keepdims=True)(b)
    d = L.Subtract()([a, b])                                  # SUB, two scales
    e = L.Subtract()([a, g])                                  # SUB, broadcast over H, W
    mx = L.Maximum()([a, b])
    mn = L.Minimum()([d, e])
    pr = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras_init(105))(d)
    sd = _tf_op(lambda t: tf.math.squared_difference(t[0], t[1]), "sqdiff")([a, e])
    c = L.Concatenate()([d, e, mx, mn, pr, sd, x - 0.25])     # SUB with a constant
    return inp, c


def keras_init(seed: int):
    from pipeline.keras_api import keras3
    return keras3().initializers.RandomUniform(-1.0, 1.0, seed=seed)


def _compare_select():
    """Five comparisons between activations of different scales (one broadcast, one against a
    constant), each feeding a SELECT_V2, and DIV (tf.where: keras.ops.where converts to SELECT, which TFLite
    Micro lacks), with broadcast and constant branches; the model's output int8."""
    import tensorflow as tf

    from aot_zoo import _init, _layers
    from pipeline.keras_api import keras3
    L, ops = _layers(), keras3().ops
    x = inp = L.Input((3, 8), batch_size=1)
    a = L.Dense(8, **_init(111))(x)
    b = L.Dense(8, **_init(113))(x)
    r = L.Dense(1, **_init(115))(x)                           # broadcast along the last axis

    def where(name, cond, t, f):
        if isinstance(f, float):  # a constant branch: a flash array of the SELECT_V2
            return _tf_op(lambda z: tf.where(z[0], z[1], f), name, (3, 8))([cond, t])
        return _tf_op(lambda z: tf.where(z[0], z[1], z[2]), name, (3, 8))([cond, t, f])
    # the converter emits SELECT (not in TFLite Micro) when no operand broadcasts, so each has one
    # that does (r) or a constant; it keeps NOT_EQUAL float, so NOT_EQUAL has no int8 model here
    outs = [where("w_gt", ops.greater(a, b), a, r), where("w_ge", ops.greater_equal(a, r), r, x),
            where("w_lt", ops.less(x, b), b, -0.5), where("w_le", ops.less_equal(a, 0.5), r, a),
            where("w_eq", ops.equal(a, b), a, r),
            # MAXIMUM ties its output's quantization to a's, so about half the elements are equal
            where("w_eq2", ops.equal(a, ops.maximum(a, r)), b, r)]
    # DIV by a divisor in [1, 2] (never its zero point, where TFLM's DIV is undefined)
    outs.append(a / (L.Activation("sigmoid")(b) + 1.0))
    return inp, L.Concatenate()(outs)


def _reductions():
    """REDUCE_MAX / REDUCE_MIN / SUM over one axis and a block of axes (keepdims and not), and
    ARG_MAX / ARG_MIN with int32 outputs (the only kind TFLite Micro runs)."""
    import tensorflow as tf

    from aot_zoo import _init, _layers
    from pipeline.keras_api import keras3
    L, ops = _layers(), keras3().ops
    x = inp = L.Input((5, 6, 4), batch_size=1)
    y = L.Conv2D(4, 3, padding="same", **_init(121))(x)
    mx = ops.max(y, axis=(1, 2), keepdims=True)
    mn = ops.min(y, axis=2, keepdims=True)
    sm = ops.sum(y, axis=(1, 2), keepdims=True)
    s1 = ops.sum(x, axis=1)
    am = _tf_op(lambda t: tf.math.argmax(t, axis=-1, output_type=tf.int32), "argmax")(y)
    an = _tf_op(lambda t: tf.math.argmin(t, axis=1, output_type=tf.int32), "argmin")(x)
    return inp, [L.Reshape((-1,))(L.Concatenate(axis=2)([mx, mx + sm])), mn, s1, am, an]


ZOO: dict[str, Callable] = {"bin_arith": _arith, "bin_compare": _compare_select, "bin_reduce": _reductions}
