"""TensorFlow Lite Micro: the reference interpreter our engine is proven against, and the TFLM export."""
