"""Edge deployment pipeline: train, distill, quantize, convert, package and benchmark models."""
