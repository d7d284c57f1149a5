"""Model families, each built from a JSON-able spec (see `pipeline.models.spec`).

Teachers: `resnet2d` (images), `resnet1d` (signals). Students: `dscnn` (depthwise-separable,
MLPerf-Tiny style), `cnn1d` (tiny 1-D CNN), `mlp` (baseline). Every family ends in global average
pooling (a mean over the spatial axes -> TFLite MEAN) and one Linear, never a flatten of an NCHW map,
so onnx2tf inserts no TRANSPOSE. Convs are conv -> BN -> ReLU so BN folds and ReLU fuses; when a
spec has `"bn": false` (after BN folding for QAT) the convs carry a bias instead of a BN.

Every model has `forward(x) -> logits` and `forward_features(x) -> (logits, feature_map)`, where the
feature map is the last one before pooling (used by feature-hint distillation).
"""
from __future__ import annotations

import torch
from torch import nn


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        return int(v[0]), int(v[1])
    return int(v), int(v)


class ConvBNAct(nn.Module):
    """conv -> BN (or conv bias) -> ReLU (optional). `dims` 1 or 2."""

    def __init__(self, dims: int, cin: int, cout: int, kernel, stride=1, groups: int = 1,
                 bn: bool = True, act: bool = True):
        super().__init__()
        if dims == 2:
            k, s = _pair(kernel), _pair(stride)
            pad = (k[0] // 2, k[1] // 2)
            self.conv = nn.Conv2d(cin, cout, k, s, pad, groups=groups, bias=not bn)
            self.bn = nn.BatchNorm2d(cout) if bn else nn.Identity()
        else:
            k, s = int(kernel), int(stride)
            self.conv = nn.Conv1d(cin, cout, k, s, k // 2, groups=groups, bias=not bn)
            self.bn = nn.BatchNorm1d(cout) if bn else nn.Identity()
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


def _gap(x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=tuple(range(2, x.dim())))


class DSBlock(nn.Module):
    def __init__(self, cin: int, cout: int, kernel, stride, bn: bool):
        super().__init__()
        self.dw = ConvBNAct(2, cin, cin, kernel, stride, groups=cin, bn=bn)
        self.pw = ConvBNAct(2, cin, cout, 1, 1, bn=bn)

    def forward(self, x):
        return self.pw(self.dw(x))


class _Classifier(nn.Module):
    """Families return (logits, last feature map) from forward_features (distillation hints use
    the map); forward is the logits alone."""

    def forward(self, x):
        return self.forward_features(x)[0]


class _StemBlocksHead(_Classifier):
    """stem -> blocks -> global average pool -> linear head (DS-CNN, ResNet)."""

    def forward_features(self, x):
        f = self.blocks(self.stem(x))
        return self.head(_gap(f)), f


class DSCNN(_StemBlocksHead):
    """Stem conv + depthwise-separable blocks + global average pool + Linear."""

    def __init__(self, spec: dict):
        super().__init__()
        cin = spec["input_shape"][0]
        bn = spec.get("bn", True)
        stem = spec["stem"]
        self.stem = ConvBNAct(2, cin, stem["channels"], stem["kernel"], stem["stride"], bn=bn)
        c = stem["channels"]
        blocks = []
        for b in spec["blocks"]:
            blocks.append(DSBlock(c, b["channels"], spec.get("kernel", 3), b["stride"], bn))
            c = b["channels"]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, spec["num_classes"])


class CNN1d(_Classifier):
    """Plain 1-D CNN: [Conv1d -> BN -> ReLU] x n, global average pool, Linear."""

    def __init__(self, spec: dict):
        super().__init__()
        c = spec["input_shape"][0]
        bn = spec.get("bn", True)
        layers = []
        for layer in spec["layers"]:
            layers.append(ConvBNAct(1, c, layer["channels"], layer["kernel"], layer["stride"], bn=bn))
            c = layer["channels"]
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(c, spec["num_classes"])

    def forward_features(self, x):
        f = self.layers(x)
        return self.head(_gap(f)), f


class MLP(_Classifier):
    """Baseline: flatten the input (C=1 in our datasets, so NCHW and NHWC orders agree), Linear/ReLU."""

    def __init__(self, spec: dict):
        super().__init__()
        n = 1
        for d in spec["input_shape"]:
            n *= int(d)
        layers = []
        for h in spec["hidden"]:
            layers.append(nn.Linear(n, h))
            layers.append(nn.ReLU())
            n = h
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(n, spec["num_classes"])

    def forward_features(self, x):
        f = self.layers(torch.flatten(x, 1))
        return self.head(f), f


class BasicBlock(nn.Module):
    def __init__(self, dims: int, cin: int, cout: int, stride: int, kernel: int, bn: bool):
        super().__init__()
        self.a = ConvBNAct(dims, cin, cout, kernel, stride, bn=bn)
        self.b = ConvBNAct(dims, cout, cout, kernel, 1, bn=bn, act=False)
        self.short = (nn.Identity() if cin == cout and stride == 1
                      else ConvBNAct(dims, cin, cout, 1, stride, bn=bn, act=False))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.b(self.a(x)) + self.short(x))


class ResNet(_StemBlocksHead):
    """ResNet-style teacher for images (`dims` 2) or signals (`dims` 1)."""

    def __init__(self, spec: dict, dims: int):
        super().__init__()
        cin = spec["input_shape"][0]
        bn = spec.get("bn", True)
        k = spec.get("kernel", 3)
        self.stem = ConvBNAct(dims, cin, spec["stem"]["channels"], spec["stem"]["kernel"], 1, bn=bn)
        c = spec["stem"]["channels"]
        blocks = []
        for stage in spec["stages"]:
            for i in range(stage["blocks"]):
                blocks.append(BasicBlock(dims, c, stage["channels"], stage["stride"] if i == 0 else 1, k, bn))
                c = stage["channels"]
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, spec["num_classes"])


def build(spec: dict) -> nn.Module:
    """A fresh (randomly initialised) module for `spec`."""
    family = spec.get("family")
    if family == "dscnn":
        return DSCNN(spec)
    if family == "cnn1d":
        return CNN1d(spec)
    if family == "mlp":
        return MLP(spec)
    if family == "resnet2d":
        return ResNet(spec, 2)
    if family == "resnet1d":
        return ResNet(spec, 1)
    raise ValueError(f"unknown model family {family!r}")


FAMILIES = ("dscnn", "cnn1d", "mlp", "resnet2d", "resnet1d")
TEACHER_FAMILIES = ("resnet2d", "resnet1d", "cnn1d")
STUDENT_FAMILIES = ("dscnn", "cnn1d", "mlp")
