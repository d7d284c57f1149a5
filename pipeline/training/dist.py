"""Distributed data parallel (DDP) support: `torchrun --nproc_per_node N` just works.

The DDP run is designed to equal the single-process run up to float rounding:
- every rank draws the same seeded permutation and takes its contiguous share of each *global*
  batch (so the data order does not depend on the number of processes);
- each rank's loss is sum(per-sample losses) * world / global_batch, so DDP's gradient average is
  exactly the global batch mean even when the shares differ by one sample;
- BatchNorm uses statistics of the whole global batch (a differentiable all-reduce of sum, sum of
  squares and count), not of the local share; `torch.nn.SyncBatchNorm` needs a GPU, this works with
  gloo on CPU too.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    bn_group: object | None = None

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(local_rank: int = 0) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return torch.device("cpu")


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup() -> DistInfo:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1), else single process."""
    if not launched_by_torchrun():
        return DistInfo(device=pick_device())
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(local_rank)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend)
    info = DistInfo(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local_rank, device=device)
    info.bn_group = dist.new_group(backend="gloo" if device.type == "cpu" else None)
    return info


def cleanup(info: DistInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


# ---------------------------------------------------------------- global-batch BatchNorm

class _GlobalBNMixin:
    _group = None

    def forward(self, x):  # type: ignore[override]
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce  # differentiable (gloo and nccl)

        dims = [0, *range(2, x.dim())]
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        packed = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), count]), group=self._group)
        c = x.shape[1]
        n = packed[2 * c]
        mean = packed[:c] / n
        var = packed[c:2 * c] / n - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * (n / (n - 1)), alpha=m)
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


class GlobalBatchNorm1d(_GlobalBNMixin, nn.BatchNorm1d):
    pass


class GlobalBatchNorm2d(_GlobalBNMixin, nn.BatchNorm2d):
    pass


warnings.filterwarnings("ignore", message=r".*distributed\.nn\.functional\.all_reduce is deprecated.*")

_SWAP = {nn.BatchNorm1d: GlobalBatchNorm1d, nn.BatchNorm2d: GlobalBatchNorm2d}
_BACK = {v: k for k, v in _SWAP.items()}


def use_global_batchnorm(model: nn.Module, info: DistInfo) -> None:
    """Swap BN classes in place (same parameters and state_dict keys) while training under DDP."""
    if not info.distributed:
        return
    for m in model.modules():
        if type(m) in _SWAP:
            m.__class__ = _SWAP[type(m)]
            m._group = info.bn_group


def restore_batchnorm(model: nn.Module) -> None:
    for m in model.modules():
        if type(m) in _BACK:
            m.__class__ = _BACK[type(m)]
            m.__dict__.pop("_group", None)
