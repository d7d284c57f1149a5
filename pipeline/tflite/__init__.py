"""Our own bounds-checked TFLite flatbuffer reader (no TF/LiteRT import needed).

    from pipeline.tflite import read_model
    m = read_model(Path("model.tflite"))   # or bytes
    m.tensors[i].shape / .dtype / .data / .quantization.scale
    m.operators[k].op == "CONV_2D", .inputs, .outputs, .options["padding"]
"""
from .flatbuf import TFLiteFormatError
from .model import Operator, Quantization, Tensor, TFLiteModel
from .reader import read_model
from .schema import BUILTIN_OPS

__all__ = ["read_model", "TFLiteModel", "Tensor", "Operator", "Quantization", "TFLiteFormatError",
           "BUILTIN_OPS"]
