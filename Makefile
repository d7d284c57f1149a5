# The two commands in the README: `make run` and `make test`. Both set everything up first.
# setup is idempotent: apt runs only for missing packages, pip only when the lock changed.
# pyproject.toml keeps the dependency ranges; deps/lock.txt (written by `make lock`) is what installs.
SHELL := /bin/bash
PYTHON ?= python3
# .ci/run points VENV at a temporary folder, so every CI run proves a fresh install from the lock.
VENV ?= .venv
LOCK := deps/lock.txt
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := $(shell grep -v '^[[:space:]]*\#' deps/apt-packages.txt)
PYTEST_ARGS ?=

.PHONY: setup apt qemu-plugin lock run test bench perf-baseline clean

setup: apt $(STAMP) qemu-plugin

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

$(STAMP): pyproject.toml $(LOCK) deps/lock.py
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PYTHON) deps/lock.py sync $(VENV)
	@touch $(STAMP)

# The QEMU TCG plugin behind the modelled Cortex-M cycles (pipeline/timing/): our own
# tools/qemu_plugin/insn_profile.c, compiled against the plugin API header from Debian's qemu source
# package (fetched once, cached in ~/.cache/pipeline/qemu-plugin; about 10 ms when nothing changed).
qemu-plugin: apt
	@tools/qemu_plugin/setup.sh >/dev/null

# Re-resolve pyproject.toml's ranges in a throwaway venv and pin the result (commit the lock).
lock:
	$(PYTHON) deps/lock.py write

run: setup
	$(VENV)/bin/pipeline build --target rpi

test: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python -m benchmarks

# Rewrite tests/aot/perf_baseline.json (instruction counts under QEMU -icount, linker sizes) after a
# deliberate performance change; tests/aot/test_perf_baseline.py fails on any rise over it.
perf-baseline: setup
	$(VENV)/bin/python -m benchmarks.perf_baseline

clean:
	rm -rf build .pytest_cache
