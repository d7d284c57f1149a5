"""Stage cache: reuse, invalidation, atomic entries, manifest — on real stages and a killed build."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.build import run_build
from pipeline.config import Config
from pipeline.stages.progress import Progress
from pipeline.targets import load_all

from . import fake_stages

HERE = Path(__file__).resolve().parent


def _cfg(tmp_path: Path, **sections) -> Config:
    return Config().with_overrides(build={"dir": str(tmp_path / "build")}, **sections)


def _quiet() -> Progress:
    return Progress(enabled=False)


def test_second_build_reuses_every_stage_and_manifest_lists_hashes(tmp_path):
    target = load_all().get("rpi")
    cfg = _cfg(tmp_path)
    first = run_build(target, cfg, chain=fake_stages.chain(), progress=_quiet())
    assert [r.cached for r in first.runs] == [False, False, False]
    second = run_build(target, cfg, chain=fake_stages.chain(), progress=_quiet())
    assert [r.cached for r in second.runs] == [True, True, True]
    assert [r.key for r in first.runs] == [r.key for r in second.runs]
    manifest = json.loads((tmp_path / "build" / "rpi4" / "manifest.json").read_text())
    stages = {s["stage"]: s for s in manifest["stages"]}
    assert set(stages["gamma"]["parents"]) == {"alpha", "beta"}
    assert stages["gamma"]["parents"]["beta"] == stages["beta"]["key"]
    for s in stages.values():
        assert set(s["files"]) == {"part1.npy", "part2.txt"}
        assert all(len(h) == 64 for h in s["files"].values())
    # The published copy is the artifact itself.
    assert (tmp_path / "build" / "rpi4" / "gamma" / "part2.txt").read_text() == "gamma done"


def test_config_change_reruns_only_the_stage_that_reads_it_and_its_dependants(tmp_path):
    target = load_all().get("rpi")
    run_build(target, _cfg(tmp_path), chain=fake_stages.chain(), progress=_quiet())
    changed = _cfg(tmp_path, teacher={"epochs": 7})  # read by "beta" only
    res = run_build(target, changed, chain=fake_stages.chain(), progress=_quiet())
    assert [r.cached for r in res.runs] == [True, False, False]


def test_force_and_from(tmp_path):
    target = load_all().get("rpi")
    cfg = _cfg(tmp_path)
    run_build(target, cfg, chain=fake_stages.chain(), progress=_quiet())
    res = run_build(target, cfg, chain=fake_stages.chain(), progress=_quiet(), from_stage="beta")
    assert [r.cached for r in res.runs] == [True, False, False]
    res = run_build(target, cfg, chain=fake_stages.chain(), progress=_quiet(), force=True)
    assert [r.cached for r in res.runs] == [False, False, False]


KILL_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from foundation import fake_stages
    from pipeline.build import run_build
    from pipeline.config import Config
    from pipeline.stages.progress import Progress
    from pipeline.targets import load_all
    cfg = Config().with_overrides(build={{"dir": {build!r}}})
    run_build(load_all().get("rpi"), cfg, chain=fake_stages.chain(slow_seconds=float(sys.argv[1])),
              progress=Progress(enabled=False))
""")


def test_killed_build_leaves_no_partial_cache_entry_and_next_build_resumes(tmp_path):
    build = tmp_path / "build"
    script = tmp_path / "build_script.py"
    script.write_text(KILL_SCRIPT.format(tests=str(HERE.parent), build=str(build)))
    mark = tmp_path / "mark"
    proc = subprocess.Popen([sys.executable, str(script), "30"], env={**os.environ, "FAKE_STAGE_MARK": str(mark)})
    deadline = time.monotonic() + 60
    while not mark.exists():  # wait until the build is inside the slow stage "beta"
        assert proc.poll() is None, "build ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (build / "cache" / "beta").exists() and any((build / "cache" / "beta").glob(".tmp-*"))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # beta was half-written: no entry with meta.json may exist for it; alpha finished and is whole.
    assert [p for p in (build / "cache" / "beta").iterdir() if not p.name.startswith(".tmp-")] == []
    assert len([p for p in (build / "cache" / "alpha").iterdir() if (p / "meta.json").is_file()]) == 1
    # The next build sweeps the temporary dir, reuses alpha and completes beta and gamma.
    res = run_build(load_all().get("rpi"), Config().with_overrides(build={"dir": str(build)}),
                    chain=fake_stages.chain(), progress=_quiet())
    assert [(r.name, r.cached) for r in res.runs] == [("alpha", True), ("beta", False), ("gamma", False)]
    assert not any((build / "cache" / "beta").glob(".tmp-*"))


def test_failing_stage_leaves_no_entry(tmp_path):
    target = load_all().get("rpi")
    bad = fake_stages.make("beta", ("alpha",))

    def boom(ctx, ins):
        (ctx.out_dir / "half.bin").write_bytes(b"x" * 100)
        raise RuntimeError("stage crashed")

    bad.run = boom
    chain = (fake_stages.make("alpha"), bad)
    with pytest.raises(RuntimeError):
        run_build(target, _cfg(tmp_path), chain=chain, progress=_quiet())
    assert list((tmp_path / "build" / "cache" / "beta").iterdir()) == []


@pytest.mark.slow
def test_real_data_stage_is_cached_and_second_build_is_10x_faster(tmp_path):
    from pipeline.stages import data

    target = load_all().get("rpi")
    cfg = _cfg(tmp_path, data={"dataset": "mnist1d"})
    t0 = time.monotonic()
    first = run_build(target, cfg, chain=(data,), progress=_quiet())
    t_first = time.monotonic() - t0
    t0 = time.monotonic()
    second = run_build(target, cfg, chain=(data,), progress=_quiet())
    t_second = time.monotonic() - t0
    assert not first.runs[0].cached and second.runs[0].cached
    assert t_second * 10 <= t_first, (t_first, t_second)
    assert first.artifacts["data"].meta["sha256"] == second.artifacts["data"].meta["sha256"]


@pytest.mark.slow
def test_cli_full_build_then_every_stage_cached(run_cli, tmp_path):
    """The whole chain through the real CLI (emulated Pi), then a second build that reuses it all."""
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(f'[build]\ndir = "{tmp_path / "b"}"\n[data]\ndataset = "digits"\n'
                   "[teacher]\nepochs = 2\n[student]\nepochs = 2\n")
    first = run_cli("build", "--target", "rpi", "-c", str(cfg))
    assert first.returncode == 0, first.stderr
    second = run_cli("build", "--target", "rpi", "-c", str(cfg))
    assert second.returncode == 0, second.stderr
    out = second.stderr + second.stdout
    for stage in ("data", "teacher", "distill", "compress", "convert", "verify", "package", "bench", "report"):
        assert f"{stage}: cached" in out, stage
    manifest = json.loads((tmp_path / "b" / "rpi4" / "manifest.json").read_text())
    assert manifest["complete"] and len(manifest["stages"]) == 9
    report = json.loads((tmp_path / "b" / "rpi4" / "report.json").read_text())
    assert report["status"] == "complete" and report["device"]["kind"] == "emulated"
    assert (tmp_path / "b" / "rpi4" / "bundle" / "install.sh").is_file()
    assert (tmp_path / "b" / "rpi4" / "bundle.tar.gz").is_file()


def test_exact_budget_miss_shrinks_the_student_and_retries(tmp_path):
    """A stage that finds the exact size over budget makes the build retry one rung smaller."""
    from pipeline.errors import BudgetExceeded

    student = fake_stages.make("distill", (), 0.0, ("student",))
    firmware = fake_stages.make("package", ("distill",), 0.0, ())
    seen = []

    def link(ctx, ins):
        shrink = ctx.config.student.shrink
        seen.append(shrink)
        if shrink < 2:
            raise BudgetExceeded(f"ram needs {400 - 100 * shrink} KB, budget is 320 KB")
        return ctx.artifact({"shrink": shrink})

    firmware.run = link
    res = run_build(load_all().get("cortex-m4"), _cfg(tmp_path), chain=(student, firmware), progress=_quiet())
    assert seen == [0, 1, 2] and res.artifacts["package"].meta["shrink"] == 2

    def never_fits(ctx, ins):
        raise BudgetExceeded("ram needs 999 KB, budget is 320 KB")

    firmware.run = never_fits
    with pytest.raises(BudgetExceeded, match="ram needs 999 KB, budget is 320 KB.*after shrinking the student 3 times"):
        run_build(load_all().get("cortex-m4"), _cfg(tmp_path / "other"), chain=(student, firmware),
                  progress=_quiet())
