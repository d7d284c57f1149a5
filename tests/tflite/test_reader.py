"""read_model against LiteRT's own view of the same files, and against malformed input."""
import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.tflite import TFLiteFormatError, read_model


def _litert(path):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    # Without default delegates: XNNPACK would append a DELEGATE node to the op list.
    it = Interpreter(model_path=str(path),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    return it


def test_matches_litert_view(zoo_models):
    for name, path in zoo_models.items():
        m = read_model(path)
        it = _litert(path)
        # LiteRT appends its own scratch tensors after the model's: compare the model's only.
        details = [d for d in it.get_tensor_details() if d["index"] < len(m.tensors)]
        assert len(details) == len(m.tensors), name
        for d in details:
            t = m.tensors[d["index"]]
            assert t.name == d["name"]
            assert list(t.shape) == list(d["shape"])
            assert np.dtype(t.dtype) == np.dtype(d["dtype"])
            q = d["quantization_parameters"]
            if t.quantization is None:
                assert len(q["scales"]) == 0
            else:
                np.testing.assert_array_equal(t.quantization.scale, q["scales"])
                np.testing.assert_array_equal(t.quantization.zero_point, q["zero_points"])
                assert t.quantization.quantized_dimension == q["quantized_dimension"]
            if t.data is not None:
                np.testing.assert_array_equal(t.data, it.get_tensor(d["index"]))
        ops = it._get_ops_details()
        assert [o["op_name"] for o in ops] == [o.op for o in m.operators]
        for o, mo in zip(ops, m.operators):
            assert list(o["inputs"]) == list(mo.inputs) and list(o["outputs"]) == list(mo.outputs)
        assert list(m.inputs) == [d["index"] for d in it.get_input_details()]
        assert list(m.outputs) == [d["index"] for d in it.get_output_details()]


def test_options_parsed(zoo_models):
    m = read_model(zoo_models["conv_stack"])
    conv, dw = m.operators[0], m.operators[1]
    assert conv.options == {"padding": "SAME", "stride_w": 2, "stride_h": 2, "fused_activation": "RELU",
                            "dilation_w": 1, "dilation_h": 1}
    assert dw.options["depth_multiplier"] == 2 and dw.options["fused_activation"] == "RELU6"
    assert dw.options["padding"] == "VALID"
    mean = m.operators[3]
    assert mean.op == "MEAN" and mean.options == {"keep_dims": False}
    m = read_model(zoo_models["residual"].read_bytes())
    pool = [o for o in m.operators if o.op == "MAX_POOL_2D"][0]
    assert (pool.options["filter_w"], pool.options["filter_h"], pool.options["stride_w"]) == (2, 2, 2)
    cat = [o for o in read_model(zoo_models["concat_mul_pad"]).operators if o.op == "CONCATENATION"][0]
    assert cat.options["axis"] in (3, -1)


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"\x10\x00\x00\x00TFL3", "only 8 bytes"),
    (b"\x10\x00\x00\x00XXXX" + bytes(24), "file identifier"),
    (b"\xff\xff\xff\x7fTFL3" + bytes(24), "outside"),
])
def test_malformed_headers(data, words):
    with pytest.raises(TFLiteFormatError, match=words) as err:
        read_model(data)
    assert isinstance(err.value, PipelineError)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(TFLiteFormatError, match="cannot read"):
        read_model(tmp_path / "nope.tflite")


def test_every_truncation_is_a_clean_error(zoo_models):
    data = zoo_models["dense"].read_bytes()
    # Step 7 keeps this quick (~350 prefixes) while hitting every field kind.
    for n in range(0, len(data), 7):
        try:
            read_model(data[:n])
        except TFLiteFormatError as err:
            assert "\n" not in str(err)
