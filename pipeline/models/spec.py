"""Serialisable architectures: `spec` dicts, their builders and `save_model` / `load_model`.

A model file (`teacher.pt`, `student.pt`) is one `torch.save` of
    {"format": "pipeline-model/1", "spec": <spec dict>, "state_dict": <tensors>}
so `load_model(path)` rebuilds the exact (possibly pruned / BN-folded) network without any code
outside this package. A spec is plain JSON data:

    {"family": "dscnn", "input_shape": [1, 8, 8], "num_classes": 10, "bn": true,
     "stem": {"channels": 64, "kernel": [3, 3], "stride": [1, 1]}, "kernel": 3,
     "blocks": [{"channels": 64, "stride": 1}, ...]}
    {"family": "cnn1d", ..., "layers": [{"channels": 32, "kernel": 5, "stride": 1}, ...]}
    {"family": "mlp", ..., "hidden": [128, 64]}
    {"family": "resnet2d" | "resnet1d", ..., "stem": {"channels": 32, "kernel": 3}, "kernel": 3,
     "stages": [{"channels": 32, "blocks": 2, "stride": 1}, ...]}

plus optional provenance keys ("width_multiplier", "depth", "pruned_from", "qat") that builders
ignore.
"""
from __future__ import annotations

import copy
import hashlib
import io
import math
import struct
import zipfile
import zlib
from pathlib import Path

import torch
from torch import nn

from ..atomic import atomic_path
from ..errors import PipelineError
from .families import build

FORMAT = "pipeline-model/1"


def build_model(spec: dict) -> nn.Module:
    """A freshly initialised module for `spec`, with `.spec` attached."""
    try:
        model = build(spec)
    except (KeyError, TypeError, ValueError) as err:
        raise PipelineError(f"invalid model spec ({type(err).__name__}: {err})") from None
    model.spec = copy.deepcopy(spec)
    return model


def save_model(module: nn.Module, spec: dict, path: Path | str) -> Path:
    """Write spec + state_dict to `path` atomically (a reader never sees half a file)."""
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "spec": spec, "state_dict": state}, buf)
    with atomic_path(path) as tmp:
        tmp.write_bytes(_reproducible(buf.getvalue()))
    return path


def _reproducible(raw: bytes) -> bytes:
    """torch.save writes a random 40-digit `.data/serialization_id`, so two identical models give
    different bytes (and sha256s in the build manifest). Replace it by digits derived from the
    other records and fix that record's CRC-32 in its local header and the central directory."""
    zf = zipfile.ZipFile(io.BytesIO(raw))
    name = next((n for n in zf.namelist() if n.endswith(".data/serialization_id")), None)
    if name is None:
        return raw
    info = zf.getinfo(name)
    old = zf.read(name)
    digest = hashlib.sha256(b"".join(zf.read(n) for n in zf.namelist() if n != name)).hexdigest()
    new = str(int(digest, 16)).encode()[: len(old)].rjust(len(old), b"0")
    out = bytearray(raw)
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    if info.compress_type != zipfile.ZIP_STORED or bytes(out[start:start + len(old)]) != old:
        return raw  # not the layout we know: keep torch's bytes rather than risk a broken file
    out[start:start + len(old)] = new
    crc = struct.pack("<I", zlib.crc32(new))
    out[info.header_offset + 14:info.header_offset + 18] = crc
    record = raw.rfind(name.encode()) - 46  # its central directory entry (the directory comes last)
    if raw[record:record + 4] != b"PK\x01\x02":
        return raw
    out[record + 16:record + 20] = crc
    return bytes(out)


def load_model(path: Path | str, map_location: str | torch.device = "cpu") -> nn.Module:
    """Rebuild the module saved by `save_model`; returned in eval mode with `.spec` set."""
    path = Path(path)
    if not path.exists():
        raise PipelineError(f"model file not found: {path}")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a bad file
        raise PipelineError(f"{path}: not a readable model file ({type(err).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise PipelineError(f"{path}: not a pipeline model file (expected format {FORMAT})")
    model = build_model(blob["spec"])
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[0] if str(err) else "mismatch"
        raise PipelineError(f"{path}: weights do not match the stored spec ({first})") from None
    model.eval()
    return model


def load_spec(path: Path | str) -> dict:
    return load_model(path).spec


# ---------------------------------------------------------------- spec builders

def _round_ch(c: float, divisor: int = 4, minimum: int = 4) -> int:
    return max(minimum, int(divisor * math.floor(c / divisor + 0.5)))


def teacher_spec(input_shape, num_classes: int, family: str = "auto", width: int = 32) -> dict:
    """The teacher for a dataset: ResNet-style 2-D CNN for images, 1-D ResNet for signals."""
    input_shape = [int(d) for d in input_shape]
    layout = "image" if len(input_shape) == 3 else "signal"
    if family == "auto":
        family = "resnet2d" if layout == "image" else "resnet1d"
    if family == "resnet2d" and layout != "image":
        raise PipelineError(f"teacher family 'resnet2d' needs image inputs [C, H, W]; got {input_shape}")
    if family in ("resnet1d", "cnn1d") and layout != "signal":
        raise PipelineError(f"teacher family '{family}' needs signal inputs [C, L]; got {input_shape}")
    w = int(width)
    base = {"input_shape": input_shape, "num_classes": int(num_classes), "bn": True, "role": "teacher"}
    if family == "cnn1d":
        return {**base, "family": "cnn1d", "layers": [
            {"channels": w, "kernel": 5, "stride": 1}, {"channels": 2 * w, "kernel": 3, "stride": 2},
            {"channels": 2 * w, "kernel": 3, "stride": 1}, {"channels": 4 * w, "kernel": 3, "stride": 2},
            {"channels": 4 * w, "kernel": 3, "stride": 1}]}
    spatial = min(input_shape[1:])
    stages = [{"channels": w, "blocks": 1, "stride": 1}]
    size = spatial
    for mult in (2, 4):
        stride = 2 if size >= 4 else 1
        size = math.ceil(size / stride)
        stages.append({"channels": mult * w, "blocks": 1, "stride": stride})
    return {**base, "family": family, "kernel": 3,
            "stem": {"channels": w, "kernel": 3 if layout == "image" else 5}, "stages": stages}


# Rungs of (width multiplier, depth), smallest first: the fit-to-target ladder.
LADDER: tuple[tuple[float, int], ...] = (
    (0.25, 2), (0.25, 3), (0.5, 3), (0.5, 4), (0.75, 4), (1.0, 4), (1.25, 4), (1.5, 4),
    (1.5, 5), (2.0, 5), (2.5, 5), (3.0, 5), (4.0, 5), (5.0, 6), (6.0, 6), (8.0, 6),
)
BASE_CHANNELS = {"dscnn": 64, "cnn1d": 32, "mlp": 128}


def student_family(input_shape, family: str = "auto") -> str:
    layout = "image" if len(input_shape) == 3 else "signal"
    if family == "auto":
        return "dscnn" if layout == "image" else "cnn1d"
    if family == "dscnn" and layout != "image":
        raise PipelineError(f"student family 'dscnn' needs image inputs [C, H, W]; got {list(input_shape)}")
    if family == "cnn1d" and layout != "signal":
        raise PipelineError(f"student family 'cnn1d' needs signal inputs [C, L]; got {list(input_shape)}")
    return family


def student_spec(input_shape, num_classes: int, family: str = "auto", width_multiplier: float = 1.0,
                 depth: int = 4) -> dict:
    """One student variant. `depth` = DS blocks (dscnn), conv layers (cnn1d) or hidden layers (mlp)."""
    input_shape = [int(d) for d in input_shape]
    family = student_family(input_shape, family)
    depth = max(1, int(depth))
    c = _round_ch(BASE_CHANNELS[family] * float(width_multiplier))
    base = {"family": family, "input_shape": input_shape, "num_classes": int(num_classes), "bn": True,
            "role": "student", "width_multiplier": float(width_multiplier), "depth": depth}
    if family == "mlp":
        return {**base, "hidden": [max(4, c // (2 ** min(i, 2))) for i in range(depth)]}
    if family == "cnn1d":
        # Downsample early (stride 2 from the second layer while the signal is >= 8 long) with
        # kernel 5: the receptive field covers most of the signal, as the teacher's does — a student
        # that cannot see what the teacher sees gains nothing from distillation.
        layers, length = [], input_shape[1]
        for i in range(depth):
            stride = 2 if i >= 1 and length >= 8 else 1
            length = math.ceil(length / stride)
            layers.append({"channels": c, "kernel": 5 if i < depth - 1 else 3, "stride": stride})
        return {**base, "layers": layers}
    # dscnn: MLPerf-Tiny KWS style; big inputs get a strided stem, then stride 2 on every other block
    h, w = input_shape[1:]
    stem_stride = 2 if min(h, w) > 32 else 1
    h, w = math.ceil(h / stem_stride), math.ceil(w / stem_stride)
    blocks = []
    for i in range(depth):
        stride = 2 if i % 2 == 1 and min(h, w) >= 8 else 1
        h, w = math.ceil(h / stride), math.ceil(w / stride)
        blocks.append({"channels": c, "stride": stride})
    return {**base, "kernel": 3, "stem": {"channels": c, "kernel": [3, 3], "stride": [stem_stride, stem_stride]},
            "blocks": blocks}
