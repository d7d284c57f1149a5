"""The adapter contract: one module per target *kind* (linux-arm, android, cortex-m, host).

An adapter module defines `KIND` and the functions below; `pipeline.adapters.ADAPTERS` registers
each module explicitly by its KIND. A function that a kind does not support yet raises
`NotImplementedYet` naming the issue that adds it.

    KIND: str
    def package(ctx: Context, inputs: dict[str, Artifact]) -> Artifact
        # called by the `package` stage: bundle / firmware / app project in ctx.out_dir
    def bench(ctx: Context, inputs: dict[str, Artifact]) -> Artifact
        # called by the `bench` stage: run on the device (ctx.options["device"]) and write
        # `bench.json` (accuracy, latency, memory) into ctx.out_dir
    def run_model(target: Target, model: Path, inputs: Path, outputs: Path, device: str | None,
                  options: dict) -> None
        # `pipeline run`: raw inference of any model, outputs saved as .npy/.npz
    def flash(target: Target, firmware: Path | None, device: str | None, options: dict) -> None
        # `pipeline flash` (cortex-m only; others raise PipelineError)
"""
from __future__ import annotations

from ..errors import NotImplementedYet


def not_yet(what: str, kind: str, issue: int):
    raise NotImplementedYet(f"{what} for target kind '{kind}' is not implemented yet (issue #{issue})")
