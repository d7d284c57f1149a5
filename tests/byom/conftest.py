"""The BYOM zoo (tests/byom_zoo.py), trained and exported once per session, and each model's
conversions, converted once per (model, format, target kind) and shared by the tests."""
from __future__ import annotations

import pytest

import byom_zoo as zoo


class Zoo:
    def __init__(self, root):
        self.root = root
        self.written: dict[str, dict] = {}
        self.conversions: dict[tuple, object] = {}

    def files(self, name: str) -> dict:
        if name not in self.written:
            write = zoo.write_keras if name in zoo.KERAS_ZOO else zoo.write
            self.written[name] = write(name, self.root / name)
        return self.written[name]

    def convert(self, name: str, fmt: str, kind: str):
        """(dataset fitted to the model, ConversionResult) -- the data and convert stages' work."""
        key = (name, fmt, kind)
        if key not in self.conversions:
            from pipeline import data as datasets
            from pipeline.config import DataConfig
            from pipeline.convert import convert_user_model

            f = self.files(name)
            ds = datasets.load(DataConfig(dataset=f"npz:{f['npz']}"), f[fmt])
            res = convert_user_model(f[fmt], self.root / name / f"{fmt}-{kind}", ds.x_calib, ds.input_shape, kind)
            self.conversions[key] = (ds, res)
        return self.conversions[key]


@pytest.fixture(scope="session")
def byom_zoo(tmp_path_factory):
    return Zoo(tmp_path_factory.mktemp("byom_zoo"))
