from __future__ import annotations

import pytest

from pipeline.adapters import ADAPTERS
from pipeline.errors import PipelineError
from pipeline.registry import DuplicateRegistration, Registry
from pipeline.targets import load_all


def test_duplicate_registration_raises():
    r: Registry[int] = Registry("thing")
    r.register("a", 1)
    with pytest.raises(DuplicateRegistration):
        r.register("a", 2)


def test_unknown_name_suggests_closest():
    r: Registry[int] = Registry("stage")
    for n in ("teacher", "distill", "convert"):
        r.register(n, 0)
    with pytest.raises(PipelineError, match="did you mean 'teacher'"):
        r.get("teachr")


@pytest.mark.parametrize("target", [t.id for t in load_all()])
def test_every_target_kind_resolves_to_an_adapter(target):
    t = load_all().get(target)
    adapter = ADAPTERS.get(t.kind)
    assert adapter.KIND == t.kind
    for fn in ("package", "bench", "run_model"):
        assert callable(getattr(adapter, fn))


def test_the_target_schema_kinds_are_the_registered_adapters():
    from typing import get_args

    from pipeline.targets import Kind
    assert sorted(get_args(Kind)) == ADAPTERS.names()


def test_every_adapter_meets_the_target_kind_contract():
    from pipeline.adapters import base
    from pipeline.opsets import CORTEX_M_OPS, LITERT_OPS
    for kind in ADAPTERS:
        adapter = ADAPTERS.get(kind)
        assert isinstance(adapter, base.TargetKind)
        assert adapter.flash is None or callable(adapter.flash)
    assert ADAPTERS.get("cortex-m").OPS == CORTEX_M_OPS and ADAPTERS.get("host").OPS == LITERT_OPS
    assert [k for k in ADAPTERS if ADAPTERS.get(k).flash is not None] == ["cortex-m"]


def test_an_adapter_missing_part_of_the_contract_is_refused():
    import types

    from pipeline.adapters import base
    fake = types.ModuleType("fake_adapter")
    fake.KIND, fake.RUNTIME, fake.OPS = "fake", "none", frozenset()
    with pytest.raises(TypeError, match="lacks VERIFY_REFERENCE, ARENA_RAM, flash, package, bench, run_model"):
        base.check(fake)


def test_aliases_resolve():
    reg = load_all()
    assert reg.get("rpi").id == "rpi4"
    assert reg.get("android").id == "android-arm64"
    assert reg.get("cortex-m").id == "cortex-m4"


def test_emulated_cortex_m_targets_name_their_qemu_board():
    reg = load_all()
    boards = {t: reg.get(t).emulator.machine for t in ("cortex-m4", "cortex-m7", "cortex-m55")}
    assert boards == {"cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500", "cortex-m55": "mps3-an547"}
    assert reg.get("nucleo-f746zg").board.pyocd_target


def test_stage_chain_order_and_contract():
    from pipeline.stages import CHAIN

    names = [s.NAME for s in CHAIN]
    assert names == ["data", "teacher", "distill", "compress", "convert", "verify", "package", "bench", "report"]
    for s in CHAIN:
        assert callable(s.run)
        assert all(i in names[: names.index(s.NAME)] for i in s.INPUTS), s.NAME
