"""Cortex-M latency in cycles and milliseconds, *modelled*: the exact executed instruction stream of
a firmware under QEMU (our TCG plugin, tools/qemu_plugin/insn_profile.c) priced with a per-core
cycle table (pipeline/timing/model.py). QEMU's instruction count stays the deterministic measure;
these cycles are a model of the real core, labelled so wherever they are reported."""
