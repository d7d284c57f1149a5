"""Structural edits that produce genuinely smaller / simpler dense networks.

- channel slots: the prunable channel counts of a student spec (dscnn: stem + each block's
  pointwise output; cnn1d: each conv; mlp: each hidden layer);
- `slice_channels`: a new model with only the kept channels (weights copied, spec updated);
- `fold_batchnorm`: conv+BN -> conv with bias (spec gets `"bn": false`), numerically equivalent.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from ..errors import PipelineError
from .spec import build_model

PRUNABLE = ("dscnn", "cnn1d", "mlp")


def channel_slots(spec: dict) -> list[int]:
    fam = spec["family"]
    if fam == "dscnn":
        return [spec["stem"]["channels"], *[b["channels"] for b in spec["blocks"]]]
    if fam == "cnn1d":
        return [layer["channels"] for layer in spec["layers"]]
    if fam == "mlp":
        return list(spec["hidden"])
    raise PipelineError(f"channel pruning supports the student families {', '.join(PRUNABLE)}, not '{fam}'")


def with_channels(spec: dict, sizes: list[int]) -> dict:
    new = copy.deepcopy(spec)
    fam = spec["family"]
    if fam == "dscnn":
        new["stem"]["channels"] = int(sizes[0])
        for b, c in zip(new["blocks"], sizes[1:], strict=True):
            b["channels"] = int(c)
    elif fam == "cnn1d":
        for layer, c in zip(new["layers"], sizes, strict=True):
            layer["channels"] = int(c)
    else:
        new["hidden"] = [int(c) for c in sizes]
    return new


def _rules(spec: dict) -> dict[str, tuple[int | None, int | None]]:
    """module path -> (slot indexing dim 0 / outputs, slot indexing dim 1 / inputs); None = unpruned."""
    fam = spec["family"]
    rules: dict[str, tuple[int | None, int | None]] = {}
    if fam == "dscnn":
        rules["stem.conv"] = (0, None)
        rules["stem.bn"] = (0, None)
        for i in range(len(spec["blocks"])):
            rules[f"blocks.{i}.dw.conv"] = (i, None)  # depthwise: its channels are its input's
            rules[f"blocks.{i}.dw.bn"] = (i, None)
            rules[f"blocks.{i}.pw.conv"] = (i + 1, i)
            rules[f"blocks.{i}.pw.bn"] = (i + 1, None)
        rules["head"] = (None, len(spec["blocks"]))
    elif fam == "cnn1d":
        for i in range(len(spec["layers"])):
            rules[f"layers.{i}.conv"] = (i, i - 1 if i else None)
            rules[f"layers.{i}.bn"] = (i, None)
        rules["head"] = (None, len(spec["layers"]) - 1)
    elif fam == "mlp":
        for i in range(len(spec["hidden"])):
            rules[f"layers.{2 * i}"] = (i, i - 1 if i else None)
        rules["head"] = (None, len(spec["hidden"]) - 1)
    return rules


def producers(model: nn.Module) -> list[tuple[nn.Module, nn.Module | None]]:
    """(weight module, BN or None) producing each slot's channels."""
    spec = model.spec
    mods = dict(model.named_modules())
    fam = spec["family"]
    if fam == "dscnn":
        names = ["stem"] + [f"blocks.{i}.pw" for i in range(len(spec["blocks"]))]
        return [(mods[n + ".conv"], mods[n + ".bn"] if isinstance(mods[n + ".bn"], nn.modules.batchnorm._BatchNorm)
                 else None) for n in names]
    if fam == "cnn1d":
        names = [f"layers.{i}" for i in range(len(spec["layers"]))]
        return [(mods[n + ".conv"], mods[n + ".bn"] if isinstance(mods[n + ".bn"], nn.modules.batchnorm._BatchNorm)
                 else None) for n in names]
    return [(mods[f"layers.{2 * i}"], None) for i in range(len(spec["hidden"]))]


def importance(model: nn.Module, kind: str = "l1") -> list[torch.Tensor]:
    """Per-slot channel importance: L1 norm of the producing filters, or |BN gamma| (kind 'bn')."""
    out = []
    for weight_mod, bn in producers(model):
        if kind == "bn" and bn is not None:
            out.append(bn.weight.detach().abs().cpu())
        else:
            out.append(weight_mod.weight.detach().abs().flatten(1).sum(1).cpu())
    return out


def slice_channels(model: nn.Module, keep: list[torch.Tensor]) -> nn.Module:
    """A new, smaller model keeping channels `keep[slot]` (sorted indices) of every slot."""
    spec = model.spec
    keep = [torch.as_tensor(k, dtype=torch.long).sort().values for k in keep]
    new_spec = with_channels(spec, [len(k) for k in keep])
    new_spec["pruned_from"] = spec.get("pruned_from", channel_slots(spec))
    new = build_model(new_spec)
    rules = _rules(spec)
    old_state = model.state_dict()
    new_state = {}
    for name, target in new.state_dict().items():
        prefix, _, leaf = name.rpartition(".")
        t = old_state[name].detach().cpu()
        out_slot, in_slot = rules.get(prefix, (None, None))
        if t.dim() >= 1 and out_slot is not None and leaf != "num_batches_tracked":
            t = t.index_select(0, keep[out_slot])
        if t.dim() >= 2 and in_slot is not None:
            t = t.index_select(1, keep[in_slot])
        if t.shape != target.shape:
            raise RuntimeError(f"slicing {name}: got {tuple(t.shape)}, expected {tuple(target.shape)}")
        new_state[name] = t.clone()
    new.load_state_dict(new_state)
    return new.to(next(model.parameters()).device)


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """conv -> BN pairs become one conv with bias; the spec says `"bn": false`."""
    spec = copy.deepcopy(model.spec)
    if not spec.get("bn", True):
        return model
    spec["bn"] = False
    new = build_model(spec)
    old_mods = dict(model.named_modules())
    new_state = new.state_dict()
    for name, mod in new.named_modules():
        if not isinstance(mod, (nn.Conv1d, nn.Conv2d)) or not name.endswith("conv"):
            continue
        parent = name[: -len("conv")]
        conv, bn = old_mods[name], old_mods.get(parent + "bn")
        w = conv.weight.detach().cpu()
        b = conv.bias.detach().cpu() if conv.bias is not None else torch.zeros(w.shape[0])
        if isinstance(bn, nn.modules.batchnorm._BatchNorm):
            scale = bn.weight.detach().cpu() / torch.sqrt(bn.running_var.cpu() + bn.eps)
            w = w * scale.view(-1, *[1] * (w.dim() - 1))
            b = (b - bn.running_mean.cpu()) * scale + bn.bias.detach().cpu()
        new_state[name + ".weight"] = w
        new_state[name + ".bias"] = b
    folded = {n for n in new_state if n.endswith(("conv.weight", "conv.bias"))}
    for name, t in model.state_dict().items():
        if name in new_state and name not in folded:
            new_state[name] = t.detach().cpu()
    new.load_state_dict(new_state)
    new.eval()
    return new.to(next(model.parameters()).device)
