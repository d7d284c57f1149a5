"""Teacher and student model families, their specs, sizes and the fit-to-target search."""
from .analysis import (count_macs, count_params, estimate_flash_bytes, estimate_peak_activation_bytes,
                       estimate_ram_bytes, summary)
from .families import FAMILIES, STUDENT_FAMILIES, TEACHER_FAMILIES
from .fit import Budget, budget_for, search
from .spec import FORMAT, build_model, load_model, load_spec, save_model, student_spec, teacher_spec

__all__ = [
    "FAMILIES", "FORMAT", "STUDENT_FAMILIES", "TEACHER_FAMILIES", "Budget", "budget_for", "build_model",
    "count_macs", "count_params", "estimate_flash_bytes", "estimate_peak_activation_bytes",
    "estimate_ram_bytes", "load_model", "load_spec", "save_model", "search", "student_spec", "summary",
    "teacher_spec",
]
