"""Users' own data: `folder:PATH` (a sub-folder of images per class) and `npz:PATH` (arrays)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ..errors import PipelineError
from .dataset import RawData

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".tif", ".tiff", ".webp"}


def npz(spec: str) -> RawData:
    path = Path(spec.split(":", 1)[1]).expanduser()
    if not path.is_file():
        raise PipelineError(f"dataset '{spec}': file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in z.files]
            if missing:
                raise PipelineError(
                    f"dataset '{spec}': missing arrays {missing}; an npz dataset needs x_train, y_train, x_test, y_test"
                    " (optional: labels)"
                )
            arrays = {k: z[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            labels = [str(s) for s in z["labels"].tolist()] if "labels" in z.files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise PipelineError(f"dataset '{spec}': not a readable .npz file ({type(err).__name__}: {err})") from None
    return RawData(name=path.stem, labels=labels, source=f"npz:{path}", **arrays)


def folder(spec: str, image_size: tuple[int, int] | None = None) -> RawData:
    root = Path(spec.split(":", 1)[1]).expanduser()
    if not root.is_dir():
        raise PipelineError(f"dataset '{spec}': not a directory: {root}")
    if (root / "train").is_dir() and (root / "test").is_dir():
        labels = _class_names(spec, root / "train")
        x_train, y_train = _load_split(spec, root / "train", labels, image_size)
        x_test, y_test = _load_split(spec, root / "test", labels, image_size)
    else:
        labels = _class_names(spec, root)
        x_train, y_train = _load_split(spec, root, labels, image_size)
        x_test = y_test = None  # split here, stratified and seeded
    return RawData(name=root.name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                   labels=labels, source=f"folder:{root}")


def _class_names(spec: str, root: Path) -> list[str]:
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise PipelineError(f"dataset '{spec}': {root} has no class sub-folders (expected {root}/<class>/<image>)")
    return names


def _load_split(spec: str, root: Path, labels: list[str], image_size: tuple[int, int] | None):
    from PIL import Image, UnidentifiedImageError

    images, ys, first = [], [], None
    for cls_index, cls in enumerate(labels):
        cls_dir = root / cls
        if not cls_dir.is_dir():
            raise PipelineError(f"dataset '{spec}': class '{cls}' has no folder in {root}")
        for f in sorted(cls_dir.iterdir()):
            if f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(f) as im:
                    im.load()
                    mode = "L" if im.mode in ("1", "L", "I", "I;16", "F", "P") and _is_grey(im) else "RGB"
                    im = im.convert(mode)
                    if image_size:
                        im = im.resize((image_size[1], image_size[0]))
                    arr = np.asarray(im, dtype=np.float32)
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
                raise PipelineError(f"dataset '{spec}': unreadable image {f}: {err}") from None
            if first is None:
                first = (f, arr.shape)
            elif arr.shape != first[1]:
                raise PipelineError(
                    f"dataset '{spec}': mixed image sizes: {first[0]} is {first[1]} but {f} is {arr.shape};"
                    " set [data] image_size = [H, W] to resize"
                )
            images.append(arr)
            ys.append(cls_index)
    if not images:
        raise PipelineError(f"dataset '{spec}': no images found under {root}")
    return np.stack(images), np.asarray(ys, dtype=np.int64)


def _is_grey(im) -> bool:
    if im.mode != "P":
        return True
    rgb = np.asarray(im.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
