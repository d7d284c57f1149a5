"""The BYOM suite is registered for `make bench` and renders its rows, failed ones included."""
from benchmarks import __main__ as bench_main
from benchmarks import byom_suite


def test_registered_and_renders():
    assert "byom_suite" in bench_main.SUITES
    md = byom_suite.markdown({"models": [
        {"model": "gru", "format": "onnx", "convert_s": 31.2, "float": 1.0, "int8_ref": 0.995, "int8_xnnpack": 1.0,
         "int8_tflm": None, "drop_pt": 0.5, "notes": ["Cortex-M: not deployable — X"]},
        {"model": "lstm", "format": "pt2", "error": "onnx2tf could not convert"}]})
    assert "| gru | onnx | 31.2 | 100.00 | 99.50 | 100.00 | — | 0.50 | Cortex-M: not deployable — X |" in md
    assert "failed: onnx2tf could not convert" in md
