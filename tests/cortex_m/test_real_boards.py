"""Real boards (NUCLEO-F746ZG, nRF52840 DK): the firmware links at the real memory map, and the
pyOCD path (flash, then the protocol over the board's serial port).

No board or probe exists here: tests named *_recorded_device_* put a fake `pyocd` executable
first on PATH that records its argument list (and, for the protocol test, "flashes" by booting
the ELF in QEMU with its UART on a TCP socket that SerialLink opens as socket://)."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from pipeline.adapters import cortex_m
from pipeline.aot.device import pyocd_flash
from pipeline.aot.compile.compiler import compile_model
from pipeline.aot.device.firmware import build_firmware
from pipeline.errors import DeviceError, PipelineError
from pipeline.targets import BoardSpec

MAPS = {"nucleo-f746zg": (0x08000000, 0x20000000, 1024, 320, "uart_init", "cortex-m7"),
        "nrf52840dk": (0x00000000, 0x20000000, 1024, 256, "uart_init", "cortex-m4")}


@pytest.fixture(scope="module")
def board_builds(zoo_models, targets, tmp_path_factory):
    compiled = compile_model(zoo_models["dense"])
    out = tmp_path_factory.mktemp("boards")
    return {tid: build_firmware(compiled, targets.get(tid), out / tid) for tid in MAPS}


def _sections(elf):
    out = subprocess.run(["arm-none-eabi-readelf", "-S", "-W", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    secs = {}
    for ln in out.splitlines():
        parts = ln.replace("[ ", "[").split()
        if len(parts) > 5 and parts[1].startswith("."):
            secs[parts[1]] = (int(parts[3], 16), int(parts[5], 16))
    return secs


def _symbols(elf):
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {ln.split()[-1]: int(ln.split()[0], 16) for ln in out.splitlines() if len(ln.split()) == 3}


@pytest.mark.parametrize("tid", list(MAPS))
def test_board_firmware_links_at_the_real_memory_map(board_builds, tid):
    flash, ram, flash_kb, ram_kb, _, core = MAPS[tid]
    b = board_builds[tid]
    secs = _sections(b.elf)
    assert secs[".vectors"][0] == flash                          # boot vectors at the flash base
    for name in (".text",):
        addr, size = secs[name]
        assert flash <= addr and addr + size <= flash + flash_kb * 1024
    assert secs[".stack"][0] == ram                              # stack at the bottom of RAM
    for name in (".hstack", ".bss"):
        addr, size = secs[name]
        assert ram <= addr and addr + size <= ram + ram_kb * 1024
    ld = (b.elf.parent / "link.ld").read_text()
    assert f"LENGTH = {flash_kb * 1024}" in ld and f"LENGTH = {ram_kb * 1024}" in ld
    sym = _symbols(b.elf)
    # board support: its own UART driver and the DWT cycle counter, no CMSDK UART / SysTick timer
    assert {"uart_init", "uart_getc", "timer_start", "SysTick_Handler", "board_exit"} <= set(sym)
    assert b.board == tid
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(b.elf)], capture_output=True, text=True).stdout
    assert "Tag_CPU_arch: v7E-M" in attrs


def test_board_sources_are_the_board_drivers(targets):
    from pipeline.aot.device.firmware import board_for
    nucleo = [p.name for p in board_for(targets.get("nucleo-f746zg")).source_files()]
    nrf = [p.name for p in board_for(targets.get("nrf52840dk")).source_files()]
    assert "uart_stm32f7_usart3.c" in nucleo and "timer_dwt.c" in nucleo and "uart_cmsdk.c" not in nucleo
    assert "uart_nrf52_uarte0.c" in nrf and "timer_systick.c" not in nrf
    qemu = [p.name for p in board_for(targets.get("cortex-m4")).source_files()]
    assert "uart_cmsdk.c" in qemu and "timer_systick.c" in qemu and "timer_dwt.c" not in qemu


# --------------------------------------------------------------------------- fake pyOCD

FAKE_PYOCD = r'''#!{python}
"""Stand-in for pyocd: records argv; with FAKE_PYOCD_QEMU_PORT it "flashes" by booting the ELF
in QEMU with the UART on that TCP port (the board's serial port, as socket://)."""
import json, os, socket, subprocess, sys, time
with open(os.environ["FAKE_PYOCD_RECORD"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
port = os.environ.get("FAKE_PYOCD_QEMU_PORT")
if port:
    cmd = ["qemu-system-arm", "-machine", os.environ["FAKE_PYOCD_QEMU_MACHINE"], "-nographic", "-monitor", "none",
           "-serial", f"tcp:127.0.0.1:{{port}},server=on,wait=off",
           "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,align=off,sleep=off",
           "-kernel", sys.argv[-1]]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    with open(os.environ["FAKE_PYOCD_RECORD"] + ".pid", "w") as f:
        f.write(str(p.pid))
    for _ in range(200):       # wait until the "board" listens
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
sys.exit(int(os.environ.get("FAKE_PYOCD_EXIT", "0")))
'''


@pytest.fixture()
def fake_pyocd(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "pyocd"
    exe.write_text(FAKE_PYOCD.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    record = tmp_path / "pyocd-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PYOCD_RECORD", str(record))
    yield exe, record
    pidfile = record.with_name(record.name + ".pid")
    if pidfile.exists():
        try:
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def _calls(record):
    return [json.loads(ln) for ln in record.read_text().splitlines()] if record.exists() else []


def _no_ports(monkeypatch):
    from serial.tools import list_ports
    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: [])


def test_flash_cli_recorded_device_builds_the_exact_pyocd_command(fake_pyocd, board_builds, monkeypatch, capsys):
    from pipeline.cli import main
    exe, record = fake_pyocd
    _no_ports(monkeypatch)
    elf = board_builds["nucleo-f746zg"].elf
    with pytest.raises(SystemExit) as code:
        main(["flash", "--target", "nucleo-f746zg", "--device", "pyocd", "--firmware", str(elf)])
    assert _calls(record) == [["flash", "--target", "stm32f746zgtx", str(elf)]]
    # no ST-LINK VCOM here: one line saying what to check, device-error exit code
    assert code.value.code == DeviceError.exit_code
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no serial port found for nucleo-f746zg" in err and "USB cable" in err


def test_flash_recorded_device_with_uid_and_nrf52840(fake_pyocd, board_builds, targets, monkeypatch):
    exe, record = fake_pyocd
    _no_ports(monkeypatch)
    elf = board_builds["nrf52840dk"].elf
    with pytest.raises(DeviceError, match="serial number 000683"):
        cortex_m.flash(targets.get("nrf52840dk"), elf, "pyocd://000683123456", {})
    assert _calls(record) == [["flash", "--target", "nrf52840", "--uid", "000683123456", str(elf)]]
    assert pyocd_flash.flash_command(targets.get("nrf52840dk"), elf)[0] == str(exe)


def test_flash_recorded_device_failure_is_one_line(fake_pyocd, board_builds, targets, monkeypatch):
    monkeypatch.setenv("FAKE_PYOCD_EXIT", "1")
    with pytest.raises(DeviceError, match=r"pyocd flash failed for nucleo-f746zg \(exit 1\)") as err:
        cortex_m.flash(targets.get("nucleo-f746zg"), board_builds["nucleo-f746zg"].elf, "pyocd", {})
    assert "\n" not in str(err.value)


def test_missing_pyocd_names_pip_install(board_builds, targets, monkeypatch):
    import pipeline.tools
    monkeypatch.setattr(pipeline.tools, "find", lambda name: None)
    with pytest.raises(PipelineError, match="pip install pyocd") as err:
        cortex_m.flash(targets.get("nucleo-f746zg"), board_builds["nucleo-f746zg"].elf, "pyocd", {})
    assert "\n" not in str(err.value)


def test_serial_port_auto_finds_the_probe_vcom(targets, monkeypatch):
    from serial.tools import list_ports
    from serial.tools.list_ports_common import ListPortInfo

    def port(dev, vid, pid, sn):
        p = ListPortInfo(dev, skip_link_detection=True)
        p.vid, p.pid, p.serial_number = vid, pid, sn
        return p
    ports = [port("/dev/ttyUSB0", 0x0403, 0x6001, "FTDI1"),          # not a probe
             port("/dev/ttyACM0", 0x0483, 0x374B, "0671FF485550755187121723"),
             port("/dev/ttyACM1", 0x1366, 0x1015, "000683000001")]
    monkeypatch.setattr(list_ports, "comports", lambda *a, **k: ports)
    t = targets.get("nucleo-f746zg")
    assert pyocd_flash.find_serial_port(t, "0671FF485550755187121723") == "/dev/ttyACM0"
    assert pyocd_flash.find_serial_port(targets.get("nrf52840dk"), "000683000001") == "/dev/ttyACM1"
    with pytest.raises(DeviceError, match="2 debug-probe serial ports found"):
        pyocd_flash.find_serial_port(t)
    fixed = t.model_copy(update={"board": t.board.model_copy(update={"serial_port": "/dev/ttyS9"})})
    assert pyocd_flash.find_serial_port(fixed) == "/dev/ttyS9"


def test_pyocd_device_strings():
    assert pyocd_flash.parse_device("pyocd") is None
    assert pyocd_flash.parse_device("pyocd://0671FF48") == "0671FF48"
    for bad in ("pyocd://", "pyocd://a b", "qemu"):
        with pytest.raises(PipelineError):
            pyocd_flash.parse_device(bad)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_recorded_device_speaks_the_protocol_over_serial(fake_pyocd, zoo_models, targets, tmp_path, monkeypatch):
    """pyocd flash (fake) -> SerialLink on the board's port -> the same protocol, bit-exact with TFLM.
    The "board" is the cortex-m7 QEMU firmware behind a TCP serial port: the hardware is mocked,
    the host path (flash command, port, handshake without the READY banner, protocol) is real."""
    from pipeline.aot.tflm.reference import tflm_run
    from pipeline.aot.device.runner import run_on_device
    from pipeline.tflite import read_model
    exe, record = fake_pyocd
    port = _free_port()
    monkeypatch.setenv("FAKE_PYOCD_QEMU_PORT", str(port))
    monkeypatch.setenv("FAKE_PYOCD_QEMU_MACHINE", "mps2-an500")
    t = targets.get("cortex-m7")
    board = t.model_copy(update={"board": BoardSpec(pyocd_target="stm32f746zgtx", serial_port=f"socket://127.0.0.1:{port}")})
    path = zoo_models["dense"]
    m = read_model(path)
    compiled = compile_model(path)
    xs = np.random.default_rng(3).integers(-128, 128, (3, 1, 10), dtype=np.int8)
    run = run_on_device(compiled, board, [[x] for x in xs], tmp_path / "work", device="pyocd://0671FF48", timeout=30)
    assert _calls(record) == [["flash", "--target", "stm32f746zgtx", "--uid", "0671FF48",
                               str(tmp_path / "work" / "firmware.elf")]]
    for x, outs in zip(xs, run.outputs):
        assert np.array_equal(outs[0], tflm_run(m, path.read_bytes(), [x])[0])
    assert run.identity["model"] == m.sha256 and run.instructions is None    # a board reports ticks, not instructions
    assert all(t > 0 for t in run.ticks) and run.memory["stack_used"] > 0
    assert any(ln.startswith("OK id") for ln in run.transcript)
    time.sleep(0.1)
