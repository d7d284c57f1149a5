"""Per-core cycle tables and the model: executed instructions (pipeline/timing/profile.py) -> cycles.

cycles = sum over executed instructions of the class cost from the core's table, + the taken-branch
refill P for every taken execution, - one cycle for every load that pipelines behind the load/store
single before it. Flash wait states are a separate, stated term (`flash_cycles`), from the target
file's [timing] table: it is not folded into `cycles`.

Cortex-M4: Arm Cortex-M4 Technical Reference Manual (r0p1, DDI 0439B), section 3.3, table 3-1
"Cortex-M4 instruction set summary" and 3.3.2 "Load/store timings". No measured hardware is used:
the validation (pipeline/timing/microbench.py) checks the model against the TRM's counts applied
by hand to hand-written loops.
Cortex-M7 and Cortex-M55: Arm publishes no cycle table. Cortex-M7: the reciprocal throughputs of
LLVM's Cortex-M7 scheduling model, read with `llvm-mca-14 -mcpu=cortex-m7` on blocks of 100
independent instructions of one kind (Debian llvm 14.0.6, 2026-12-03); the dual-issue core gives 0.5
cycle for ALU ops and loads. Cortex-M55: LLVM 14 has no model of it (llvm-mca-14 -mcpu=cortex-m55
prices every instruction, VDIV included, at 1 cycle), so its scalar costs are the M4's (both are
in-order single-issue Armv7-M/v8-M mainline cores) and Helium instructions count 1.5 cycles (named
below). These are a compiler's model and stated assumptions, not silicon measurements.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import PipelineError
from .profile import Disassembly, Insn, Profile

_COND = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")

# Mnemonic (unified syntax, no condition, no .w/.n, no S) -> class.
_CLASSES: dict[str, str] = {}
for _m in ("b", "bl", "cbz", "cbnz"):
    _CLASSES[_m] = "branch"
for _m in ("bx", "blx"):
    _CLASSES[_m] = "branch_indirect"
for _m in ("tbb", "tbh"):
    _CLASSES[_m] = "table_branch"
for _m in ("ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt", "ldrht"):
    _CLASSES[_m] = "load"
for _m in ("str", "strb", "strh", "strex", "strexb", "strexh", "strt", "strbt", "strht"):
    _CLASSES[_m] = "store"
_CLASSES["ldrd"] = "load_double"
_CLASSES["strd"] = "store_double"
for _m in ("ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "pop"):
    _CLASSES[_m] = "load_multiple"
for _m in ("stm", "stmia", "stmea", "stmdb", "stmfd", "push"):
    _CLASSES[_m] = "store_multiple"
for _m in ("mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "umaal", "smlad", "smladx", "smlsd", "smlsdx",
           "smuad", "smuadx", "smusd", "smusdx", "smlald", "smlaldx", "smlsld", "smlsldx", "smmul", "smmulr", "smmla",
           "smmlar", "smmls", "smmlsr", "smlabb", "smlabt", "smlatb", "smlatt", "smulbb", "smulbt", "smultb",
           "smultt", "smlawb", "smlawt", "smulwb", "smulwt", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "usad8",
           "usada8"):
    _CLASSES[_m] = "multiply"
for _m in ("sdiv", "udiv"):
    _CLASSES[_m] = "divide"
for _m in ("vldr",):
    _CLASSES[_m] = "fp_load"
for _m in ("vstr",):
    _CLASSES[_m] = "fp_store"
for _m in ("vldm", "vldmia", "vldmdb", "vpop", "vstm", "vstmia", "vstmdb", "vpush"):
    _CLASSES[_m] = "fp_multiple"
for _m in ("vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"):
    _CLASSES[_m] = "fp_mac"
for _m in ("vdiv", "vsqrt"):
    _CLASSES[_m] = "fp_divide"
for _m in ("vadd", "vsub", "vmul", "vnmul", "vneg", "vabs", "vcmp", "vcmpe", "vcvt", "vcvtr", "vmov", "vmrs", "vmsr",
           "vcvta", "vcvtn", "vcvtp", "vcvtm", "vrintz", "vrintr", "vrinta", "vrintn", "vselgt"):
    _CLASSES[_m] = "fp"
# The Helium (MVE) vector instructions of the M55 all start with "v" and are not in the FPU list.
# Everything else (data processing, shifts, extends, bit-field, saturate, DSP SIMD add/sub/pack,
# IT, NOP, MRS/MSR, CPSID) is the one-cycle class "alu".

_BASES = set(_CLASSES)


def mnemonic_base(mnemonic: str) -> str:
    """'ldr.w' -> 'ldr', 'addeq' -> 'add', 'smlals' -> 'smlal', 'vmov.f32' -> 'vmov', 'bne' -> 'b'.
    Known mnemonics win over a condition suffix: 'bl' is not 'b' + 'l', 'vmls' not 'vm' + 'ls'."""
    m = mnemonic.lower().split(".")[0]
    cands = [m]
    if m[-2:] in _COND:
        cands.append(m[:-2])
    cands += [c[:-1] for c in list(cands) if c.endswith("s")]
    for c in cands:
        if c in _BASES:
            return c
    return m[:-2] if m[-2:] in _COND and len(m) > 3 else m


def classify(insn: Insn) -> str:
    base = mnemonic_base(insn.mnemonic)
    cls = _CLASSES.get(base)
    ops = insn.operands.replace(" ", "")
    if base in ("mov", "add") and ops.startswith("pc,"):
        return "branch_indirect"
    if cls is None:
        if base.startswith("v") and base not in ("vmov", "vmrs", "vmsr"):
            return "vector"   # MVE (M55) / an FPU op not listed above
        return "alu"
    if cls in ("load", "load_multiple") and _writes_pc(cls, ops):
        return "load_pc"
    if cls == "store" and re.search(r"\[[^\]]*,r\d+|\[[^\]]*,(sp|lr|ip|fp)\b", ops):
        return "store_register_offset"
    return cls


def _writes_pc(cls: str, ops: str) -> bool:
    if cls == "load":
        return ops.startswith("pc,")
    return bool(re.search(r"\{[^}]*\bpc\b", ops))


def register_count(insn: Insn) -> int:
    """N of LDM/STM/PUSH/POP/VLDM/VPUSH: registers in the list (d registers count two words)."""
    m = re.search(r"\{([^}]*)\}", insn.operands)
    if not m:
        return 1
    n = 0
    for part in m.group(1).replace(" ", "").split(","):
        a, _, b = part.partition("-")
        words = 2 if a.startswith("d") else 1
        n += (int(b[1:]) - int(a[1:]) + 1) * words if b else words
    return n


@dataclass(frozen=True)
class CoreTable:
    core: str
    source: str
    costs: dict[str, float]          # cycles of one execution of the class, branches not taken
    refill: float                    # P: extra cycles of a taken direct branch (pipeline refill)
    refill_indirect: float           # P of a branch to a register or a loaded PC
    per_register: float              # LDM/STM/PUSH/POP: cycles per register beyond the costs entry
    load_pipelining: bool            # a load single right after a load/store single costs one less
    dual_issue: bool = False         # an ALU op costs its 0.5 only when it does not read its predecessor's result

    def cost(self, cls: str, insn: Insn) -> float:
        if cls == "load_pc" and "{" in insn.operands:   # POP {..., pc}: 1+N, and P when taken
            return max(1.0, self.costs["load_multiple"] + self.per_register * register_count(insn))
        base = self.costs[cls]
        if cls in ("load_multiple", "store_multiple", "fp_multiple"):
            base = max(1.0, base + self.per_register * register_count(insn))
        return base


# Cortex-M4 TRM table 3-1 (cycles): data processing, MUL/MLA/long MAC and all DSP MACs (SMLAD,
# SMLAL, SMMLAR...) 1; LDR/LDRB/LDRH single 2, pipelined to 1 behind a neighbouring load/store single
# (3.3.2; not behind a store: "nothing can be pipelined after the store"); STR with an immediate offset 1 ("always one cycle", 3.3.2), with a register offset 2;
# LDRD/STRD 1+N = 3; LDM/STM/PUSH/POP 1+N; a taken branch 1+P, P = 1-3 (1 used for direct branches:
# the refill of a speculated, aligned target, which is what gives the TRM's 3-cycle SUBS+BNE loop; 2
# for BX/BLX/POP PC/LDR PC, whose target is known only when the instruction executes); TBB/TBH 2+P;
# SDIV/UDIV 2-12 with early termination (7, the middle: data-dependent, never in our int8 inner loops);
# FPU (TRM 7.2.3): VADD/VMUL/VCVT/VMOV 1, VLDR/VSTR 2, VLDM/VSTM/VPUSH/VPOP 1+N, VMLA/VFMA 3, VDIV/VSQRT 14.
CORTEX_M4 = CoreTable(
    core="cortex-m4",
    source="Arm Cortex-M4 TRM (DDI 0439B) table 3-1 and 3.3.2",
    costs={"alu": 1, "multiply": 1, "divide": 7, "branch": 1, "branch_indirect": 1, "table_branch": 2,
           "load": 2, "load_pc": 2, "store": 1, "store_register_offset": 2, "load_double": 3, "store_double": 3,
           "load_multiple": 1, "store_multiple": 1, "fp": 1, "fp_load": 2, "fp_store": 2, "fp_multiple": 1,
           "fp_mac": 3, "fp_divide": 14, "vector": 1},
    refill=1, refill_indirect=2, per_register=1, load_pipelining=True)

# Cortex-M7, llvm-mca-14 -mcpu=cortex-m7, cycles per instruction on 100 independent instances:
# ADD 0.50, MUL 1.00, SMLAD 1.00, SXTB16 1.00, LDR/LDRB 0.50, STR 1.00, LDRD/STRD 1.00, SDIV 6.00,
# VADD/VMLA 1.00, VLDR 0.50, VDIV 13.00, B 1.00, PUSH {4 regs} 2.00. LLVM prices LDM/STM at 1 whatever
# the list (LDM of 4 and of 8 registers: 1.00), which the 64-bit bus cannot do: N/2 (two words a
# cycle, consistent with its PUSH of 4 = 2.00), at least 1, is used. Dual issue needs independent
# instructions: an ALU op that reads the result of the instruction before it issues alone (1 cycle;
# llvm-mca-14 gives 9.01 cycles for the 9 chained ALU ops of microbench's bench_alu body). A predicted taken branch costs
# about one extra cycle on the M7's branch target cache (P = 1; mispredictions, 4-5, not modelled).
CORTEX_M7 = CoreTable(
    core="cortex-m7",
    source="llvm-mca-14 -mcpu=cortex-m7 (LLVM's Cortex-M7 scheduling model), LDM/STM at 2 words/cycle",
    costs={"alu": 0.5, "multiply": 1, "divide": 6, "branch": 1, "branch_indirect": 1, "table_branch": 2,
           "load": 0.5, "load_pc": 1, "store": 1, "store_register_offset": 1, "load_double": 1, "store_double": 1,
           "load_multiple": 0, "store_multiple": 0, "fp": 1, "fp_load": 0.5, "fp_store": 1, "fp_multiple": 0,
           "fp_mac": 1, "fp_divide": 13, "vector": 1},
    refill=1, refill_indirect=2, per_register=0.5, load_pipelining=False, dual_issue=True)

# Cortex-M55: scalar as the M4 above (no M55 model in LLVM 14; no Arm table). Helium (MVE): a
# 128-bit instruction is 2 beats on the M55's 64-bit datapath, and beat-wise overlap of neighbouring
# instructions of different kinds (load with multiply-accumulate) hides up to half; 1.5 is the
# middle of no overlap (2) and full overlap (1).
CORTEX_M55 = CoreTable(
    core="cortex-m55",
    source="M4 TRM table for scalar code (LLVM 14 has no Cortex-M55 model), Helium at 1.5 cycles (2 beats, half overlapped)",
    costs={**CORTEX_M4.costs, "vector": 1.5},
    refill=1, refill_indirect=2, per_register=1, load_pipelining=True)

TABLES = {t.core: t for t in (CORTEX_M4, CORTEX_M7, CORTEX_M55)}


def table_for(core: str) -> CoreTable:
    if core not in TABLES:
        raise PipelineError(f"no cycle table for core '{core}' (have: {', '.join(sorted(TABLES))})")
    return TABLES[core]


@dataclass
class Timing:
    core: str
    source: str
    instructions: int                 # executed instructions (the plugin's exact count)
    cycles: float                     # modelled, zero-wait-state memory
    taken_branches: int
    pipelined_loads: int
    by_class: dict[str, dict] = field(default_factory=dict)   # class -> {"instructions", "cycles"}
    by_segment: dict[int, float] = field(default_factory=dict)  # segment -> cycles
    regions: int = 1

    def per_region(self) -> "Timing":
        """Averages over the regions (runs of the timed function) the profile holds."""
        n = max(self.regions, 1)
        return Timing(self.core, self.source, round(self.instructions / n), self.cycles / n,
                      round(self.taken_branches / n), round(self.pipelined_loads / n),
                      {c: {k: v / n for k, v in d.items()} for c, d in self.by_class.items()},
                      {s: c / n for s, c in self.by_segment.items()}, 1)


_REG = re.compile(r"\b(r\d+|sp|lr|ip|fp|sl|pc)\b")


def _load_dest(insn: Insn) -> str | None:
    m = _REG.match(insn.operands.replace(" ", ""))
    return m.group(1) if m else None


def _base_reg(insn: Insn) -> str | None:
    m = re.search(r"\[\s*(r\d+|sp|lr|ip|fp|sl|pc)", insn.operands)
    return m.group(1) if m else None


_NO_RESULT = ("branch", "branch_indirect", "table_branch", "store", "store_register_offset", "store_double",
              "store_multiple", "fp_store")


def _reads_result_of(insn: Insn, prev: Insn) -> bool:
    """Whether insn reads the register prev writes (prev's first operand). Thumb's two-operand forms
    (`eors r2, r1`) read their destination too; MOV/MVN and compares' first operand do not count."""
    if classify(prev) in _NO_RESULT or mnemonic_base(prev.mnemonic).startswith(("cmp", "cmn", "tst", "teq", "it")):
        return False
    dest = _load_dest(prev)
    if dest is None:
        return False
    regs = _REG.findall(insn.operands)
    base = mnemonic_base(insn.mnemonic).rstrip("s")
    reads = regs if len(regs) <= 2 and not base.startswith(("mov", "mvn")) else regs[1:]
    return dest in reads


def cycles(profile: Profile, dis: Disassembly, core: str) -> Timing:
    """The model over a profile: cycles at zero wait states, per class and per segment."""
    t = table_for(core)
    out = Timing(core, t.source, 0, 0.0, 0, 0, regions=profile.regions)
    classes: dict[int, str] = {}
    for (pc, seg), n in profile.exec.items():
        insn = dis.insns.get(pc)
        if insn is None:
            raise PipelineError(f"the firmware executed 0x{pc:x}, which its disassembly does not have")
        cls = classes.get(pc) or classes.setdefault(pc, classify(insn))
        taken = profile.taken.get((pc, seg), 0)
        c = t.cost(cls, insn) * n
        if cls in ("branch", "table_branch"):
            c += t.refill * taken
            out.taken_branches += taken
        elif cls in ("branch_indirect", "load_pc"):
            c += t.refill_indirect * taken
            out.taken_branches += taken
        if t.load_pipelining and cls == "load":
            prev = dis.previous(pc)
            # TRM 3.3.2: neighbouring loads pipeline; "nothing can be pipelined after the store".
            if prev is not None and classify(prev) == "load":
                # Fell through from prev: prev's executions in this segment minus its taken ones.
                behind = min(n, profile.exec.get((prev.pc, seg), 0) - profile.taken.get((prev.pc, seg), 0))
                dest = _load_dest(prev) if classify(prev) == "load" else None
                if behind > 0 and dest != _base_reg(insn):   # an address that waits on prev's data cannot
                    c -= behind
                    out.pipelined_loads += behind
        if t.dual_issue and cls == "alu":
            prev = dis.previous(pc)
            if prev is not None and _reads_result_of(insn, prev):
                behind = min(n, profile.exec.get((prev.pc, seg), 0) - profile.taken.get((prev.pc, seg), 0))
                c += (1.0 - t.costs["alu"]) * max(behind, 0)
        out.instructions += n
        out.cycles += c
        d = out.by_class.setdefault(cls, {"instructions": 0, "cycles": 0.0})
        d["instructions"] += n
        d["cycles"] += c
        out.by_segment[seg] = out.by_segment.get(seg, 0.0) + c
    return out


@dataclass(frozen=True)
class Flash:
    """Instruction fetch from flash at the modelled clock (the target's [timing] table)."""
    wait_states: int
    cache: bool            # an instruction cache / ST ART accelerator in front of the flash

    def cycles(self, timing: Timing) -> int:
        """Every fetch discontinuity (taken branch) pays the wait states once; sequential fetches are
        hidden by the prefetch buffer. With a cache, the loops of an inference hit after their first
        iteration, so the term is the cold-miss bound only: 0 here, the uncached figure is reported
        beside it as the worst case."""
        return 0 if self.cache else self.wait_states * timing.taken_branches

    def worst_case(self, timing: Timing) -> int:
        return self.wait_states * timing.taken_branches
