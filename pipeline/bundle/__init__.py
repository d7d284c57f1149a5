"""The deployable Linux bundle: model + preprocessing + runner + benchmark harness + install.sh.

The bundle never imports `pipeline`: everything it needs is rendered from `templates/` here and
runs with plain python3 + numpy + ai-edge-litert (or tflite-runtime) on the board.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
import io
import json
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from ..atomic import sha256_file, write_bytes, write_json, write_text
from ..errors import PipelineError

LITERT_VERSION = "2.3.0"
# The full aarch64 cp311 closure of ai-edge-litert 2.3.0 as resolved on 2026-11-23 (pip download
# --platform manylinux_2_27_aarch64 ...): pinned so online and offline installs agree.
PINS: tuple[tuple[str, str], ...] = (
    ("ai-edge-litert", LITERT_VERSION),
    ("numpy", "2.4.6"),
    ("backports.strenum", "1.2.8"),
    ("flatbuffers", "25.12.19"),
    ("ml_dtypes", "0.6.0"),
    ("protobuf", "7.36.2"),
    ("tqdm", "4.70.1"),
    ("typing_extensions", "4.16.0"),
)
# tar entries get this mtime (2020-01-01) so the same inputs give the same bundle.tar.gz bytes.
FIXED_MTIME = 1577836800
SCRIPTS = ("runner.py", "bench.py", "install.sh")


def _env() -> Environment:
    return Environment(loader=PackageLoader("pipeline.bundle", "templates"), undefined=StrictUndefined,
                       keep_trailing_newline=True, autoescape=False)


def render(name: str, **values: Any) -> str:
    """Render templates/<name>.j2."""
    return _env().get_template(f"{name}.j2").render(**values)


def requirements_text() -> str:
    return render("requirements.txt", pins=PINS)


def write_runner(dest_dir: Path, target_id: str = "any") -> Path:
    """Just runner.py (what `pipeline run` executes), with no bundle around it."""
    return write_text(Path(dest_dir) / "runner.py", render("runner.py", layout="any", target_id=target_id))


@functools.lru_cache(maxsize=1)
def runner_module():
    """The rendered runner.py imported on the host: `pipeline run` checks inputs and runs the host
    target with the very code that runs on the board."""
    tmp = Path(tempfile.mkdtemp(prefix="pipeline-runner-"))
    try:
        spec = importlib.util.spec_from_file_location("pipeline_bundle_runner", write_runner(tmp))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return module


def check_run_inputs(model: Path, inputs: Path, outputs: Path) -> tuple[list[dict], list[dict]]:
    """PipelineError (one line) unless X fits the model; returns its input and output details."""
    model, inputs, outputs = Path(model), Path(inputs), Path(outputs)
    for path in (model, inputs):
        if not path.is_file():
            raise PipelineError(f"{path}: no such file")
    if inputs.suffix not in (".npy", ".npz") or outputs.suffix not in (".npy", ".npz"):
        raise PipelineError("inputs and outputs must be .npy or .npz files")
    ins, outs = model_io(model)
    if len(outs) > 1 and outputs.suffix != ".npz":
        raise PipelineError(f"{model.name} has {len(outs)} outputs: give an .npz outputs file")
    runner = runner_module()
    try:
        runner.check_batch(runner._load_inputs(str(inputs), ins), ins, str(inputs))
    except runner.UsageError as err:
        raise PipelineError(str(err)) from None
    except (OSError, ValueError) as err:
        raise PipelineError(f"{inputs}: cannot read: {err}") from None
    return ins, outs


def model_io(model: Path) -> tuple[list[dict], list[dict]]:
    """Input and output tensor details of a .tflite file, read with the host LiteRT."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from ..tflite import read_model

    # Our bounds-checked reader first: LiteRT's own parser is not made for hostile files.
    read_model(Path(model))
    try:
        interp = Interpreter(model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    except (ValueError, RuntimeError) as err:
        raise PipelineError(f"{model}: not a loadable TFLite model: {err}") from None
    return interp.get_input_details(), interp.get_output_details()


def _transpose_for(sample_shape: tuple[int, ...], model_shape: tuple[int, ...]) -> list[int] | None:
    """Permutation taking a batch in the dataset layout to the model's layout (None: same layout)."""
    if sample_shape == model_shape:
        return None
    rank = len(sample_shape) + 1
    perm = [0, *range(2, rank), 1]  # channels first -> channels last
    if tuple(sample_shape[p - 1] for p in perm[1:]) == model_shape:
        return perm
    raise PipelineError(f"dataset sample shape {list(sample_shape)} fits neither the model input "
                        f"{list(model_shape)} nor its channels-first form")


def build(out_dir: Path, *, model_int8: Path, dataset: Path, meta: dict[str, Any], target_id: str,
          model_float: Path | None = None, threads: int = 1, warmup: int = 5, runs: int = 20,
          n_inputs: int = 5, kernels: str = "reference") -> dict[str, Any]:
    """Write the bundle into out_dir/bundle and out_dir/bundle.tar.gz; returns the bundle's meta."""
    bundle = Path(out_dir) / "bundle"
    bundle.mkdir(parents=True, exist_ok=True)
    with np.load(dataset, allow_pickle=False) as z:
        if "x_test" not in z or "y_test" not in z:
            raise PipelineError(f"{dataset}: needs arrays x_test and y_test (has {', '.join(z.keys())})")
        x_test = np.ascontiguousarray(z["x_test"], dtype=np.float32)
        y_test = np.ascontiguousarray(z["y_test"]).astype(np.int64)
    ins, outs = model_io(model_int8)
    if len(ins) != 1 or len(outs) != 1:
        raise PipelineError(f"{model_int8}: the bundle expects one input and one output "
                            f"(has {len(ins)} and {len(outs)})")
    inp = ins[0]
    model_shape = tuple(int(s) for s in inp["shape"][1:])
    sample_shape = tuple(int(s) for s in x_test.shape[1:])
    transpose = _transpose_for(sample_shape, model_shape)
    scale, zero_point = inp["quantization"]
    norm = meta.get("normalization") or {}
    labels = list(meta.get("labels") or [str(i) for i in range(int(np.prod(outs[0]["shape"])))])
    layout = str(meta.get("layout") or ("NCHW" if len(sample_shape) == 3 else "NCL"))
    preprocess = {
        "model": "model_int8.tflite",
        "layout": layout,
        "sample_shape": list(sample_shape),
        "transpose": transpose,
        "model_input_shape": [int(s) for s in inp["shape"]],
        "input_dtype": np.dtype(inp["dtype"]).name,
        "input_scale": float(scale),
        "input_zero_point": int(zero_point),
        "mean": norm.get("mean", 0.0),
        "std": norm.get("std", 1.0),
        "output_scale": float(outs[0]["quantization"][0]),
        "output_zero_point": int(outs[0]["quantization"][1]),
    }
    write_bytes(bundle / "model_int8.tflite", Path(model_int8).read_bytes())
    if model_float is not None:
        write_bytes(bundle / "model_float.tflite", Path(model_float).read_bytes())
    write_json(bundle / "labels.json", labels)
    write_json(bundle / "preprocess.json", preprocess)
    for name, arr in (("test_x.npy", x_test), ("test_y.npy", y_test)):
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        write_bytes(bundle / name, buf.getvalue())
    values = dict(target_id=target_id, layout=layout, warmup=warmup, runs=runs, n_inputs=n_inputs,
                  threads=threads, kernels=kernels, install_dir="/opt/pipeline/bundle",
                  model="model_int8.tflite", float_model="model_float.tflite" if model_float else "",
                  n_classes=len(labels), n_test=len(x_test))
    for name in (*SCRIPTS, "pipeline-bench.service", "README.md"):
        write_text(bundle / name, render(name, **values))
    write_text(bundle / "requirements.txt", requirements_text())
    for name in SCRIPTS:
        (bundle / name).chmod(0o755)
    tarball(bundle, Path(out_dir) / "bundle.tar.gz")
    files = sorted(p for p in bundle.rglob("*") if p.is_file())
    return {"bundle": "bundle", "tarball": "bundle.tar.gz", "n_test": int(len(x_test)),
            "labels": labels, "preprocess": preprocess,
            "files": {p.relative_to(bundle).as_posix(): sha256_file(p) for p in files}}


def tarball(src: Path, dest: Path, arcname: str = "bundle") -> Path:
    """Deterministic .tar.gz of src: sorted entries, fixed mtime/owner, regular files and dirs only."""
    src = Path(src)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in [src, *sorted(src.rglob("*"), key=lambda p: p.relative_to(src).as_posix())]:
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise PipelineError(f"{path}: bundles hold regular files and directories only")
            rel = path.relative_to(src).as_posix()
            info = tarfile.TarInfo(arcname if rel == "." else f"{arcname}/{rel}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = FIXED_MTIME, 0, 0, "", ""
            if path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = path.stat().st_size
                info.mode = 0o755 if path.stat().st_mode & 0o100 else 0o644
                with open(path, "rb") as f:
                    tar.addfile(info, f)
    out = io.BytesIO()
    # mtime=0 and no file name in the gzip header: the same tar gives the same .gz bytes
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return write_bytes(dest, out.getvalue())


def load_meta(bundle_dir: Path) -> dict[str, Any]:
    return json.loads((Path(bundle_dir) / "preprocess.json").read_text())
