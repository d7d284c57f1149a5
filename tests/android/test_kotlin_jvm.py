"""The app's shipped Kotlin, compiled with the system kotlinc and run on this host's JVM.

The package stage renders Model.kt, Preprocess.kt, Postprocess.kt and ReportWriter.kt for the tiny
real int8 model; Classifier.kt and OnDeviceAccuracyTest.kt call them, so these are the files the
app runs. Here they are compiled (with only the Kotlin stdlib on the classpath) together with a test
driver (fixtures/kotlin/Driver.kt.j2) and fed the same inputs as the host's `prepare`,
`normalize`, dequantize and argmax: the bytes they write must be identical, and the report JSON
they write must be one that `pipeline bench --device adb` reads into a valid standard report.

Only the LiteRT call stays untested here (Classifier.scores' interpreter.run, with the Android
asset loading and the ByteBuffer copies around it): it needs a phone.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from pipeline.adapters import android as adapter
from pipeline.android import phone
from pipeline.android import project as proj
from pipeline.android.spec import host_top1, normalize, prepare
from pipeline.atomic import sha256_file
from pipeline.convert.describe import dequantize
from pipeline.errors import PipelineError
from pipeline.report.io import schema, validate
from pipeline.stages.report import make_report

from .kotlin_jvm import Driver
from .test_adb_recorded_device import phone_rules

pytestmark = pytest.mark.slow  # each module-scoped jar is one kotlinc 1.3 run (tens of seconds here)

PKG = proj.DEFAULT_PACKAGE.replace(".", "/")
MAIN_DIR = f"app/src/main/java/{PKG}"


@pytest.fixture(scope="module")
def kt(packaged, tmp_path_factory):
    """The plain files exactly as the package stage wrote them, compiled once for this module."""
    return Driver(packaged.dir / "android" / MAIN_DIR, proj.DEFAULT_PACKAGE, tmp_path_factory.mktemp("kotlin"))


@pytest.fixture(scope="module")
def per_channel(packaged, tiny, tmp_path_factory):
    """The same model packaged with one mean / std per channel (the tiny data set has one for all)."""
    spec = {**packaged.meta["preprocess"]}
    spec["normalization"] = {**spec["normalization"], "mean": [0.375, 0.625], "std": [0.2, 0.3]}
    root = tmp_path_factory.mktemp("per-channel")
    proj.write_project(root / "android", model=tiny["model"], spec=spec, x_test=tiny["x_test"],
                       y_test=tiny["y_test"], host_top1=np.zeros(len(tiny["y_test"])), target_id="android-arm64")
    return spec, Driver(root / "android" / MAIN_DIR, proj.DEFAULT_PACKAGE, root)


def _f32(path, x) -> None:
    path.write_bytes(np.ascontiguousarray(x, "<f4").tobytes())


def _edge_inputs(spec: dict) -> np.ndarray:
    """Normalised samples on the quantiser's edges: exact half steps (both signs), exact steps,
    +-0, and values far outside the int8 range, padded to whole samples."""
    scale, zp = np.float32(spec["input"]["scale"]), spec["input"]["zero_point"]
    k = np.arange(-140 - zp, 141 - zp, dtype=np.float32)
    values = np.concatenate([(k + np.float32(0.5)) * scale, k * scale, [0.0, -0.0, 1e6, -1e6, 3e38, -3e38]])
    size = int(np.prod(spec["input_shape"]))
    values = np.resize(values.astype(np.float32), -(-values.size // size) * size)
    return values.reshape(-1, *spec["input_shape"])


def _host_outputs(model, q: np.ndarray) -> np.ndarray:
    """The int8 outputs of this host's LiteRT (reference kernels) for prepared int8 inputs."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(model), experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    i_idx, o_idx = interp.get_input_details()[0]["index"], interp.get_output_details()[0]["index"]
    out = []
    for n in range(len(q)):
        interp.set_tensor(i_idx, q[n:n + 1])
        interp.invoke()
        out.append(interp.get_tensor(o_idx).reshape(-1).copy())
    return np.stack(out).astype(np.int8)


def _post(kt, tmp_path, q: np.ndarray, k: int = 3):
    (tmp_path / "out.i8").write_bytes(q.astype(np.int8).tobytes())
    kt("post", tmp_path / "out.i8", tmp_path / "scores.f32", tmp_path / "top1.i32", tmp_path / "topk.i32", k)
    return ((tmp_path / "scores.f32").read_bytes(), np.frombuffer((tmp_path / "top1.i32").read_bytes(), "<i4"),
            np.frombuffer((tmp_path / "topk.i32").read_bytes(), "<i4").reshape(len(q), -1))


# ----------------------------------------------------------------------------- preprocessing: bytes

def test_kotlin_prepare_bytes_equal_host_prepare_on_the_test_set(kt, packaged, tiny, tmp_path):
    spec = packaged.meta["preprocess"]
    _f32(tmp_path / "x.f32", tiny["x_test"])
    kt("prepare", tmp_path / "x.f32", tmp_path / "q.i8")
    assert (tmp_path / "q.i8").read_bytes() == prepare(tiny["x_test"], spec).tobytes()


def test_kotlin_prepare_bytes_equal_host_prepare_on_rounding_and_clamping_edges(kt, packaged, tmp_path):
    spec = packaged.meta["preprocess"]
    x = _edge_inputs(spec)
    with np.errstate(over="ignore"):  # +-3e38 / scale is +-inf on purpose: it must clamp, not wrap
        expected = prepare(x, spec)
        # The inputs can tell the rounding rules apart: half-to-even and plain floor(v + 0.5) differ here.
        v = x.transpose(0, 2, 3, 1).astype(np.float32) / np.float32(spec["input"]["scale"])
    zp = spec["input"]["zero_point"]
    assert not np.array_equal(np.clip(np.round(v) + zp, -128, 127).astype(np.int8), expected)
    assert not np.array_equal(np.clip(np.floor(v + np.float32(0.5)) + zp, -128, 127).astype(np.int8), expected)
    assert expected.min() == -128 and expected.max() == 127  # both clamps are reached
    _f32(tmp_path / "x.f32", x)
    kt("prepare", tmp_path / "x.f32", tmp_path / "q.i8")
    assert (tmp_path / "q.i8").read_bytes() == expected.tobytes()


def test_kotlin_classify_path_normalizes_raw_samples_like_the_host(kt, packaged, tiny, tmp_path):
    spec = packaged.meta["preprocess"]
    _f32(tmp_path / "raw.f32", tiny["x_raw_test"])
    kt("normalize", tmp_path / "raw.f32", tmp_path / "x.f32")
    assert (tmp_path / "x.f32").read_bytes() == normalize(tiny["x_raw_test"], spec).astype("<f4").tobytes()
    kt("prepare", tmp_path / "x.f32", tmp_path / "q.i8")  # then Classifier.scores quantises it
    assert (tmp_path / "q.i8").read_bytes() == prepare(normalize(tiny["x_raw_test"], spec), spec).tobytes()


def test_kotlin_normalize_per_channel_equals_host(per_channel, tiny, tmp_path):
    spec, kt2 = per_channel
    _f32(tmp_path / "raw.f32", tiny["x_raw_test"])
    kt2("normalize", tmp_path / "raw.f32", tmp_path / "x.f32")
    expected = normalize(tiny["x_raw_test"], spec).astype("<f4")
    assert not np.allclose(expected[:, 0], (tiny["x_raw_test"][:, 0] - 0.625) / 0.3)  # channel 0 uses its own stats
    assert (tmp_path / "x.f32").read_bytes() == expected.tobytes()


# ----------------------------------------------------------------------------- postprocessing: bytes

def test_kotlin_postprocess_of_real_outputs_reproduces_the_host_top1(kt, packaged, tiny, tmp_path):
    spec = packaged.meta["preprocess"]
    q = _host_outputs(tiny["model"], prepare(tiny["x_test"], spec))
    scores, top1, top3 = _post(kt, tmp_path, q)
    host_scores = dequantize(q, spec["output"]["scale"], spec["output"]["zero_point"]).astype("<f4")
    assert scores == host_scores.tobytes()
    np.testing.assert_array_equal(top1, host_top1(tiny["model"], tiny["x_test"], spec))
    np.testing.assert_array_equal(top3, np.argsort(-host_scores, axis=1, kind="stable"))


def test_kotlin_postprocess_breaks_ties_like_numpy(kt, packaged, tmp_path):
    spec = packaged.meta["preprocess"]
    rng = np.random.default_rng(1)
    q = np.concatenate([rng.integers(-1, 2, (300, 3)), [[-128] * 3, [127] * 3, [-128, 127, 127]]]).astype(np.int8)
    scores, top1, top2 = _post(kt, tmp_path, q, k=2)
    host_scores = dequantize(q, spec["output"]["scale"], spec["output"]["zero_point"]).astype("<f4")
    assert scores == host_scores.tobytes()
    np.testing.assert_array_equal(top1, host_scores.argmax(axis=1))  # the first maximum
    np.testing.assert_array_equal(top2, np.argsort(-host_scores, axis=1, kind="stable")[:, :2])
    assert (host_scores == host_scores.max(axis=1, keepdims=True)).sum(axis=1).max() > 1  # ties were there


# ----------------------------------------------------------------------------- the report JSON

DEVICE_NAME = 'Acme "Phone" 7\\pro\tß ✓\x01'  # quotes, backslash, tab, non-ASCII, a control character


def _kotlin_report(kt, packaged, tiny, work, disagree: int):
    """The report ReportWriter writes for the test set, given the app's top-1 of the real outputs
    and a host whose answers differ on the first `disagree` samples."""
    spec = packaged.meta["preprocess"]
    _, top1, _ = _post(kt, work, _host_outputs(tiny["model"], prepare(tiny["x_test"], spec)))
    host = host_top1(tiny["model"], tiny["x_test"], spec).copy()
    host[:disagree] = (host[:disagree] + 1) % 3
    latency = np.random.default_rng(2).lognormal(4.0, 0.5, len(top1))
    for name, arr in (("top1.i32", top1), ("y.i32", tiny["y_test"]), ("host.i32", host)):
        (work / name).write_bytes(np.asarray(arr, "<i4").tobytes())
    (work / "lat.f64").write_bytes(latency.astype("<f8").tobytes())
    kt("report", work / "top1.i32", work / "y.i32", work / "host.i32", work / "lat.f64", 3, 7,
       DEVICE_NAME, "arm64-v8a", 34, work / proj.REPORT_FILE)
    return {"path": work / proj.REPORT_FILE, "top1": top1, "latency": latency}


@pytest.fixture(scope="module")
def kotlin_report(kt, packaged, tiny, tmp_path_factory):
    """7 samples where the host disagrees: agreement must be 0.93."""
    return _kotlin_report(kt, packaged, tiny, tmp_path_factory.mktemp("report"), disagree=7)


def test_kotlin_report_holds_the_numbers(kotlin_report, packaged, tiny):
    spec = packaged.meta["preprocess"]
    report = json.loads(kotlin_report["path"].read_text(encoding="utf-8"))
    top1, lat, n = kotlin_report["top1"], kotlin_report["latency"], len(tiny["y_test"])
    assert report["schema"] == "pipeline-android-run/1" and report["status"] == "complete"
    assert report["generated_from"] == report["model"]["sha256"] == sha256_file(tiny["model"])
    assert report["model"] == {"sha256": spec["model_sha256"], "bytes": spec["model_bytes"], "quantization": "int8",
                               "input_shape": spec["model_input_shape"], "output_shape": spec["output"]["shape"]}
    assert report["device"] == {"kind": "physical", "name": DEVICE_NAME, "arch": "arm64-v8a", "transport": "adb",
                                "android_sdk": 34}
    assert report["runtime"] == {"name": "litert", "version": proj.VERSIONS["litert"], "engine": "interpreter-cpu",
                                 "threads": 3}
    assert report["accuracy"] == {"metric": "top1", "value": float(np.mean(top1 == tiny["y_test"])), "n": n,
                                  "agreement": {"host": 0.93}}
    latency = report["latency"]
    assert (latency["unit"], latency["warmup"], latency["runs"], latency["inputs"]) == ("us", 7, n, n)
    assert (latency["min"], latency["max"]) == (lat.min(), lat.max())  # Double.toString round-trips
    for key, value in (("median", np.percentile(lat, 50)), ("p90", np.percentile(lat, 90)),
                       ("mean", lat.mean()), ("std", lat.std())):
        assert latency[key] == pytest.approx(value, rel=1e-12), key  # summation order may differ by an ulp
    assert latency["comparable"] is True


def test_kotlin_report_sections_validate_against_report_v1(kotlin_report):
    report = json.loads(kotlin_report["path"].read_text(encoding="utf-8"))
    defs = schema()["$defs"]
    # The phone's device section also says android_sdk; bench replaces that section with adb's own.
    sections = {**report, "device": {k: v for k, v in report["device"].items() if k != "android_sdk"}}
    for name in ("model", "device", "runtime", "latency", "accuracy"):
        errors = list(Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": defs}).iter_errors(sections[name]))
        assert errors == [], (name, [e.message for e in errors])


def test_kotlin_report_is_read_by_bench_into_a_valid_report(kotlin_report, kt, recorded_device, tiny, packaged,
                                                             make_ctx, tmp_path, monkeypatch):
    """The phone half of `pipeline bench --device adb`, with the fake adb serving the Kotlin's report."""
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake arm64 binary")
    monkeypatch.setenv(phone.ENV_BENCHMARK_MODEL, str(binary))
    recorded_device.rules(phone_rules(tmp_path, sha=sha256_file(tiny["model"])))
    # The report above (7 of 100 top-1 answers unlike the host's) fails the bench: never a pass below 1.0.
    (tmp_path / "phone-report.json").write_bytes(kotlin_report["path"].read_bytes())  # what `run-as cat` returns
    with pytest.raises(PipelineError, match="differs from this host's LiteRT on 7 of 100 test inputs"):
        adapter.bench(make_ctx("bench-disagreeing", device="adb"), {**tiny["inputs"], "package": packaged})
    (tmp_path / "agreeing").mkdir()
    agreeing = _kotlin_report(kt, packaged, tiny, tmp_path / "agreeing", disagree=0)
    (tmp_path / "phone-report.json").write_bytes(agreeing["path"].read_bytes())
    ctx = make_ctx("bench", device="adb")
    bench = adapter.bench(ctx, {**tiny["inputs"], "package": packaged}).meta
    report = json.loads(agreeing["path"].read_text(encoding="utf-8"))
    assert report["accuracy"]["agreement"] == {"host": 1.0}
    assert bench["app_run"] == report
    assert bench["accuracy"] == report["accuracy"]
    full = make_report(ctx.target, bench, {}, {}, bench["model"], config_hash="0" * 16, dataset_hash="1" * 16)
    validate(full, "android report from the Kotlin ReportWriter")
