"""`pipeline inspect`: exact TFLM arena, JSON output, target fit, and one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.inspect import inspect_command, tflm_min_arena

pytestmark = pytest.mark.slow

INT8_MODELS = ["dscnn", "cnn1d", "mlp", "poolcnn"]


def _tflm(data: bytes, arena: int):
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(data, arena_size=arena)


@pytest.mark.parametrize("name", INT8_MODELS)
def test_arena_is_exact(tiny_models, name):
    m = tiny_models[name]
    n = tflm_min_arena(m.data)
    it = _tflm(m.data, n)                      # N bytes: constructs and runs
    shape = [int(d) for d in it.get_input_details(0)["shape"]]
    it.set_input(np.zeros(shape, np.int8), 0)
    it.invoke()
    with pytest.raises(RuntimeError):          # N-1 bytes: the real interpreter refuses
        _tflm(m.data, n - 1)


def test_arenas_differ_between_models(tiny_models):
    arenas = {name: tflm_min_arena(tiny_models[name].data) for name in INT8_MODELS}
    assert len(set(arenas.values())) >= 3, arenas


def test_json(tiny_models, capsys):
    m = tiny_models["dscnn"]
    assert inspect_command(m.path, "cortex-m4", True) == 0
    out = capsys.readouterr().out
    r = json.loads(out)  # exactly one JSON object on stdout
    assert r["tflm_arena_bytes"] == tflm_min_arena(m.data)
    assert r["model_bytes"] == len(m.data)
    assert r["macs"] == sum(o["macs"] for o in r["ops"]) > 0
    assert [o["op"] for o in r["ops"]][:2] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert r["op_counts"]["CONV_2D"] >= 2
    assert r["params"] > 0 and r["tensors"]
    t = r["target"]
    assert t["id"] == "cortex-m4" and t["kind"] == "cortex-m" and t["unsupported"] == []
    assert t["flash"]["need"] == len(m.data) and t["flash"]["fits"]
    assert t["ram"]["need"] == r["tflm_arena_bytes"]
    assert t["ram"]["margin"] == t["ram"]["budget"] - t["ram"]["need"]
    assert t["ok"]


def test_macs_by_hand(tiny_models, capsys):
    # MLP: Linear(40, h1) -> Linear(h1, h2) -> Linear(h2, 10); MACs = sum of in*out
    inspect_command(tiny_models["mlp"].path, None, True)
    r = json.loads(capsys.readouterr().out)
    fcs = [o for o in r["ops"] if o["op"] == "FULLY_CONNECTED"]
    tensors = {t["index"]: t for t in r["tensors"]}
    expected = sum(tensors[o["inputs"][1]]["shape"][0] * tensors[o["inputs"][1]]["shape"][1] for o in fcs)
    assert sum(o["macs"] for o in fcs) == expected
    assert r["target"] is None


def test_table_output(tiny_models, capsys):
    assert inspect_command(tiny_models["poolcnn"].path, "cortex-m4", False) == 0
    out = capsys.readouterr().out
    for word in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "arena", "fits", "MACs"):
        assert word in out


def test_float_model(tiny_models, capsys):
    m = tiny_models["dscnn_float"]
    # a float model is fine without a target (TFLM runs float too) ...
    assert inspect_command(m.path, None, True) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["int8"] is False and r["tflm_arena_bytes"] > 0
    # ... but not for a Cortex-M target
    with pytest.raises(PipelineError) as e:
        inspect_command(m.path, "cortex-m4", False)
    assert "float-only model where int8 is required" in str(e.value) and "\n" not in str(e.value)


def test_does_not_fit(tiny_models, capsys):
    from pipeline.targets import load_all

    tiny = load_all().get("cortex-m4").model_copy(update={"id": "tiny-m4", "ram_kb": 1})
    assert inspect_command(tiny_models["dscnn"].path, tiny, True) == 1
    r = json.loads(capsys.readouterr().out)
    assert r["target"]["ram"]["fits"] is False and r["target"]["ram"]["margin"] < 0
    assert r["target"]["flash"]["fits"] is True and not r["target"]["ok"]


def test_unsupported_op_for_target(tiny_models, capsys):
    m = tiny_models["exp"]
    assert inspect_command(m.path, "host", True) == 0
    assert json.loads(capsys.readouterr().out)["target"]["unsupported"] == []
    assert inspect_command(m.path, "cortex-m4", True) == 1
    r = json.loads(capsys.readouterr().out)
    bad = r["target"]["unsupported"]
    assert [u["op"] for u in bad] == ["EXP"] and bad[0]["hint"]
    assert [o["supported"] for o in r["ops"] if o["op"] == "EXP"] == [False]


def _bad_files(tiny_models, tmp_path):
    good = tiny_models["dscnn"].data
    corrupt = bytearray(good)
    corrupt[8:72] = b"\xff" * 64
    files = {
        "empty.tflite": b"",
        "truncated.tflite": good[: len(good) // 2],
        "short.tflite": good[:10],
        "corrupt.tflite": bytes(corrupt),
        "text.tflite": b"this is not a model\n" * 10,
        "model.onnx": b"\x08\x07\x12\x07pytorch" + b"\x00" * 64,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return [tmp_path / n for n in files]


def test_bad_files_one_line_errors(tiny_models, tmp_path):
    for p in _bad_files(tiny_models, tmp_path) + [tmp_path / "missing.tflite", tmp_path]:
        with pytest.raises(PipelineError) as e:
            inspect_command(p, None, True)
        assert str(e.value) and "\n" not in str(e.value), p


def test_cli_exit_codes(tiny_models, tmp_path, run_cli):
    for p in _bad_files(tiny_models, tmp_path)[:3]:
        r = run_cli("inspect", str(p))
        assert r.returncode == 2, (p, r.stdout, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = run_cli("inspect", str(tiny_models["dscnn_float"].path), "--target", "cortex-m4")
    assert r.returncode == 2 and "float-only" in r.stderr
    r = run_cli("inspect", str(tiny_models["cnn1d"].path), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tflm_arena_bytes"] == tflm_min_arena(tiny_models["cnn1d"].data)
