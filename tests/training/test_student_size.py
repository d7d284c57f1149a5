"""`student.size = "tiny"` (issue #18): at most 1/30 of the teacher's parameters, and the size in the record."""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.models import analysis
from pipeline.models.spec import build_model, teacher_spec
from pipeline.stages.distill import TINY_RATIO, choose_student


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40)])
def test_tiny_student_is_at_most_a_thirtieth_of_the_teacher(shape):
    teacher_params = analysis.count_params(build_model(teacher_spec(list(shape), 10)))
    default_spec, default_fit = choose_student(shape, 10, Config().student, 1024, 320, teacher_params)
    tiny_cfg = Config().with_overrides(student={"size": "tiny"}).student
    spec, fit = choose_student(shape, 10, tiny_cfg, 1024, 320, teacher_params)
    assert fit["params"] <= teacher_params * TINY_RATIO < default_fit["params"] <= teacher_params / 10
    assert fit["size"] == "tiny" and default_fit["size"] == "default"
    assert fit["params_ratio"] == pytest.approx(fit["params"] / teacher_params, abs=1e-5)


def test_bad_size_names_the_allowed_values():
    with pytest.raises(PipelineError) as err:
        Config().with_overrides(student={"size": "mini"})
    assert "student.size" in str(err.value) and "tiny" in str(err.value) and "default" in str(err.value)
