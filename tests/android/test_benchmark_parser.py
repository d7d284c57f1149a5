"""benchmark_model output -> numbers, on real outputs published by users (fixtures/sources.md)."""
from __future__ import annotations

import pytest

from pipeline.android import benchmark
from pipeline.errors import DeviceError

from .helpers import FIXTURES, fixture_text


def parse(name: str) -> dict:
    return benchmark.parse(fixture_text("benchmark_model", name))


def test_every_fixture_names_its_source():
    for path in sorted((FIXTURES / "benchmark_model").glob("*.txt")):
        assert path.read_text().startswith("# source: "), path.name
        assert path.name in (FIXTURES / "sources.md").read_text()


def test_android_2020_output_tf42507():
    r = parse("tf42507_android_espcn.txt")
    assert r["format"] == "current"
    assert (r["init_us"], r["first_inference_us"], r["warmup_avg_us"], r["inference_avg_us"]) == \
        (855.0, 49060.0, 34825.1, 33209.4)
    assert r["warmup"] == {"count": 15, "first": 49060.0, "curr": 33682.0, "min": 32825.0, "max": 49060.0,
                           "avg": 34825.1, "std": 3930.0}
    assert r["inference"]["count"] == 50 and r["inference"]["min"] == 32641.0 and r["inference"]["std"] == 450.0
    assert r["memory_mb"] == {"init_delta": 0.0, "overall_delta": 12.8672}
    assert r["threads"] == 4 and r["graph"] == "/data/local/tmp/espcn_harmonic_2x_slim_w_cl.tflite"
    assert r["model_size_mb"] == 0.004448


def test_info_prefixed_output_tf73862():
    r = parse("tf73862_linux_mobilenet_info.txt")
    assert r["inference"] == {"count": 74, "first": 14850.0, "curr": 13315.0, "min": 13105.0, "max": 15765.0,
                              "avg": 13520.2, "std": 470.0}
    assert r["warmup"]["count"] == 37 and r["init_us"] == 12750.0 and r["first_inference_us"] == 14744.0
    assert r["delegates"] == ["xnnpack"]
    assert r["memory_mb"] == {}  # the paste stops before the memory lines


def test_op_profiling_tables_are_not_timings_xnnpack999():
    r = parse("xnnpack999_rpi_int8.txt")
    assert r["warmup"]["count"] == 9 and r["inference"]["count"] == 50
    assert r["inference"]["avg"] == 55043.2 and r["inference"]["max"] == 60727.0
    assert r["memory_mb"] == {"init_delta": 8.97656, "overall_delta": 18.7227}
    assert r["threads"] == 4 and r["delegates"] == ["xnnpack"]


def test_2018_format_yuenshome77():
    r = parse("yuenshome77_android_legacy.txt")
    assert r["format"] == "legacy"
    assert (r["init_us"], r["warmup_avg_us"], r["inference_avg_us"]) == (9933.0, 76605.9, 66767.6)
    assert r["first_inference_us"] == 127425.0  # the warm-up's first run
    assert r["inference"]["count"] == 15 and r["inference"]["std"] == 39.0


def test_peak_memory_line_chromeos_tast():
    r = parse("chromeos_tast_peak_lines.txt")
    assert r["inference"]["count"] == 1061 and r["warmup"]["count"] == 9
    assert r["memory_mb"]["peak"] == 93.2383
    assert benchmark.memory_section([r]) == {"peak_rss_bytes": round(93.2383 * 1024 * 1024)}


def test_latency_section_pools_runs_and_takes_the_median_of_averages():
    runs = [parse("tf42507_android_espcn.txt"), parse("xnnpack999_rpi_int8.txt"),
            parse("tf73862_linux_mobilenet_info.txt")]
    lat = benchmark.latency_section(runs)
    assert lat["unit"] == "us" and lat["inputs"] == 3 and lat["runs"] == 50 and lat["warmup"] == 15
    assert lat["median"] == 33209.4
    assert lat["min"] == 13105.0 and lat["max"] == 60727.0
    n = 50 + 50 + 74
    assert lat["mean"] == pytest.approx((33209.4 * 50 + 55043.2 * 50 + 13520.2 * 74) / n)
    assert lat["std"] > 15000  # dominated by the spread between runs, not inside them
    assert lat["comparable"] is True and "benchmark_model" in lat["note"]
    assert benchmark.memory_section(runs) is None  # deltas are not a peak


def test_all_same_stat_line():
    text = ("Running benchmark for at least 1 iterations\ncount=1 curr=5000\n\n"
            "Running benchmark for at least 1 iterations\ncount=3 curr=4000(all same)\n")
    r = benchmark.parse(text)
    assert r["inference"] == {"count": 3, "curr": 4000.0, "first": 4000.0, "min": 4000.0, "max": 4000.0,
                              "avg": 4000.0, "std": 0.0}


def test_failed_run_is_a_one_line_device_error():
    text = ("STARTING!\nGraph: [/data/local/tmp/pipeline/x.tflite]\n"
            "ERROR: Could not open '/data/local/tmp/pipeline/x.tflite'.\nBenchmarking failed.\n")
    with pytest.raises(DeviceError, match=r"no inference timings \(ERROR: Could not open") as err:
        benchmark.parse(text)
    assert "\n" not in str(err.value)


def test_crlf_from_old_adb_shell_parses_the_same():
    """adb shell without the v2 shell protocol (Android < 7) turns \\n into \\r\\n."""
    text = fixture_text("benchmark_model", "tf42507_android_espcn.txt")
    assert benchmark.parse(text.replace("\n", "\r\n")) == benchmark.parse(text)
