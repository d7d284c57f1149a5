"""bakenn (PyPI, Apache-2.0) as a side-by-side peer on the same QEMU Cortex-M boards as our engine.

- bakenn lives in its own virtualenv (build/bench/venv-bakenn, installed exactly from
  deps/peers/bakenn.txt, the lock of `bakenn[tflite]==1.0.0` — not its torch extra: that wants
  torch<2.11) created on first use and re-created when the lock changes. It is only ever run, never
  imported into this process, and nothing it generates is kept outside build/.
- `compile_model` runs `bakenn.compile_tflite(path, out_dir, name=..., target="cortex-m4",
  backend_options=CBackendOptions(kernel_policy=STATIC_PRIORITY, enable_cmsis_nn=True))`: its
  fastest documented configuration (vendored CMSIS-NN 4.0 kernels + its own SMLAD kernels; the
  default policy is portable C). bakenn 1.0 has only the `cortex-m4` Arm profile (and m0plus), so
  the same generated C is compiled with each board's -mcpu (CMSIS-NN picks its DSP paths on M4/M7
  and its MVE paths on M55 from the compiler's feature macros). A model it rejects gives its exact
  error message instead of a measurement.
- `build_firmware` links bakenn's sources behind a tiny shim that provides our `aot_model.h` API
  (aot_invoke / aot_input / aot_output ...) with OUR board support, startup, linker-script
  template, UART app (`firmware/app/main.c`), compiler and flags (taken from
  `pipeline.aot.device.firmware` at run time), so `qemu_uart.measure` times both engines identically.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from pipeline import atomic

from ..common import BUILD_DIR

VENV = BUILD_DIR / "venv-bakenn"
# The peer's whole set, pinned by `make lock` (deps/lock.py write_peer) from deps/peers/bakenn.in.
LOCK = Path(__file__).resolve().parents[2] / "deps" / "peers" / "bakenn.txt"
REQUIREMENT = f"-r {LOCK.name}"
OUT_ROOT = BUILD_DIR / "bakenn"
PROFILE = "cortex-m4"  # bakenn 1.0's only DSP-capable Arm profile
SHIM_NAME = "bakenn_shim.c"


class BakennUnavailable(RuntimeError):
    """bakenn could not be installed or started (as opposed to rejecting a model)."""


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(log=None, timeout_s: float = 600.0) -> Path:
    """The venv's python, creating the venv and installing bakenn once."""
    py = venv_python()
    marker = VENV / ".bakenn-installed"
    lock_digest = atomic.sha256_file(LOCK)[:16]
    if marker.exists() and py.exists() and marker.read_text().split()[1:] == [lock_digest]:
        return py
    say = log or (lambda _m: None)
    say(f"   creating {VENV} and installing {REQUIREMENT!r} (once per lock)")
    shutil.rmtree(VENV, ignore_errors=True)  # an older lock's venv: start clean, never on top of it
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)],
                           check=True, capture_output=True, text=True, timeout=timeout_s)
        res = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "-r", str(LOCK)],
                             capture_output=True, text=True, timeout=timeout_s)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        raise BakennUnavailable(f"cannot create the bakenn venv: {err}") from None
    if res.returncode != 0:
        last = [ln for ln in res.stderr.strip().splitlines() if ln.strip() and "is ignored" not in ln]
        raise BakennUnavailable(f"pip install {REQUIREMENT!r} failed: {last[-1] if last else res.returncode}")
    atomic.write_text(marker, f"{version(py)} {lock_digest}\n")
    return py


def version(py: Path | None = None) -> str:
    res = subprocess.run([str(py or venv_python()), "-c", "import bakenn; print(bakenn.__version__)"],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise BakennUnavailable(f"bakenn does not import in {VENV}: {res.stderr.strip().splitlines()[-1:]}")
    return res.stdout.strip()


# Runs inside the bakenn venv: argv = model path, out dir, name, target. Prints one JSON line.
_COMPILE = textwrap.dedent(r"""
    import json, sys, traceback
    path, out, name, target = sys.argv[1:5]
    try:
        import bakenn
        from bakenn import CBackendOptions, KernelPolicy
        opts = CBackendOptions(kernel_policy=KernelPolicy.STATIC_PRIORITY, enable_cmsis_nn=True)
        m = bakenn.compile_tflite(path, out, name=name, target=target, backend_options=opts)
        a = m.artifacts
        print("BAKENN_RESULT " + json.dumps({"ok": True, "version": bakenn.__version__,
              "sources": [str(p) for p in a.support_sources],
              "include_dirs": [str(p) for p in a.support_include_dirs],
              "build_fragment": str(a.build_fragment)}))
    except Exception as e:
        print("BAKENN_RESULT " + json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
""")


@dataclass(frozen=True)
class BakennModel:
    name: str
    out_dir: Path
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    defines: tuple[str, ...]
    arena_bytes: int
    input_bytes: int
    output_bytes: int
    kernels: dict[str, str]          # op -> selected kernel id
    version: str


@dataclass(frozen=True)
class BakennRejected:
    name: str
    error: str
    version: str


def _c_name(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]", "_", name).lower()


def compile_model(tflite: Path, name: str, log=None) -> BakennModel | BakennRejected:
    """bakenn's C for one model (cached by model content under build/bench/bakenn/)."""
    py = ensure_venv(log)
    ver = version(py)
    data = Path(tflite).read_bytes()
    cname = _c_name(name)
    out = OUT_ROOT / f"{cname}-{atomic.sha256_bytes(data)[:16]}-{PROFILE}-{ver}"
    result_file = out.with_suffix(".json")
    r = json.loads(result_file.read_text()) if result_file.exists() else None
    if r is None or (r["ok"] and not (out / f"bknn_{cname}.h").exists()):
        res = subprocess.run([str(py), "-c", _COMPILE, str(tflite), str(out), cname, PROFILE], capture_output=True,
                             text=True, timeout=600)
        line = next((ln for ln in res.stdout.splitlines() if ln.startswith("BAKENN_RESULT ")), None)
        if line is None:
            err = (res.stderr.strip().splitlines() or [f"exit {res.returncode}"])[-1]
            raise BakennUnavailable(f"bakenn crashed compiling {name}: {err}")
        r = json.loads(line[len("BAKENN_RESULT "):])
        atomic.write_json(result_file, r)
    if not r["ok"]:
        return BakennRejected(name, r["error"], ver)
    return _describe(out, cname, r, ver)


def _describe(out: Path, cname: str, r: dict, ver: str) -> BakennModel:
    header = (out / f"bknn_{cname}.h").read_text()

    def define(key: str) -> int:
        m = re.search(rf"#define BKNN_{cname.upper()}_{key} (\d+)u", header)
        if m is None:
            raise BakennUnavailable(f"bakenn header bknn_{cname}.h lacks BKNN_{cname.upper()}_{key}")
        return int(m.group(1))

    frag = Path(r["build_fragment"]).read_text()
    block = re.search(r"set\(BAKENN_MODEL_SOURCES\n(.*?)\)", frag, re.S)
    sources = tuple(Path(s.replace("${CMAKE_CURRENT_LIST_DIR}", str(out))) for s in re.findall(r'"([^"]+)"', block.group(1)))
    incs = re.search(r"set\(BAKENN_MODEL_INCLUDE_DIRS\n(.*?)\)", frag, re.S)
    include_dirs = tuple(Path(s.replace("${CMAKE_CURRENT_LIST_DIR}", str(out))) for s in re.findall(r'"([^"]+)"', incs.group(1)))
    defs = re.search(r"set\(BAKENN_MODEL_COMPILE_DEFINITIONS\n(.*?)\)", frag, re.S)
    defines = tuple(d.strip() for d in defs.group(1).split() if d.strip())
    kernels = {}
    mem_txt = out / f"bknn_{cname}_memory.txt"
    if mem_txt.exists():
        for op, kid in re.findall(r"^\s+\[\d+\] (\S+): (\S+) \(", mem_txt.read_text(), re.M):
            kernels[op] = kid
    return BakennModel(cname, out, sources, include_dirs, defines, define("ARENA_SIZE"), define("INPUT_BYTES"),
                       define("OUTPUT_BYTES"), kernels, ver)


def _shim(m: BakennModel, sha256: str, macs: int) -> tuple[str, str]:
    """`aot_model.h` + shim C giving bakenn's entry point the API firmware/app/main.c uses.
    The 'arena' reported to `mem` is bakenn's arena plus its caller-owned I/O buffers (ours keeps
    the I/O inside its arena), so both count the same bytes (the guard band is not counted)."""
    up = m.name.upper()
    header = f"""/* bakenn peer behind the pipeline AOT API (benchmark harness, generated) */
#ifndef AOT_MODEL_H
#define AOT_MODEL_H
#include <stddef.h>
#include <stdint.h>
#define AOT_MODEL_SHA256 "{sha256}"
#define AOT_ARENA_BYTES {m.arena_bytes + m.input_bytes + m.output_bytes}u
#define AOT_NUM_INPUTS 1
#define AOT_NUM_OUTPUTS 1
#define AOT_NUM_OPS {len(m.kernels)}
#define AOT_MACS {macs}u
int aot_invoke(void);
void *aot_input(int i);
size_t aot_input_bytes(int i);
void *aot_output(int i);
size_t aot_output_bytes(int i);
#endif
"""
    source = f"""/* bakenn peer shim (benchmark harness, generated) */
#include "aot_model.h"
#include "board_support.h"
#include "bknn_{m.name}.h"
/* A guard band after bakenn's arena: any write past BKNN_{up}_ARENA_SIZE is reported as a fault
 * (e.g. a kernel needing more scratch than bakenn planned) instead of silently corrupting the
 * board support's variables and the measurement. */
#define GUARD 256
#define GUARD_BYTE 0x5Au
static uint8_t arena[BKNN_{up}_ARENA_SIZE + GUARD] __attribute__((aligned(BKNN_{up}_ARENA_ALIGNMENT)));
static int8_t in0[BKNN_{up}_INPUT_BYTES] __attribute__((aligned(16)));
static int8_t out0[BKNN_{up}_OUTPUT_BYTES] __attribute__((aligned(16)));
int aot_invoke(void) {{
    for (int i = 0; i < GUARD; ++i) arena[BKNN_{up}_ARENA_SIZE + i] = GUARD_BYTE;
    bknn_{m.name}_infer(BKNN_{up}_ARENA_SIZE ? arena : NULL, in0, out0);
    for (int i = 0; i < GUARD; ++i)
        if (arena[BKNN_{up}_ARENA_SIZE + i] != GUARD_BYTE) board_fault("bakenn wrote past its arena", (uint32_t)i);
    return 0;
}}
void *aot_input(int i) {{ return i == 0 ? (void *)in0 : NULL; }}
size_t aot_input_bytes(int i) {{ return i == 0 ? sizeof in0 : 0; }}
void *aot_output(int i) {{ return i == 0 ? (void *)out0 : NULL; }}
size_t aot_output_bytes(int i) {{ return i == 0 ? sizeof out0 : 0; }}
"""
    return header, source


def build_firmware(m: BakennModel, target, sha256: str, macs: int, out_dir: Path, mcpu: str | None = None):
    """ELF of bakenn's model + shim + our board support and UART app, linked exactly like ours
    (same flags, linker-script template and budgets). `mcpu` replaces the board's -mcpu (used for
    `cortex-m55+nomve`: bakenn's cortex-m4 plan sized for CMSIS-NN's DSP paths).
    Returns pipeline.aot.device.firmware.FirmwareBuild."""
    from pipeline.aot.device import firmware as fw
    from pipeline.errors import PipelineError

    board = fw.board_for(target)
    cc = fw._tool("arm-none-eabi-gcc")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, shim = _shim(m, sha256, macs)
    atomic.write_text(out_dir / "aot_model.h", header)
    atomic.write_text(out_dir / SHIM_NAME, shim)
    stack = fw.DEFAULT_STACK
    ld = atomic.write_text(out_dir / "link.ld", fw._linker_script(SimpleNamespace(model=SimpleNamespace(sha256=sha256)),
                                                                  target, board, stack))
    firmware_dir = fw.FIRMWARE_DIR
    board_inc = board.write_header(out_dir / "board", sha256)
    sources = [out_dir / SHIM_NAME, *m.sources, *board.source_files(), *sorted((firmware_dir / "app").glob("*.c"))]
    # Our flags, except: bakenn emits C11 (c99 -> c11 changes no code generation) and its vendored
    # CMSIS-NN is not warning-clean under -Wextra, so -Werror is dropped for this build only.
    cflags = [f for f in fw.COMMON_CFLAGS if f != "-Werror"]
    cflags = ["-std=c11" if f.startswith("-std=") else f for f in cflags]
    elf = out_dir / "firmware.elf"
    board_cflags = [f"-mcpu={mcpu}" if (mcpu and f.startswith("-mcpu=")) else f for f in board.cflags]
    cmd = [cc, *board_cflags, *cflags, *(f"-D{d}" for d in m.defines), f"-I{out_dir}",
           *(f"-I{d}" for d in m.include_dirs), f"-I{fw.BOARD_COMMON}", f"-I{board_inc}",
           f"-I{firmware_dir / 'app'}", *map(str, sources), "-nostartfiles", "--specs=nano.specs",
           "--specs=nosys.specs", "-Wl,--gc-sections", f"-Wl,-T,{ld}", f"-Wl,-Map,{out_dir / 'firmware.map'}", "-lm",
           "-o", str(elf)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        first = next((ln for ln in res.stderr.splitlines() if "error" in ln), res.stderr.strip()[:300])
        raise PipelineError(f"bakenn firmware build failed: {first}")
    sections = fw.section_sizes(elf)
    flash = sum(sections.get(s, 0) for s in (".vectors", ".text", ".ARM.exidx", ".data"))
    ram = sum(sections.get(s, 0) for s in (".stack", ".data", ".bss"))
    return fw.FirmwareBuild(elf, sections, flash, ram, stack, board.machine)
