"""`make bench` = `python -m benchmarks [SUITE ...]`: run the suites, write results/<date>.json + .md.

Each suite is a module with `TITLE`, `run(progress) -> dict` (its measurements, numbers only
from this run) and `markdown(result) -> str`. Nothing is hard-coded: delete results/ and rerun.
"""
from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from pathlib import Path

from pipeline.atomic import write_json, write_text
from pipeline.stages.progress import Progress

RESULTS = Path(__file__).resolve().parent / "results"
# Explicit list, in run order (no discovery by import side effects).
SUITES = ("training_suite", "runtime_suite", "cortex_m_suite", "cortex_m_timing", "fuzz_suite", "pipeline_cost",
          "byom_suite")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("suites", nargs="*", help=f"default: all of {', '.join(SUITES)}")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}")
    progress = Progress()
    stamp = time.strftime("%Y-%m-%d")
    out_json = args.out / f"{stamp}.json"
    results: dict = {"date": stamp, "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                                                "cpus": __import__("os").cpu_count()}, "suites": {}}
    sections = [f"# Benchmarks {stamp}\n", f"Machine: {results['machine']}\n"]
    failed = 0
    for name in args.suites or SUITES:
        module = importlib.import_module(f"benchmarks.{name}")
        progress.log(f"== {name}: {module.TITLE}")
        t0 = time.monotonic()
        try:
            result = module.run(progress)
        except Exception as err:  # noqa: BLE001 - one suite failing must not hide the others' numbers
            failed += 1
            result = {"error": f"{type(err).__name__}: {err}"}
            progress.log(f"   failed: {result['error']}")
        result["seconds"] = round(time.monotonic() - t0, 1)
        results["suites"][name] = result
        try:
            md = module.markdown(result) if "error" not in result else f"failed: {result['error']}\n"
        except Exception as err:  # noqa: BLE001 - a table bug must not lose the measurements
            failed += 1
            md = f"table failed ({type(err).__name__}: {err}); the numbers are in {out_json.name}\n"
            progress.log(f"   table failed: {type(err).__name__}: {err}")
        sections.append(f"\n## {module.TITLE}\n\n{md}")
        write_json(out_json, results)  # after every suite: a crash later keeps what was measured
    write_text(out_json.with_suffix(".md"), "\n".join(sections))
    progress.log(f"wrote {out_json} and {out_json.with_suffix('.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
