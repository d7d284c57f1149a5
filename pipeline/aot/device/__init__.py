"""Running the compiled model: firmware build, the UART protocol, QEMU / serial / pyOCD, the benchmark."""
