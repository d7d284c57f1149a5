"""`pipeline` command line. Thin: parse, load config/target, delegate to a stage, adapter or module.

User errors print one line and exit 2 (device errors 4, not-implemented 3); a traceback is shown
only with `--debug`. Heavy imports (torch, tensorflow) happen inside the verbs that need them.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .errors import PipelineError

DEVICE_HELP = "emulator | qemu | pyocd[://UID] | ssh://user@host[:port] | adb[://SERIAL] (default: the target's)"


class _State:
    debug = False


def _load(config_path: Path | None, target_name: str | None):
    from . import config as config_mod
    from .targets import load_all

    if config_path is not None and Path(config_path).is_dir():
        raise PipelineError(f"--config {config_path}: is a directory, not a pipeline.toml file")
    cfg = config_mod.load(config_path)
    target = load_all().get(target_name) if target_name else None
    return cfg, target


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="pipeline")
def cli(debug: bool) -> None:
    """Edge deployment pipeline: train → distill → quantize → convert → package → benchmark."""
    _State.debug = debug


def _build_options(f):
    for opt in reversed([
        click.option("--target", "-t", "target", required=True, help="Target id or alias (see `pipeline targets`)."),
        click.option("--config", "-c", "config_path", type=click.Path(path_type=Path), help="pipeline.toml to use."),
        click.option("--dataset", help="Override [data] dataset (digits, mnist1d, folder:PATH, npz:PATH)."),
        click.option("--device", help=DEVICE_HELP),
        click.option("--engine", type=click.Choice(["aot", "tflm"]), help="Cortex-M engine (default aot)."),
        click.option("--tflm-dir", type=click.Path(path_type=Path), help="Where --engine tflm writes the TFLM project."),
        click.option("--tflm-src", type=click.Path(path_type=Path),
                     help="A tflite-micro checkout: --engine tflm builds, runs and benchmarks its firmware "
                          "(default: $PIPELINE_TFLM_SRC)."),
        click.option("--tflm-kernels", type=click.Choice(["cmsis_nn", "reference"]),
                     help="TFLite Micro kernels for --tflm-src builds (default cmsis_nn)."),
        click.option("--model", "model_path", type=click.Path(path_type=Path), help="Bring your own model; skips training."),
        click.option("--force", is_flag=True, help="Ignore the cache and re-run every stage."),
        click.option("--from", "from_stage", help="Re-run from this stage on (earlier stages may come from cache)."),
        click.option("--accept-new-host-key", is_flag=True, help="SSH: trust an unknown host key (off by default)."),
        click.option("--benchmark-model", type=click.Path(path_type=Path),
                     help="Android: path to the official benchmark_model binary (never downloaded)."),
    ]):
        f = opt(f)
    return f


def _run_build(target, config_path, dataset, device, engine, tflm_dir, model_path, force, from_stage,
               accept_new_host_key, benchmark_model=None, until=None, allow_partial=False, tflm_src=None,
               tflm_kernels=None):
    cfg, tgt = _load(config_path, target)  # bad target/config fails before any heavy import
    from .build import require_complete, run_build

    if dataset:
        cfg = cfg.with_overrides(data={"dataset": dataset})
    if model_path is not None and not Path(model_path).exists() and ":" not in str(model_path):
        raise PipelineError(f"--model: file not found: {model_path}")
    if model_path is not None and Path(model_path).suffix == ".tflite" and Path(model_path).is_file():
        from .tflite.reader import check_model_size

        check_model_size(model_path)  # before hashing or reading hundreds of MB
        from .tflite import read_model

        read_model(model_path)  # a malformed file fails now, not after the data stage
        from .convert.describe import require_int8

        # ... and so does a float one: the data stage fits the dataset to its input, and "float-only
        # model where int8 is required" says more than a shape mismatch would.
        require_int8(Path(model_path), f"--model {model_path}")
    export_only = None
    if engine == "tflm" and until is None:
        from .aot.tflm.export import tflm_src_from
        if tflm_src_from({"tflm_src": tflm_src}) is None:   # the export is all that can be asked
            until, export_only = "package", tflm_dir
    options = {"device": device, "engine": engine, "tflm_dir": str(tflm_dir) if tflm_dir else None,
               "tflm_src": str(tflm_src) if tflm_src else None, "tflm_kernels": tflm_kernels,
               "accept_new_host_key": accept_new_host_key or None,
               "benchmark_model": str(benchmark_model) if benchmark_model else None}
    t0 = time.monotonic()
    result = run_build(tgt, cfg, force=force, from_stage=from_stage, until=until, model_path=model_path,
                       options=options)
    cached = sum(r.cached for r in result.runs)
    click.echo(f"build {tgt.id}: {len(result.runs)} stages ({cached} cached) in {time.monotonic() - t0:.1f} s"
               f" → {result.build_dir}/manifest.json")
    if result.not_implemented:
        click.echo("PARTIAL BUILD — not implemented yet: " + "; ".join(result.not_implemented))
    if engine == "tflm" and until == "package" and not result.not_implemented:
        where = export_only or f"{result.build_dir}/package/tflm"
        click.echo(f"engine tflm: exported the TFLite Micro project to {where} (no --tflm-src / PIPELINE_TFLM_SRC, "
                   "so it was not built or benchmarked)")
    require_complete(result, allow_partial)


@cli.command()
@_build_options
@click.option("--allow-partial", is_flag=True, help="Exit 0 when later stages are not implemented yet.")
def build(allow_partial, **kw):
    """Run the whole chain for a target (cached stages are reused)."""
    _run_build(**kw, allow_partial=allow_partial)


@cli.command()
@_build_options
def bench(**kw):
    """Build up to the on-device benchmark (same as build, stopping after `bench`)."""
    _run_build(**kw, until="bench")


@cli.command()
def targets():
    """List the target devices (files in targets/)."""
    from rich.console import Console
    from rich.table import Table

    from .targets import load_all

    table = Table("id", "aliases", "kind", "arch", "core", "clock MHz", "flash", "RAM", "default device",
                  "emulator")
    for t in load_all():
        emu = f"{t.emulator.binary} {t.emulator.machine or t.emulator.cpu}" if t.emulator else (
            f"pyocd {t.board.pyocd_target}" if t.board else "-")
        table.add_row(t.id, ",".join(t.aliases), t.kind, t.arch, t.core, f"{t.clock_mhz:g}",
                      _kb(t.flash_kb), _kb(t.ram_kb), t.default_device, emu)
    Console(width=200).print(table)


def _kb(kb: int) -> str:
    return f"{kb // 1048576} GB" if kb >= 1048576 else f"{kb // 1024} MB" if kb >= 1024 and kb % 1024 == 0 else f"{kb} KB"


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--target", "-t", "target", help="Check op support and budgets for this target.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--engine", type=click.Choice(["aot", "tflm"]),
              help="Cortex-M engine whose op set --target checks (default aot).")
def inspect(model, target, as_json, engine):
    """Ops, tensors, MACs, exact TFLM arena and fit of a .tflite model."""
    from . import inspect as inspect_mod

    sys.exit(inspect_mod.inspect_command(model, target, as_json, engine))


def _run_takes_tflite(model: Path, tgt) -> None:
    """`pipeline run` runs a converted model; anything `build --model` converts gets one line
    saying how (quantizing needs the dataset's calibration split, which `run` does not take)."""
    if model.suffix.lower() == ".tflite":
        return
    from .convert.byom import model_kind

    kind = model_kind(model)  # a missing or unknown file: its own one line
    raise PipelineError(
        f"pipeline run takes an int8 .tflite, and {model} is a {kind} model: convert it with "
        f"`pipeline build --target {tgt.id} --model {model} --dataset D` (the same cached chain), then "
        f"`pipeline run --target {tgt.id} --model build/{tgt.id}/convert/model_int8.tflite ...`")


@cli.command()
@click.option("--target", "-t", "target", required=True)
@click.option("--model", "model", required=True, type=click.Path(path_type=Path))
@click.option("--inputs", required=True, type=click.Path(path_type=Path), help="X.npy: [N, *input_shape].")
@click.option("--outputs", required=True, type=click.Path(path_type=Path), help="Y.npy (or .npz) to write.")
@click.option("--device", help=DEVICE_HELP)
@click.option("--kernels", type=click.Choice(["reference", "xnnpack"]), default="reference",
              help="LiteRT kernels (reference is deterministic and comparable with TFLM).")
@click.option("--accept-new-host-key", is_flag=True)
@click.option("--engine", type=click.Choice(["aot", "tflm"]), help="Cortex-M engine (default aot).")
@click.option("--tflm-src", type=click.Path(path_type=Path), help="tflite-micro checkout for --engine tflm.")
def run(target, model, inputs, outputs, device, kernels, accept_new_host_key, engine, tflm_src):
    """Raw inference of any model on the target's device; outputs saved for comparison."""
    from .adapters import ADAPTERS

    _, tgt = _load(None, target)
    _run_takes_tflite(model, tgt)
    for p in (model, inputs):
        if not p.is_file():
            raise PipelineError(f"file not found: {p}")
    ADAPTERS.get(tgt.kind).run_model(tgt, model, inputs, outputs, device,
                                     {"kernels": kernels, "accept_new_host_key": accept_new_host_key,
                                      "engine": engine, "tflm_src": str(tflm_src) if tflm_src else None})
    click.echo(f"wrote {outputs}")


@cli.command()
@click.option("--target", "-t", "target", required=True)
@click.option("--firmware", type=click.Path(path_type=Path), help="ELF to flash (default: the last build's).")
@click.option("--device", help="qemu | pyocd[://UID]")
@click.option("--engine", type=click.Choice(["aot", "tflm"]), help="Whose last build to flash (default aot).")
@click.option("--tflm-kernels", type=click.Choice(["cmsis_nn", "reference"]), help="With --engine tflm.")
def flash(target, firmware, device, engine, tflm_kernels):
    """Load firmware onto a Cortex-M board (QEMU boots it; pyOCD flashes it)."""
    from .adapters import ADAPTERS

    _, tgt = _load(None, target)
    adapter = ADAPTERS.get(tgt.kind)
    if adapter.flash is None:
        flashing = ", ".join(k for k in ADAPTERS if ADAPTERS.get(k).flash is not None)
        raise PipelineError(f"`pipeline flash` is for targets that run firmware (kind {flashing}); '{tgt.id}' is "
                            f"kind '{tgt.kind}' (use `pipeline build` / `pipeline run`)")
    if firmware is None:  # the last `pipeline build --target T` (build dir from ./pipeline.toml)
        from .build import build_folder
        cfg, _ = _load(None, None)
        folder = Path(cfg.build.dir) / build_folder(tgt.id, {"engine": engine, "tflm_kernels": tflm_kernels})
        # the AOT firmware stage publishes its ELF; the TFLM one is built by the bench stage (--tflm-src)
        firmware = folder / ("bench/work/tflm" if engine == "tflm" else "firmware") / "firmware.elf"
        if not firmware.is_file():
            how = " --engine tflm --tflm-src PATH" if engine == "tflm" else ""
            raise PipelineError(f"no firmware at {firmware}; run `pipeline build --target {tgt.id}{how}` first"
                                " or pass --firmware ELF")
    info = adapter.flash(tgt, firmware, device, {})
    if isinstance(info, dict):
        click.echo(" ".join(f"{k}={v}" for k, v in info.items()))


@cli.command()
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--markdown", is_flag=True, help="Print a Markdown table.")
@click.option("--html", type=click.Path(path_type=Path), help="Write a self-contained HTML report with plots.")
@click.option("--baseline", type=click.Path(path_type=Path), help="Report to compare against.")
@click.option("--fail-on", help='e.g. "latency:+10%,accuracy:-0.5pt,ram:+5%"')
def compare(reports, markdown, html, baseline, fail_on):
    """Compare benchmark reports side by side; optionally fail on regressions."""
    from .report.compare import compare_command

    sys.exit(compare_command(list(reports), markdown, html, baseline, fail_on))


@cli.command()
def doctor():
    """Check the external tools every target needs and print how to install what is missing."""
    from rich.console import Console
    from rich.table import Table

    from .tools import TOOLS, find, missing

    table = Table("tool", "status", "needed for", "package")
    for t in TOOLS:
        path = find(t.name)
        table.add_row(t.name, f"[green]ok[/] {path}" if path else "[red]missing[/]", t.needed_for,
                      f"{t.manager}: {t.package}")
    Console(width=160).print(table)
    gone = missing()
    if not gone:
        click.echo("all tools found")
        return
    apt = [t.package for t in gone if t.manager == "apt"]
    pip = [t.package for t in gone if t.manager == "pip"]
    if apt:
        click.echo("install with: apt-get install -y " + " ".join(sorted(set(apt))))
    if pip:
        click.echo(f"install with: {Path(sys.executable).parent / 'pip'} install " + " ".join(pip))
    sys.exit(1)


@cli.command(hidden=True)
@click.option("--config", "-c", "config_path", type=click.Path(path_type=Path))
@click.option("--dataset", help="Override [data] dataset.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Directory for teacher.pt.")
def train(config_path, dataset, out):
    """Train the teacher only (what `torchrun --nproc_per_node N -m pipeline train` runs, with DDP)."""
    from .training.cli import train_command

    cfg, _ = _load(config_path, None)
    if dataset:
        cfg = cfg.with_overrides(data={"dataset": dataset})
    train_command(cfg, out)


INTERRUPTED = "interrupted; finished stages are cached, the next build resumes after them"


def main(argv: list[str] | None = None) -> None:
    from . import interrupt

    interrupt.install()
    try:
        cli.main(args=argv, standalone_mode=False, prog_name="pipeline")
    except PipelineError as err:
        if _State.debug:
            raise
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        # click turns Ctrl-C into Abort; either way: one line, exit 130, nothing half-written
        click.echo(INTERRUPTED, err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except SystemExit:
        raise
    except Exception as err:  # noqa: BLE001 - last line of defence: one line, not a traceback
        from .dependencies import describe, failed_dependency
        from .errors import DISK_FULL_ERRNOS, DiskFull

        if interrupt.received():  # a Ctrl-C that surfaced as another exception (interrupt.py)
            click.echo(INTERRUPTED, err=True)
            sys.exit(130)
        package = failed_dependency(err)
        if package is not None and not _State.debug:
            click.echo(f"error: {describe(err, package)}", err=True)
            sys.exit(2)
        if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS and not _State.debug:
            disk_full = DiskFull(err.filename or "an artifact")  # a stage writing its own files
            click.echo(f"error: {disk_full}", err=True)
            sys.exit(disk_full.exit_code)
        if _State.debug or "--debug" in (argv or sys.argv):
            raise
        click.echo(f"internal error: {type(err).__name__}: {' '.join(str(err).split())}"
                   " (run with --debug for the traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
