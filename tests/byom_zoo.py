"""A zoo of ordinary user models for the bring-your-own-model tests (issue #23).

Test data, not product. Each entry is a small PyTorch architecture of a kind users bring
(MobileNetV2/V3-style, U-Net-style, GRU, LSTM, TransformerEncoderLayer, Conv1d + GELU, MLP), on a
small learnable synthetic task (so int8-vs-float accuracy means something), trained for a few
seconds with a fixed seed, then exported the ways users export: `torch.onnx.export` (opset 17,
TorchScript exporter) and `torch.export.save` (.pt2). `write(name, dir)` writes
`<name>.onnx`, `<name>.pt2` and `<name>.npz` (x_train, y_train, x_test, y_test in the model's own
per-sample shape). Everything is deterministic (seeded data, seeded init, one thread).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

CLASSES = 4
N_TRAIN, N_TEST = 800, 400  # 400 test samples: one sample is 0.25 pt, the 2 pt budget is 8 samples


# --------------------------------------------------------------------------- tasks

def _images(rng, n, c=3, hw=16):
    """Class k = which quadrant holds a bright 4x4 blob (on noise)."""
    y = rng.integers(0, CLASSES, n)
    x = rng.normal(0, 0.3, (n, c, hw, hw)).astype(np.float32)
    h = hw // 2
    for i, k in enumerate(y):
        r0, c0 = (k // 2) * h + rng.integers(0, h - 4), (k % 2) * h + rng.integers(0, h - 4)
        x[i, :, r0:r0 + 4, c0:c0 + 4] += 1.5
    return x, y


def _sequences(rng, n, t=10, f=8):
    """[T, F] = [10, 8]: class k = which pair of features carries a slow sine (others noise).
    10 steps, not 24: an unrolled recurrent net converts in about 3 s per step on 2 cores."""
    y = rng.integers(0, CLASSES, n)
    x = rng.normal(0, 0.5, (n, t, f)).astype(np.float32)
    steps = np.arange(t)
    for i, k in enumerate(y):
        x[i, :, 2 * k:2 * k + 2] += np.sin(steps * 0.5 + rng.uniform(0, 6.28))[:, None] * 1.5
    return x, y


def _signals(rng, n, length=64):
    """[1, L]: class k = frequency of a noisy sine (2, 4, 6 or 8 periods per window)."""
    y = rng.integers(0, CLASSES, n)
    steps = np.arange(length) / length
    phase = rng.uniform(0, 6.28, n)[:, None]
    x = np.sin(2 * np.pi * (2 + 2 * y[:, None]) * steps + phase) + rng.normal(0, 0.4, (n, length))
    return x[:, None, :].astype(np.float32), y


def _features(rng, n, f=20):
    """[F]: class = argmax of a fixed random linear map (seed 1) of the features."""
    w = np.random.default_rng(1).normal(0, 1, (f, CLASSES))
    x = rng.normal(0, 1, (n, f)).astype(np.float32)
    return x, np.argmax(x @ w, axis=1)


TASKS = {"images": _images, "sequences": _sequences, "signals": _signals, "features": _features}


def task_data(task: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Standardised with the training split's scalar mean/std, so the data stage's own
    normalisation (the same two numbers) leaves the inputs the model was trained on."""
    make = TASKS[task]
    x_tr, y_tr = make(np.random.default_rng(seed), N_TRAIN)
    x_te, y_te = make(np.random.default_rng(seed + 100), N_TEST)
    mean, std = float(x_tr.astype(np.float64).mean()), float(x_tr.astype(np.float64).std())
    x_tr = ((x_tr - mean) / std).astype(np.float32)
    x_te = ((x_te - mean) / std).astype(np.float32)
    return {"x_train": x_tr, "y_train": y_tr.astype(np.int64), "x_test": x_te, "y_test": y_te.astype(np.int64)}


# --------------------------------------------------------------------------- architectures

def _cbr(cin, cout, k=3, s=1, groups=1, act=nn.ReLU6):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), act())


class InvertedResidual(nn.Module):
    def __init__(self, c, expand=2):
        super().__init__()
        h = c * expand
        self.body = nn.Sequential(_cbr(c, h, 1), _cbr(h, h, 3, groups=h),
                                  nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def mobilenet_v2():
    return nn.Sequential(_cbr(3, 16, 3, 2), InvertedResidual(16), _cbr(16, 24, 3, 2), InvertedResidual(24),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, CLASSES))


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // r, 1), nn.ReLU(),
                                nn.Conv2d(c // r, c, 1), nn.Hardsigmoid())

    def forward(self, x):
        return x * self.fc(x)


class V3Block(nn.Module):
    def __init__(self, c, expand=2):
        super().__init__()
        h = c * expand
        self.body = nn.Sequential(_cbr(c, h, 1, act=nn.Hardswish), _cbr(h, h, 3, groups=h, act=nn.Hardswish),
                                  SqueezeExcite(h), nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


def mobilenet_v3():
    return nn.Sequential(_cbr(3, 16, 3, 2, act=nn.Hardswish), V3Block(16), _cbr(16, 24, 3, 2, act=nn.Hardswish),
                         V3Block(24), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(24, CLASSES))


class UNet(nn.Module):
    """Encoder-decoder classifier: ConvTranspose2d and nearest Upsample back up, skip concats."""

    def __init__(self):
        super().__init__()
        self.e1 = _cbr(3, 8, act=nn.ReLU)
        self.e2 = _cbr(8, 16, 3, 2, act=nn.ReLU)
        self.e3 = _cbr(16, 16, 3, 2, act=nn.ReLU)
        self.up3 = nn.ConvTranspose2d(16, 16, 2, 2)
        self.d2 = _cbr(32, 8, act=nn.ReLU)
        self.up2 = nn.Upsample(scale_factor=2, mode="nearest")
        self.d1 = _cbr(16, 8, act=nn.ReLU)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, CLASSES))

    def forward(self, x):
        a = self.e1(x)
        b = self.e2(a)
        c = self.e3(b)
        d = self.d2(torch.cat([self.up3(c), b], 1))
        return self.head(self.d1(torch.cat([self.up2(d), a], 1)))


class Recurrent(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = cell(8, 16, batch_first=True)
        self.fc = nn.Linear(16, CLASSES)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def gru():
    return Recurrent(nn.GRU)


def lstm():
    return Recurrent(nn.LSTM)


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(8, 16)
        self.enc = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.fc = nn.Linear(16, CLASSES)

    def forward(self, x):
        return self.fc(self.enc(self.proj(x)).mean(1))


def conv1d_gelu():
    return nn.Sequential(nn.Conv1d(1, 8, 5, 2, 2), nn.GELU(), nn.Conv1d(8, 16, 5, 2, 2), nn.GELU(),
                         nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(16, CLASSES))


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, CLASSES))


def mlp_silu():
    return nn.Sequential(nn.Linear(20, 32), nn.SiLU(), nn.LayerNorm(32), nn.Linear(32, CLASSES))


@dataclass(frozen=True)
class Entry:
    factory: object
    task: str
    epochs: int
    dynamic_batch: bool = False


ZOO: dict[str, Entry] = {
    "mobilenet_v2": Entry(mobilenet_v2, "images", 6),
    "mobilenet_v3": Entry(mobilenet_v3, "images", 6),
    "unet": Entry(UNet, "images", 6),
    "gru": Entry(gru, "sequences", 15),
    "lstm": Entry(lstm, "sequences", 15),
    "transformer": Entry(Transformer, "sequences", 10),
    "conv1d_gelu": Entry(conv1d_gelu, "signals", 10),
    "mlp": Entry(mlp, "features", 30),
    "mlp_silu_dynamic": Entry(mlp_silu, "features", 30, dynamic_batch=True),
}


# --------------------------------------------------------------------------- train + export

def train(name: str, seed: int = 0) -> tuple[nn.Module, dict[str, np.ndarray], float]:
    """(trained eval-mode module, its task data, float test accuracy)."""
    entry = ZOO[name]
    data = task_data(entry.task, seed)
    torch.manual_seed(seed)
    model = entry.factory()
    opt = torch.optim.AdamW(model.parameters(), 1e-2)
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    gen = torch.Generator().manual_seed(seed)
    for _ in range(entry.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 32):
            b = perm[i:i + 32]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(data["x_test"])).argmax(1).numpy() == data["y_test"]).mean())
    return model, data, acc


def export(name: str, model: nn.Module, sample_shape: tuple[int, ...], out: Path) -> dict[str, Path]:
    entry = ZOO[name]
    out.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros((2 if entry.dynamic_batch else 1, *sample_shape))
    paths = {"onnx": out / f"{name}.onnx", "pt2": out / f"{name}.pt2"}
    dyn = {"input": {0: "batch"}, "logits": {0: "batch"}} if entry.dynamic_batch else None
    torch.onnx.export(model, (dummy,), str(paths["onnx"]), opset_version=17, dynamo=False,
                      input_names=["input"], output_names=["logits"], dynamic_axes=dyn)
    shapes = (({0: torch.export.Dim("batch", min=1, max=1024)},) if entry.dynamic_batch else None)
    ep = torch.export.export(model, (dummy,), dynamic_shapes=shapes)
    torch.export.save(ep, str(paths["pt2"]))
    return paths


def write(name: str, out: Path, seed: int = 0) -> dict:
    """Train `name`, write its .onnx, .pt2 and .npz into `out`; returns paths and float accuracy."""
    torch.set_num_threads(1)
    t = time.perf_counter()
    model, data, acc = train(name, seed)
    train_s = time.perf_counter() - t
    paths = export(name, model, data["x_train"].shape[1:], Path(out))
    npz = Path(out) / f"{name}.npz"
    np.savez(npz, **data)
    return {**paths, "npz": npz, "float_accuracy": acc, "train_s": round(train_s, 2), "module": model}


# --------------------------------------------------------------------------- Keras equivalents

def _keras_models():
    from pipeline.keras_api import keras3

    L = keras3().layers

    def cnn():  # MobileNetV2-style: expand, depthwise, project, residual; [H, W, C]
        x = inp = L.Input((16, 16, 3))
        x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(16, 3, 2, padding="same", use_bias=False)(x)))
        y = L.ReLU(6.0)(L.Conv2D(32, 1)(x))
        y = L.ReLU(6.0)(L.DepthwiseConv2D(3, padding="same")(y))
        x = L.Add()([x, L.Conv2D(16, 1)(y)])
        x = L.GlobalAveragePooling2D()(x)
        return inp, L.Dense(CLASSES)(x)

    def gru():  # unroll=True: a fixed-length loop of plain ops (no WHILE, which int8 cannot calibrate)
        x = inp = L.Input((10, 8))
        return inp, L.Dense(CLASSES)(L.GRU(16, unroll=True)(x))

    def conv1d_gelu():  # [L, C] = [64, 1]
        x = inp = L.Input((64, 1))
        x = L.Conv1D(8, 5, 2, padding="same", activation="gelu")(x)
        x = L.Conv1D(16, 5, 2, padding="same", activation="gelu")(x)
        return inp, L.Dense(CLASSES)(L.GlobalAveragePooling1D()(x))

    def mlp():
        x = inp = L.Input((20,))
        return inp, L.Dense(CLASSES)(L.Dense(32, activation="relu")(x))

    return {"keras_cnn": (cnn, "images"), "keras_gru": (gru, "sequences"),
            "keras_conv1d_gelu": (conv1d_gelu, "signals"), "keras_mlp": (mlp, "features")}


KERAS_ZOO = ("keras_cnn", "keras_gru", "keras_conv1d_gelu", "keras_mlp")
KERAS_FORMATS = {"keras_cnn": ".keras", "keras_gru": ".h5", "keras_conv1d_gelu": ".keras", "keras_mlp": "savedmodel"}


def _channels_last(data: dict, task: str) -> dict:
    """The same task in Keras' layout: images [H, W, C], signals [L, C]."""
    if task in ("images", "signals"):
        data = {k: (np.ascontiguousarray(np.moveaxis(v, 1, -1)) if k.startswith("x_") else v) for k, v in data.items()}
    return data


def write_keras(name: str, out: Path, seed: int = 0) -> dict:
    """Train the Keras model `name` (seeded, a few epochs), save it as KERAS_FORMATS says."""
    from pipeline.keras_api import keras3

    keras = keras3()
    keras.utils.set_random_seed(seed)
    make, task = _keras_models()[name]
    data = _channels_last(task_data(task, seed), task)
    inp, outp = make()
    model = keras.Model(inp, outp)
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    t = time.perf_counter()
    model.fit(data["x_train"], data["y_train"], batch_size=32, epochs=12, verbose=0)
    train_s = time.perf_counter() - t
    acc = float((model.predict(data["x_test"], verbose=0).argmax(1) == data["y_test"]).mean())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fmt = KERAS_FORMATS[name]
    path = out / name if fmt == "savedmodel" else out / f"{name}{fmt}"
    if fmt == "savedmodel":
        model.export(str(path), verbose=False)
    else:
        model.save(str(path))
    npz = out / f"{name}.npz"
    np.savez(npz, **data)
    return {"keras": path, "npz": npz, "float_accuracy": acc, "train_s": round(train_s, 2)}
