"""Typed build configuration (`pipeline.toml`): every key has a default; unknown keys are errors.

Each stage reads only its own sections (see `pipeline.stages.*.CONFIG_SECTIONS`); those sections,
not the whole file, enter the stage's cache key, so editing `[bench]` never retrains a teacher.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import PipelineError
from .schema_errors import describe

DEFAULT_CONFIG_NAME = "pipeline.toml"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Section):
    dataset: str = "digits"  # digits | mnist1d | folder:PATH | npz:PATH
    seed: int = 0
    val_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    # Used only when a dataset has no test split of its own (folder: without train/ + test/).
    test_fraction: float = Field(0.2, gt=0.0, lt=0.5)
    calibration_samples: int = Field(256, ge=1, le=100_000)
    # folder: datasets with mixed image sizes are an error unless a size is given here.
    image_size: tuple[int, int] | None = None
    max_train_samples: int | None = Field(None, ge=1)


class TeacherConfig(Section):
    # auto: resnet2d for images [C, H, W], resnet1d for signals [C, L]
    family: Literal["auto", "resnet2d", "resnet1d", "cnn1d"] = "auto"
    epochs: int = Field(25, ge=1)
    batch_size: int = Field(64, ge=2)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    patience: int = Field(10, ge=1)  # early stopping: epochs without a better validation accuracy
    width: int = Field(32, ge=4)  # channels of the first stage (x2, x4 in the later stages)
    seed: int = 0


class StudentConfig(Section):
    family: Literal["auto", "dscnn", "cnn1d", "mlp"] = "auto"  # auto: dscnn (images), cnn1d (signals)
    width_multiplier: float | Literal["auto"] = "auto"  # "auto": fit-to-target ladder
    depth: int | Literal["auto"] = "auto"
    # A patient schedule (Beyer et al. 2022: function matching keeps gaining long after plain training
    # stops): 60 epochs, early stopping after 15 without a better validation score (accuracy, then
    # loss); scratch and distilled alike, so both get the same budget.
    epochs: int = Field(60, ge=1)
    batch_size: int = Field(64, ge=2)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    patience: int | None = Field(15, ge=1)  # None: train all epochs (scratch and distilled alike)
    seed: int = 0
    # Fraction of the target's flash/RAM budget the estimate may use.
    budget_margin: float = Field(0.8, gt=0, le=1)
    # Flash/RAM kept for the runtime (interpreter code, stack) before the model's share.
    reserve_flash_kb: float = Field(64.0, ge=0)
    reserve_ram_kb: float = Field(8.0, ge=0)
    # The student has at most this fraction of the teacher's parameters.
    max_teacher_ratio: float = Field(0.1, gt=0, le=1)
    # Pick this many rungs below the largest fitting one (a later retry's "one size smaller").
    shrink: int = Field(0, ge=0)
    scratch: bool = True  # also train the scratch baseline (same architecture, epochs, seed; no teacher)
    # "tiny": at most 1/30 of the teacher's parameters (what the smallest boards force; issue #18),
    # on top of max_teacher_ratio; "default": max_teacher_ratio alone.
    size: Literal["default", "tiny"] = "default"


class DistillConfig(Section):
    temperature: float = Field(4.0, gt=0)
    alpha: float = Field(0.7, ge=0, le=1)
    hints: bool = True  # FitNets-style hint: student map -> 1x1 adapter -> MSE to the teacher's map
    hint_weight: float = Field(1.0, ge=0)
    teachers: int = Field(1, ge=1)  # > 1: extra teachers trained with seeds teacher.seed+1, ...; soft targets averaged
    assistant: bool = False  # teacher -> assistant (between both in size) -> student
    cache_teacher_logits: bool = True  # recipe "hinton" only: function matching has no fixed logits
    # "function_matching" (Beyer et al. 2022): teacher and student see the same random view of each
    # sample (shift, scale, noise, mixup), teacher logits computed per batch; "hinton": the plain
    # 2015 recipe on the un-augmented training split (cached logits).
    recipe: Literal["function_matching", "hinton"] = "function_matching"
    shift: int | Literal["auto"] = "auto"  # auto: 1 pixel (images), 10 % of the length (signals)
    scale: float = Field(0.1, ge=0, lt=1)
    noise: float = Field(0.1, ge=0)  # std, in units of the standardised data
    mixup: float = Field(1.0, ge=0)  # Beta(mixup, mixup) weight; 0 turns mixup off
    # T and alpha chosen on the validation split: every (T, alpha) pair is trained `search_epochs`
    # epochs, the best validation accuracy (then loss) wins and trains the full schedule; the grid and
    # each pair's score go into the report. An empty list uses `temperature` / `alpha` as given.
    temperatures: list[Annotated[float, Field(gt=0)]] = Field(default_factory=lambda: [1.0, 4.0], max_length=6)
    alphas: list[Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=lambda: [0.5, 0.9], max_length=6)
    search_epochs: int = Field(6, ge=1)


class PruneConfig(Section):
    enabled: bool = False
    fraction: float = Field(0.3, ge=0, lt=1)  # share of the student's params (or MACs) to remove
    importance: Literal["l1", "bn"] = "l1"
    step: float = Field(0.1, gt=0, le=1)
    finetune_epochs: int = Field(3, ge=0)
    metric: Literal["params", "macs"] = "params"
    lr: float = Field(1e-3, gt=0)


class QuantizeConfig(Section):
    mode: Literal["ptq", "qat"] = "ptq"
    qat_epochs: int = Field(5, ge=1)
    qat_lr: float = Field(1e-4, gt=0)


class ConvertConfig(Section):
    opset: int = Field(17, ge=13, le=21)
    # Conv/depthwise weights are always per-channel; so are dense (FULLY_CONNECTED) weights
    # when this is true (else per-tensor).
    per_channel_dense: bool = True
    # Rewrite a global-average-pool -> Linear head as a 1x1 conv before conversion:
    # LiteRT's reference FULLY_CONNECTED rounds differently from TFLite Micro's (about 1 output
    # in 500 off by 1 LSB); their CONV_2D kernels agree bit for bit.
    dense_as_conv: bool = True
    # Also write the float32 TFLite (the verify stage's float reference and per-layer report).
    float_model: bool = True


class VerifyConfig(Section):
    min_agreement: float = Field(0.999, ge=0, le=1)
    max_accuracy_drop_pt: float = Field(1.0, ge=0)
    # Test samples the per-layer numerics report runs (float and int8 with all tensors kept).
    per_layer_samples: int = Field(200, ge=1)


class BenchConfig(Section):
    warmup: int = Field(5, ge=0)
    runs: int = Field(20, ge=1)
    inputs: int = Field(5, ge=1)
    threads: int = Field(1, ge=1)
    timeout_s: float = Field(600.0, gt=0)


class BuildConfig(Section):
    dir: str = "build"
    cache_dir: str = ""  # empty: <dir>/cache


class Config(Section):
    data: DataConfig = DataConfig()
    teacher: TeacherConfig = TeacherConfig()
    student: StudentConfig = StudentConfig()
    distill: DistillConfig = DistillConfig()
    prune: PruneConfig = PruneConfig()
    quantize: QuantizeConfig = QuantizeConfig()
    convert: ConvertConfig = ConvertConfig()
    verify: VerifyConfig = VerifyConfig()
    bench: BenchConfig = BenchConfig()
    build: BuildConfig = BuildConfig()

    def section(self, name: str) -> dict:
        return getattr(self, name).model_dump(mode="json")

    def with_overrides(self, **sections: dict) -> Config:
        data = self.model_dump(mode="json")
        for name, values in sections.items():
            data.setdefault(name, {}).update(values)
        return validate(data, "<overrides>")


def validate(data: dict, source: Path | str) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise describe(err, Config, source) from None


def load(path: Path | str | None = None, *, cwd: Path | None = None) -> Config:
    """Load `path`, or `./pipeline.toml` when present, or the defaults."""
    if path is None:
        candidate = (cwd or Path.cwd()) / DEFAULT_CONFIG_NAME
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"config file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: not valid TOML: {err}") from None
    return validate(data, path)
