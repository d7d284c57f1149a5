"""Run the stage chain for one target, reusing cached stages, and write the build manifest."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from . import interrupt
from .atomic import atomic_dir, sha256_file, write_json
from .cache import StageCache, stage_key
from .config import Config
from .errors import BudgetExceeded, NotImplementedYet, PipelineError
from .options import BuildOptions
from .stages import CHAIN, STAGES, TRAINING
from .stages.base import Artifact, Context
from .stages.progress import Progress
from .targets import Target


@dataclass
class StageRun:
    name: str
    key: str
    cached: bool
    seconds: float


@dataclass
class BuildResult:
    target: Target
    build_dir: Path
    runs: list[StageRun] = field(default_factory=list)
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    not_implemented: list[str] = field(default_factory=list)  # "stage: message"

    @property
    def complete(self) -> bool:
        return not self.not_implemented


def _inputs_for(stage: ModuleType, done: dict[str, Artifact]) -> dict[str, Artifact]:
    # Stages skipped on purpose (training with --model) are simply absent from `inputs`.
    return {name: done[name] for name in stage.INPUTS if name in done}


# How many rungs down the student ladder a build may go when the exact sizes do not fit.
MAX_SHRINK = 3


def build_folder(target_id: str, options: dict) -> str:
    """One folder per target and engine (and TFLite Micro kernels): `--engine tflm` must not
    overwrite the AOT build, so `pipeline compare build/*/report.json` puts them side by side."""
    engine = options.get("engine")
    if engine in (None, "aot"):
        return target_id
    kernels = options.get("tflm_kernels")
    return f"{target_id}-{engine}" + (f"-{kernels}" if kernels not in (None, "cmsis_nn") else "")


def run_build(target: Target, config: Config, *, model_path: Path | None = None, force: bool = False,
              from_stage: str | None = None, progress: Progress | None = None, **kw) -> BuildResult:
    """Run the chain; when the exact flash/RAM (linked firmware, converted model) exceed the target's
    budget although the student estimate fitted, shrink the student one rung and retry."""
    progress = progress or Progress()
    attempt = config
    while True:
        try:
            return _run_chain(target, attempt, model_path=model_path, force=force, from_stage=from_stage,
                              progress=progress, **kw)
        except BudgetExceeded as err:
            shrink = attempt.student.shrink
            auto = attempt.student.width_multiplier == "auto" and attempt.student.depth == "auto"
            if model_path is not None or not auto:
                raise
            if shrink - config.student.shrink >= MAX_SHRINK:
                raise BudgetExceeded(f"{err} (after shrinking the student {MAX_SHRINK} times)") from None
            progress.log(f"exact size does not fit ({err}); retrying with a smaller student (shrink {shrink + 1})")
            attempt = attempt.with_overrides(student={"shrink": shrink + 1})
            force, from_stage = False, None  # the retry reuses every stage the smaller student does not change


def _run_chain(
    target: Target,
    config: Config,
    *,
    force: bool = False,
    from_stage: str | None = None,
    until: str | None = None,
    model_path: Path | None = None,
    options: dict | None = None,
    progress: Progress | None = None,
    chain: tuple[ModuleType, ...] = CHAIN,
) -> BuildResult:
    progress = progress or Progress()
    options = BuildOptions.of({k: v for k, v in (options or {}).items() if v is not None})
    build_root = Path(config.build.dir)
    build_dir = build_root / build_folder(target.id, options)
    cache = StageCache(Path(config.build.cache_dir) if config.build.cache_dir else build_root / "cache")
    cache.sweep_temporaries()
    names = [s.NAME for s in chain]
    for name in (from_stage, until):
        if name is not None and name not in names:
            STAGES.get(name)  # raises with a suggestion
    force_from = names.index(from_stage) if from_stage else (0 if force else len(names))
    stop_at = names.index(until) if until else len(names) - 1

    model_digest = sha256_file(model_path) if model_path and Path(model_path).is_file() else (
        str(model_path) if model_path else None)
    result = BuildResult(target=target, build_dir=build_dir)
    done: dict[str, Artifact] = {}
    for index, stage in enumerate(chain[: stop_at + 1]):
        if model_path is not None and stage.NAME in TRAINING:
            continue
        inputs = _inputs_for(stage, done)
        key = stage_key(
            stage,
            config_sections={s: config.section(s) for s in stage.CONFIG_SECTIONS},
            target_fields=target.fields(stage.TARGET_FIELDS),
            options={k: options.get(k) for k in getattr(stage, "OPTION_KEYS", ())},
            inputs=inputs,
            model_digest=model_digest,  # the data stage too: --model decides the samples' shape
        )
        cached = None if index >= force_from else cache.lookup(stage.NAME, key)
        t0 = time.monotonic()
        if cached is not None:
            artifact = cached
            progress.log(f"[{index + 1}/{len(chain)}] {stage.NAME}: cached ({key[:12]})")
        else:
            progress.log(f"[{index + 1}/{len(chain)}] {stage.NAME}: running")

            def produce(out_dir: Path, stage=stage, inputs=inputs, key=key) -> Artifact:
                ctx = Context(config=config, target=target, out_dir=out_dir, build_dir=build_dir,
                              progress=progress, model_path=model_path, options=options)
                art = stage.run(ctx, inputs)
                if not isinstance(art, Artifact):
                    raise TypeError(f"stage {stage.NAME} returned {type(art).__name__}, not an Artifact")
                interrupt.raise_if_received()  # a swallowed Ctrl-C never commits a cache entry
                return art

            try:
                artifact = cache.store(stage.NAME, key, inputs, produce)
            except NotImplementedYet as err:
                result.not_implemented.append(f"{stage.NAME}: {err}")
                progress.log(f"[{index + 1}/{len(chain)}] {stage.NAME}: NOT IMPLEMENTED YET — {err}")
                break
            progress.log(f"    done in {time.monotonic() - t0:.1f} s")
        done[stage.NAME] = artifact
        result.artifacts[stage.NAME] = artifact
        result.runs.append(StageRun(stage.NAME, key, cached is not None, time.monotonic() - t0))
        _publish(build_dir, artifact)
    write_manifest(result, cache)
    return result


def _publish(build_dir: Path, artifact: Artifact) -> None:
    """Copy a finished artifact to build/<target>/<stage>/ (and its declared top-level files)."""
    with atomic_dir(build_dir / artifact.stage) as tmp:
        shutil.copytree(artifact.dir, tmp, dirs_exist_ok=True)
    for src, dest in artifact.meta.get("publish", {}).items():
        source = artifact.dir / src
        target = build_dir / dest
        if source.is_dir():
            with atomic_dir(target) as tmp:
                shutil.copytree(source, tmp, dirs_exist_ok=True)
        elif source.is_file():
            from .atomic import write_bytes

            write_bytes(target, source.read_bytes())


def write_manifest(result: BuildResult, cache: StageCache) -> Path:
    stages = []
    for run in result.runs:
        record = cache.record(run.name, run.key)
        stages.append({
            "stage": run.name,
            "key": run.key,
            "cached": run.cached,
            "seconds": round(run.seconds, 3),
            "path": str(result.build_dir / run.name),
            "files": record["files"],
            "parents": record["parents"],
        })
    manifest = {
        "target": result.target.id,
        "complete": result.complete,
        "not_implemented": result.not_implemented,
        "stages": stages,
    }
    return write_json(result.build_dir / "manifest.json", manifest)


def require_complete(result: BuildResult, allow_partial: bool) -> None:
    if result.not_implemented and not allow_partial:
        raise NotImplementedYet(
            f"build stopped before the end: {result.not_implemented[0]}"
            " (pass --allow-partial to accept a partial build)"
        )


__all__ = ["BuildResult", "PipelineError", "run_build", "require_complete"]
