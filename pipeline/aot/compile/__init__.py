"""The compiler: .tflite -> lowered steps -> quantization records -> fused steps -> arena plan -> C."""
