"""Zoo models for the heavy op family (pipeline/aot/ops/heavy.py), merged into aot_zoo.ZOO: each is
checked bit-exact against tflite_micro on the host build and in QEMU (M4; M7 and M55 in the slow set)."""
from __future__ import annotations

from collections.abc import Callable


def _upsample():
    """U-Net decoder steps: TRANSPOSE_CONV stride 2 SAME with bias (3x3, odd output 9 from 5:
    the padding's odd pixel), VALID without bias (2x2), strides (2, 1), fused RELU6 / RELU."""
    from aot_zoo import _init, _layers
    L = _layers()
    x = inp = L.Input((5, 4, 3), batch_size=1)
    a = L.Conv2DTranspose(4, 3, strides=2, padding="same", **_init(101))(x)
    b = L.Conv2DTranspose(2, 2, strides=2, padding="valid", use_bias=False, **_init(103))(x)
    c = L.Conv2DTranspose(3, (3, 2), strides=(2, 1), padding="valid", **_init(105))(a)
    # the converter fuses these activations into TRANSPOSE_CONV (RELU6, RELU)
    r = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu6", **_init(107))(b)
    r = L.Conv2DTranspose(2, 2, strides=2, padding="valid", activation="relu", **_init(109))(r)
    return inp, [a, b, c, r] + _resizes(c)


def _resizes(x):
    """RESIZE_BILINEAR in its three coordinate modes: half-pixel centers (what UpSampling2D and
    Resizing emit), align_corners and neither (tf.compat.v1, through a Lambda)."""
    import tensorflow as tf
    from aot_zoo import _layers
    L = _layers()
    v1 = tf.compat.v1.image.resize_bilinear
    return [L.UpSampling2D(interpolation="bilinear")(x), L.Resizing(7, 9)(x),
            L.Lambda(lambda t: v1(t, (13, 5), align_corners=True))(x),
            L.Lambda(lambda t: v1(t, (5, 3), align_corners=False, half_pixel_centers=False))(x)]


def _attention():
    """Attention's two activation x activation products (Q.K^T with adj_y, P.V), a constant
    right-hand side with its own batch dim (stays BATCH_MATMUL; a 2-D constant becomes
    FULLY_CONNECTED) and a batch dim that broadcasts."""
    import numpy as np
    from aot_zoo import _layers
    from pipeline.keras_api import keras3
    L, ops = _layers(), keras3().ops
    q = inp_q = L.Input((2, 5, 8), batch_size=1)
    k = inp_k = L.Input((2, 6, 8), batch_size=1)
    s = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))               # [1, 2, 5, 6]
    p = L.Softmax()(s)
    v = ops.matmul(p, k)                                            # [1, 2, 5, 8]
    w = np.random.default_rng(7).normal(0, 0.5, (2, 8, 3)).astype("float32")
    c = ops.matmul(q, w)                                            # constant rhs [2, 8, 3]
    k1 = inp_k1 = L.Input((1, 6, 8), batch_size=1)
    b = ops.matmul(q, ops.transpose(k1, (0, 1, 3, 2)))              # rhs batch 1 broadcasts over 2
    return [inp_q, inp_k, inp_k1], [v, c, b, _encoder_head(k1)]


def _encoder_head(t):
    """One transformer attention head with its residual, from ops the engine has (no LayerNorm:
    its SQUARED_DIFFERENCE / RSQRT belong to other families): FULLY_CONNECTED on a [1, 1, 6, 8]
    sequence (keep_num_dims) for Q, K, V and the output projection, Q.K^T / sqrt(d), SOFTMAX, P.V, ADD."""
    from aot_zoo import _init, _layers
    from pipeline.keras_api import keras3
    L, ops = _layers(), keras3().ops
    q, k, v = (L.Dense(8, **_init(121 + 2 * i))(t) for i in range(3))
    p = L.Softmax()(ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * (8 ** -0.5))
    return L.Dense(8, **_init(127))(ops.matmul(p, v)) + t


def _norms():
    """A classifier head's LOG_SOFTMAX (keras.ops.log_softmax) over 6 and over 40 values (wide
    inputs: the diffs below diff_min are skipped) and L2_NORMALIZATION (tf.math.l2_normalize on the
    last axis, which the converter fuses; Keras' UnitNormalization stays SQUARE/SUM/RSQRT)."""
    import tensorflow as tf
    from aot_zoo import _init, _layers
    from pipeline.keras_api import keras3
    L, ops = _layers(), keras3().ops
    x = inp = L.Input((3, 8), batch_size=1)
    d = L.Dense(6, **_init(111))(x)
    w = L.Dense(40, **_init(113))(L.Dense(12, **_init(115))(x))
    return inp, [ops.log_softmax(d, axis=-1), ops.log_softmax(w * 4.0, axis=-1),
                 L.Lambda(lambda t: tf.math.l2_normalize(t, axis=-1))(d)]


ZOO: dict[str, Callable] = {"heavy_upsample": _upsample, "heavy_attention": _attention, "heavy_norms": _norms}
