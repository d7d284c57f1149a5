"""What a conversion leaves behind (file names, ConversionResult) and the ONNX file check: shared by
the ONNX/torch path (core.py), the Keras path (keras_model.py) and the model-layout reader
(layout.py), which must not import one another in a cycle."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PipelineError

INT8_FILE = "model_int8.tflite"
FLOAT_FILE = "model_float.tflite"
ONNX_FILE = "model.onnx"
LOG_FILE = "convert.log"


@dataclass
class ConversionResult:
    int8_path: Path
    float_path: Path | None
    onnx_path: Path | None
    meta: dict = field(default_factory=dict)


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return (text[0] if text else type(err).__name__)[:300]


def onnx_io(path: Path) -> tuple[str, list[int | str], int]:
    """(input name, input dims (str for symbolic), number of outputs), validating the file."""
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as err:  # noqa: BLE001
        raise PipelineError(f"{path}: not a valid ONNX model: {first_line(err)}") from None
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise PipelineError(
            f"{path}: the ONNX model has {len(inputs)} inputs and {len(model.graph.output)} outputs; "
            "a classifier with exactly one input and one output is required")
    dims: list[int | str] = []
    for d in inputs[0].type.tensor_type.shape.dim:
        dims.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?"))
    return inputs[0].name, dims, len(model.graph.output)
