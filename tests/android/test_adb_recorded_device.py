"""`--device adb`: exact adb command lines and one-line errors, against a recorded device.

No phone can be had here: a fake `adb` first on PATH logs its argument lists and replays outputs
recorded from real adb / benchmark_model runs (fixtures/sources.md). Test names say
`recorded_device` because that is all they prove: we drive adb correctly for those outputs.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.adapters import android as adapter
from pipeline.android import adb as adb_mod
from pipeline.android import phone
from pipeline.android.project import REPORT_FILE
from pipeline.atomic import sha256_file
from pipeline.errors import DeviceError, PipelineError
from pipeline.report.io import validate
from pipeline.stages.report import make_report

from .helpers import FIXTURES

ADB = FIXTURES / "adb"
BM = FIXTURES / "benchmark_model"
SERIAL = "emulator-5554"
RUNNER = "dev.pipeline.classifier.test/androidx.test.runner.AndroidJUnitRunner"


def devices(name: str) -> dict:
    return {"match": ["devices", "-l"], "stdout_file": str(ADB / name)}


def phone_rules(tmp_path, instrument="am_instrument_ok_documented_format.txt", sha="0" * 64,
                agreement: float = 1.0) -> list[dict]:
    report = json.loads((ADB / "phone_report_synthetic.json").read_text())
    report["generated_from"] = sha
    report["accuracy"]["agreement"]["host"] = agreement
    (tmp_path / "phone-report.json").write_text(json.dumps(report))
    return [
        devices("devices_l_one_emulator_fastlane14287.txt"),
        {"match": ["getprop ro.product.manufacturer"], "stdout_file": str(ADB / "getprop_manufacturer.txt")},
        {"match": ["getprop ro.product.model"], "stdout_file": str(ADB / "getprop_model.txt")},
        {"match": ["getprop ro.build.version.release"], "stdout_file": str(ADB / "getprop_release.txt")},
        {"match": ["getprop ro.product.cpu.abi"], "stdout_file": str(ADB / "getprop_abi.txt")},
        {"match": ["shell", "benchmark_model", "--graph="], "stdout_file": str(BM / "tf42507_android_espcn.txt")},
        {"match": ["shell", "am", "instrument"], "stdout_file": str(ADB / instrument)},
        {"match": ["exec-out", "run-as", REPORT_FILE], "stdout_file": str(tmp_path / "phone-report.json")},
    ]


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


# ----------------------------------------------------------------------------- device selection

def test_recorded_device_the_only_phone_is_chosen(recorded_device):
    recorded_device.rules([devices("devices_l_one_emulator_fastlane14287.txt")])
    handle = adb_mod.select("adb")
    assert handle.serial == SERIAL and handle.entry.model == "Android SDK built for x86"
    assert recorded_device.calls() == [["devices", "-l"]]


def test_recorded_device_no_device(recorded_device):
    recorded_device.rules([devices("devices_none_recorded_here.txt")])
    with pytest.raises(DeviceError) as err:
        adb_mod.select(None)
    assert "no Android device found" in one_line(err) and "USB debugging" in one_line(err)


def test_recorded_device_unauthorized(recorded_device):
    recorded_device.rules([devices("devices_unauthorized_flutter358.txt")])
    with pytest.raises(DeviceError) as err:
        adb_mod.select("adb")
    assert "8XV5000A20007972 is unauthorized" in one_line(err)
    assert "Allow USB debugging" in one_line(err)


def test_recorded_device_several_phones_need_a_serial(recorded_device):
    recorded_device.rules([devices("devices_four_flutter10293.txt")])
    with pytest.raises(PipelineError) as err:
        adb_mod.select("adb")
    assert "4 Android devices are connected" in one_line(err) and "--device adb://SERIAL" in one_line(err)
    assert adb_mod.select("adb://fc74d864").serial == "fc74d864"
    with pytest.raises(DeviceError, match="emulator-5556 is unauthorized"):
        adb_mod.select("adb://emulator-5556")
    with pytest.raises(DeviceError, match=r"'nope' not found by adb \(connected: emulator-5558, fc74d864"):
        adb_mod.select("adb://nope")


def test_recorded_device_unauthorized_beside_a_ready_one(recorded_device):
    recorded_device.rules([devices("devices_l_unauthorized_and_ready_expo2677.txt")])
    with pytest.raises(PipelineError, match="2 Android devices"):
        adb_mod.select("adb")
    assert adb_mod.select(f"adb://{SERIAL}").entry.props["transport_id"] == "1"
    with pytest.raises(DeviceError, match="984e71340418728d is unauthorized"):
        adb_mod.select("adb://984e71340418728d")


def test_no_adb_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PipelineError) as err:
        adb_mod.select("adb")
    assert "required tool 'adb' not found; install it with: apt-get install -y adb" == one_line(err)


def test_bad_device_spec_is_refused():
    with pytest.raises(PipelineError, match="adb or adb://SERIAL"):
        adb_mod.serial_from_device("usb://x")


# ----------------------------------------------------------------------------- command lines

def test_shell_arguments_are_quoted_one_by_one():
    a = adb_mod.Adb("adb", "192.168.1.5:5555")
    assert a.shell_argv("ls", "/sdcard/a b;rm -rf /", "$HOME") == \
        ["adb", "-s", "192.168.1.5:5555", "shell", "ls", "'/sdcard/a b;rm -rf /'", "'$HOME'"]
    assert a.push_argv("/tmp/my model.tflite", "/data/local/tmp/x") == \
        ["adb", "-s", "192.168.1.5:5555", "push", "/tmp/my model.tflite", "/data/local/tmp/x"]


def test_benchmark_model_not_given(monkeypatch, tmp_path):
    monkeypatch.delenv(phone.ENV_BENCHMARK_MODEL, raising=False)
    with pytest.raises(PipelineError) as err:
        phone.benchmark_model_path({})
    assert "benchmark_model not given" in one_line(err) and "never downloads" in one_line(err)
    with pytest.raises(PipelineError, match="benchmark_model '.*missing' not found"):
        phone.benchmark_model_path({"benchmark_model": str(tmp_path / "missing")})


def test_recorded_device_bench_runs_the_exact_commands(recorded_device, tiny, packaged, make_ctx, tmp_path,
                                                       monkeypatch):
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake arm64 binary")
    monkeypatch.setenv(phone.ENV_BENCHMARK_MODEL, str(binary))
    sha = sha256_file(tiny["model"])
    recorded_device.rules(phone_rules(tmp_path, sha=sha))
    ctx = make_ctx("bench", device=f"adb://{SERIAL}")
    art = adapter.bench(ctx, {**tiny["inputs"], "package": packaged})

    model = str(tiny["model"])
    bench_cmd = ["shell", "/data/local/tmp/pipeline/benchmark_model", "--graph=/data/local/tmp/pipeline/model_int8.tflite",
                 "--num_threads=4", "--warmup_runs=5", "--warmup_min_secs=0", "--num_runs=20", "--min_secs=0",
                 "--use_xnnpack=true", "--report_peak_memory_footprint=true"]
    s = ["-s", SERIAL]
    assert recorded_device.calls() == [
        ["devices", "-l"],
        [*s, "shell", "getprop", "ro.product.manufacturer"],
        [*s, "shell", "getprop", "ro.product.model"],
        [*s, "shell", "getprop", "ro.build.version.release"],
        [*s, "shell", "getprop", "ro.product.cpu.abi"],
        [*s, "shell", "mkdir", "-p", "/data/local/tmp/pipeline"],
        [*s, "push", str(binary), "/data/local/tmp/pipeline/benchmark_model"],
        [*s, "shell", "chmod", "755", "/data/local/tmp/pipeline/benchmark_model"],
        [*s, "push", model, "/data/local/tmp/pipeline/model_int8.tflite"],
        *[[*s, *bench_cmd]] * 5,  # config bench.inputs = 5 repeats
        [*s, "shell", "run-as", "dev.pipeline.classifier", "rm", "-f", f"files/{REPORT_FILE}"],
        [*s, "shell", "am", "instrument", "-w", "-e", "class", "dev.pipeline.classifier.OnDeviceAccuracyTest",
         "-e", "threads", "4", "-e", "warmup", "5", RUNNER],
        [*s, "exec-out", "run-as", "dev.pipeline.classifier", "cat", f"files/{REPORT_FILE}"],
    ]
    bench = json.loads((ctx.out_dir / "bench.json").read_text())
    assert art.meta == bench
    assert bench["device"] == {"kind": "physical", "name": "Google Pixel 7 (Android 14)", "arch": "arm64-v8a",
                               "transport": "adb"}
    assert bench["runtime"] == {"name": "litert", "engine": "cpu", "threads": 4}
    lat = bench["latency"]
    assert (lat["unit"], lat["runs"], lat["inputs"], lat["warmup"]) == ("us", 50, 5, 15)
    assert (lat["min"], lat["median"], lat["max"], lat["mean"], lat["std"]) == (32641.0, 33209.4, 34005.0, 33209.4, 450.0)
    assert lat["comparable"] is True
    assert bench["benchmark_model"]["init_us"] == 855.0 and bench["benchmark_model"]["first_inference_us"] == 49060.0
    assert bench["accuracy"] == {"metric": "top1", "value": 0.97, "n": 100, "agreement": {"host": 1.0}}
    assert "memory" not in bench  # this tool version printed only deltas, not a peak
    # ... and it makes a valid standard report
    report = make_report(ctx.target, bench, {}, {}, bench["model"], config_hash="0" * 16, dataset_hash="1" * 16)
    validate(report, "android adb report")
    assert report["status"] == "complete" and report["latency"]["median"] == 33209.4


def test_recorded_device_bench_fails_when_the_phone_disagrees_with_the_host(recorded_device, tiny, packaged,
                                                                           make_ctx, tmp_path, monkeypatch):
    """Recorded phone (mock: no phone here) whose app reports 3 of 100 top-1 answers unlike the host's."""
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"\x7fELF fake arm64 binary")
    monkeypatch.setenv(phone.ENV_BENCHMARK_MODEL, str(binary))
    recorded_device.rules(phone_rules(tmp_path, sha=sha256_file(tiny["model"]), agreement=0.97))
    ctx = make_ctx("bench", device=f"adb://{SERIAL}")
    with pytest.raises(PipelineError) as err:
        adapter.bench(ctx, {**tiny["inputs"], "package": packaged})
    assert one_line(err).startswith("the phone's top-1 differs from this host's LiteRT on 3 of 100 test inputs")
    assert not (ctx.out_dir / "bench.json").exists()


def test_recorded_device_bench_without_the_test_apk_keeps_latency(recorded_device, tiny, packaged, make_ctx,
                                                                   tmp_path, monkeypatch):
    binary = tmp_path / "benchmark_model"
    binary.write_bytes(b"x")
    monkeypatch.setenv(phone.ENV_BENCHMARK_MODEL, str(binary))
    rules = phone_rules(tmp_path, instrument="am_instrument_not_installed_owncloud1661.txt")
    rules.insert(0, {"match": ["run-as", "rm"], "stdout": "run-as: unknown package: dev.pipeline.classifier\n", "rc": 1})
    rules[6] = {"match": ["shell", "benchmark_model", "--graph="], "stdout_file": str(BM / "chromeos_tast_peak_lines.txt")}
    recorded_device.rules(rules)
    ctx = make_ctx("bench", device="adb")
    bench = adapter.bench(ctx, {**tiny["inputs"], "package": packaged}).meta
    assert "accuracy" not in bench and "installDebugAndroidTest" in bench["notes"][0]
    assert bench["memory"] == {"peak_rss_bytes": round(93.2383 * 1024 * 1024)}
    assert bench["runtime"]["engine"] == "xnnpack" and bench["latency"]["runs"] == 1061
    assert not any("exec-out" in c for c in recorded_device.calls())


def test_recorded_device_benchmark_model_missing_fails_before_touching_the_phone(recorded_device, tiny, packaged,
                                                                                 make_ctx, monkeypatch):
    monkeypatch.delenv(phone.ENV_BENCHMARK_MODEL, raising=False)
    recorded_device.rules([devices("devices_l_one_emulator_fastlane14287.txt")])
    with pytest.raises(PipelineError, match="benchmark_model not given"):
        adapter.bench(make_ctx("bench", device="adb"), {**tiny["inputs"], "package": packaged})
    assert recorded_device.calls() == [["devices", "-l"]]


def test_recorded_device_app_built_from_another_model(recorded_device, tmp_path):
    recorded_device.rules(phone_rules(tmp_path, sha="a" * 64)[6:])
    with pytest.raises(DeviceError) as err:
        phone.run_accuracy(adb_mod.Adb("adb", SERIAL), "dev.pipeline.classifier", 1, 1, "build/x/android", 60,
                           model_sha256="b" * 64)
    assert "generated from model aaaaaaaaaaaa, not this build's bbbbbbbbbbbb" in one_line(err)


def test_recorded_device_failing_test_is_a_device_error(recorded_device, tmp_path):
    recorded_device.rules([{"match": ["am", "instrument"],
                            "stdout": "\nOnDeviceAccuracyTest:E\nTime: 1.2\nThere was 1 failure:\n1) bundledTestSet\n"
                                      "java.lang.IllegalArgumentException: model input shape [1, 4, 4, 3] != [1, 4, 4, 2]\n"
                                      "\nFAILURES!!!\nTests run: 1,  Failures: 1\n"}])
    with pytest.raises(DeviceError) as err:
        phone.run_accuracy(adb_mod.Adb("adb", SERIAL), "dev.pipeline.classifier", 1, 1, "build/x/android", 60)
    assert "IllegalArgumentException: model input shape" in one_line(err)


# ----------------------------------------------------------------------------- pipeline run

def test_recorded_device_run_model(recorded_device, tiny, android_target, tmp_path):
    x = np.arange(3 * 32, dtype=np.int16).reshape(3, 4, 4, 2).astype(np.int8)  # model dtype and layout
    np.save(tmp_path / "x.npy", x)
    y_bytes = np.array([[1, -2, 3], [4, 5, -6], [7, 8, 9]], np.int8).tobytes()
    (tmp_path / "y.bin").write_bytes(y_bytes)
    remote = "/sdcard/Android/data/dev.pipeline.classifier/files/pipeline-run"
    recorded_device.rules([
        devices("devices_l_one_emulator_fastlane14287.txt"),
        {"match": ["am", "instrument"], "stdout": "\ndev.pipeline.classifier.RawRunTest:.\n\nTime: 0.3\n\nOK (1 test)\n"},
        {"match": ["exec-out", "cat", f"{remote}/output.bin"], "stdout_file": str(tmp_path / "y.bin")},
    ])
    adapter.run_model(android_target, tiny["model"], tmp_path / "x.npy", tmp_path / "y.npy", "adb", {})
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.int8 and y.shape == (3, 3) and y.tobytes() == y_bytes
    calls = recorded_device.calls()
    s = ["-s", SERIAL]
    assert calls[1:5] == [[*s, "shell", "mkdir", "-p", remote],
                          [*s, "shell", "rm", "-f", f"{remote}/output.bin"],
                          [*s, "push", str(tiny["model"]), f"{remote}/model.tflite"],
                          [*s, "push", str(tmp_path / ".y.npy.input.bin"), f"{remote}/input.bin"]]
    assert calls[5] == [*s, "shell", "am", "instrument", "-w", "-e", "class", "dev.pipeline.classifier.RawRunTest",
                        "-e", "model", f"{remote}/model.tflite", "-e", "input", f"{remote}/input.bin",
                        "-e", "output", f"{remote}/output.bin", "-e", "count", "3", "-e", "threads", "1", RUNNER]
    assert not (tmp_path / ".y.npy.input.bin").exists()


def test_recorded_device_run_model_checks_inputs_first(recorded_device, tiny, android_target, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 2, 4, 4), np.float32))  # channels-first float: not the model's
    recorded_device.rules([devices("devices_l_one_emulator_fastlane14287.txt")])
    with pytest.raises(PipelineError, match=r"takes int8 \[N, 4, 4, 2\]"):
        adapter.run_model(android_target, tiny["model"], tmp_path / "x.npy", tmp_path / "y.npy", "adb", {})
    assert recorded_device.calls() == [["devices", "-l"]]


def test_recorded_device_run_model_without_the_app(recorded_device, tiny, android_target, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 4, 4, 2), np.int8))
    recorded_device.rules([devices("devices_l_one_emulator_fastlane14287.txt"),
                           {"match": ["am", "instrument"],
                            "stdout_file": str(ADB / "am_instrument_not_installed_owncloud1661.txt")}])
    with pytest.raises(DeviceError) as err:
        adapter.run_model(android_target, tiny["model"], tmp_path / "x.npy", tmp_path / "y.npy", "adb", {})
    assert "./gradlew installDebug installDebugAndroidTest" in one_line(err)
    assert not (tmp_path / "y.npy").exists()


def test_other_devices_are_refused(android_target, tiny, tmp_path):
    with pytest.raises(PipelineError, match="emulator | adb | adb://SERIAL"):
        adapter.run_model(android_target, tiny["model"], tmp_path / "x.npy", tmp_path / "y.npy", "qemu", {})
