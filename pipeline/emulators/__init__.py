"""Emulated devices: `arm64` (Raspberry Pi class aarch64 Linux under qemu-user)."""
