"""Harness code for peers measured side by side with our engine (never the peers' own code):
bakenn in its own venv (bakenn_peer), the QEMU UART driver both engines are timed with
(qemu_uart), and the crash-tolerant TFLite Micro arena search (tflm_arena)."""
