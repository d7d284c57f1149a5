"""The report schema and its reader/writer: accept every target kind, reject mistakes in one line."""
from __future__ import annotations

import json
import sys

import pytest
from jsonschema import Draft202012Validator

from pipeline.errors import PipelineError
from pipeline.report.io import build_report, read_report, schema, validate, write_report

from .examples import android, cortex_m, physical_pi, rpi


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(schema())
    assert schema()["properties"]["schema_version"] == {"const": "1"}


@pytest.mark.parametrize("make", [rpi, cortex_m, android, physical_pi])
def test_accepts_every_target_kind(make, tmp_path):
    path = write_report(tmp_path / "r.json", make())
    assert read_report(path) == json.loads(json.dumps(make()))


def test_incomplete_report_needs_only_the_basics(tmp_path):
    report = {"schema_version": "1", "status": "incomplete", "error": "bench: qemu not installed",
              "target": {"id": "rpi4", "kind": "linux-arm"},
              "provenance": {"pipeline_version": "0.1.0", "created_at": "2026-11-23T17:00:00Z"}}
    validate(report)
    del report["error"]
    with pytest.raises(PipelineError, match=r"^x.json: error: missing required field$"):
        validate(report, "x.json")


def _one_line_error(tmp_path, report, name="a.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(report) if not isinstance(report, str) else report)
    with pytest.raises(PipelineError) as info:
        read_report(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message[len(f"{path}: "):]


def test_wrong_type_names_the_field(tmp_path):
    r = rpi()
    r["latency"]["median"] = "x"
    assert _one_line_error(tmp_path, r) == "latency.median: 'x' is not of type 'number'"


def test_typo_is_an_unknown_field_with_a_suggestion(tmp_path):
    r = rpi()
    r["latency"]["medain"] = r["latency"].pop("median")
    msg = _one_line_error(tmp_path, r)
    assert msg.startswith("latency.medain: unknown field; did you mean 'median'?"), msg


def test_top_level_typo(tmp_path):
    r = cortex_m()
    r["memroy"] = r.pop("memory")
    assert _one_line_error(tmp_path, r).startswith("memroy: unknown field; did you mean 'memory'?")


def test_bad_enum_lists_the_allowed_values(tmp_path):
    r = rpi()
    r["latency"]["unit"] = "usec"
    msg = _one_line_error(tmp_path, r)
    assert msg.startswith("latency.unit: 'usec' is not one of cycles, instructions, ms, us"), msg


def test_nested_array_path(tmp_path):
    r = rpi()
    r["quantization_layers"][2]["snr_db"] = "high"
    assert _one_line_error(tmp_path, r).startswith("quantization_layers[2].snr_db: 'high' is not of type")


def test_accuracy_given_in_percent_is_rejected(tmp_path):
    r = rpi()
    r["accuracy"]["value"] = 98.1
    assert _one_line_error(tmp_path, r).startswith("accuracy.value: 98.1 is greater than the maximum of 1")


@pytest.mark.parametrize("mutate, expected", [
    (lambda r: r.update(status="done"), "status: 'done' is not one of complete, incomplete"),
    (lambda r: r["model"].update(sha256="abc"), "model.sha256: 'abc' is not 64 lowercase hex digits"),
    (lambda r: r["provenance"].update(created_at="yesterday"),
     "provenance.created_at: 'yesterday' is not an RFC 3339 timestamp such as 2026-11-23T17:00:00Z"),
    (lambda r: r["memory"].update(sections={"text": -1}), "memory.sections.text: -1 is less than the minimum of 0"),
    (lambda r: r["device"].update(transport="usb"),
     "device.transport: 'usb' is not one of adb, local, pyocd, qemu-system, qemu-user, serial, ssh"),
])
def test_field_messages(tmp_path, mutate, expected):
    r = rpi()
    mutate(r)
    assert _one_line_error(tmp_path, r) == expected


def test_complete_report_without_latency(tmp_path):
    r = cortex_m()
    del r["latency"]
    assert _one_line_error(tmp_path, r) == "latency: missing required field"


@pytest.mark.parametrize("version, expected", [
    ("2", "schema_version: unsupported version '2' (this pipeline reads '1')"),
    (1, "schema_version: unsupported version 1 (this pipeline reads '1')"),
    (None, "schema_version: missing required field (this pipeline reads '1')"),
])
def test_wrong_schema_version(tmp_path, version, expected):
    r = rpi()
    if version is None:
        del r["schema_version"]
    else:
        r["schema_version"] = version
    assert _one_line_error(tmp_path, r) == expected


@pytest.mark.parametrize("text, expected", [
    ("{not json", "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
    ("[1, 2]", "<root>: expected a JSON object, got list"),
    ('{"schema_version": "1", "x": NaN}', "not valid JSON: NaN is not valid JSON"),
])
def test_not_a_report(tmp_path, text, expected):
    assert _one_line_error(tmp_path, text) == expected


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(PipelineError, match="no such report file"):
        read_report(tmp_path / "nope.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PipelineError, match=r"b.json: not a JSON report \(not UTF-8 text\)"):
        read_report(tmp_path / "b.json")


def test_write_validates_first_and_never_leaves_a_partial_file(tmp_path):
    dest = tmp_path / "report.json"
    write_report(dest, rpi())
    before = dest.read_text()
    bad = rpi()
    bad["device"]["kind"] = "virtual"
    with pytest.raises(PipelineError, match=r"report.json: device.kind: 'virtual' is not one of"):
        write_report(dest, bad)
    assert dest.read_text() == before  # the old report is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temp files left


def test_write_rejects_non_finite_numbers_by_path(tmp_path):
    bad = rpi()
    bad["latency"]["std"] = float("nan")
    with pytest.raises(PipelineError, match=r"r.json: latency.std: nan is not a finite number"):
        write_report(tmp_path / "r.json", bad)
    assert not (tmp_path / "r.json").exists()


def test_write_accepts_numpy_scalars(tmp_path):
    np = pytest.importorskip("numpy")
    r = cortex_m()
    r["latency"]["median"] = np.float32(4_120_000.0)
    r["model"]["params"] = np.int64(22_700)
    r["model"]["input_shape"] = (1, 40, 1)
    write_report(tmp_path / "r.json", r)
    assert read_report(tmp_path / "r.json")["model"]["params"] == 22_700


def test_build_report_fills_version_and_provenance():
    had_torch = "torch" in sys.modules
    r = build_report(target={"id": "host", "kind": "host"}, error="not benchmarked yet", memory=None,
                     provenance={"config_hash": "deadbeef00", "toolchain": {"qemu": "8.2.0"}})
    assert r["schema_version"] == "1" and r["status"] == "incomplete" and "memory" not in r
    prov = r["provenance"]
    assert prov["config_hash"] == "deadbeef00" and prov["toolchain"]["qemu"] == "8.2.0"
    assert {"python", "numpy"} <= set(prov["toolchain"])
    assert prov["pipeline_version"] and prov["created_at"].endswith("Z")
    validate(r)
    assert had_torch or "torch" not in sys.modules  # versions come from metadata, never an import
