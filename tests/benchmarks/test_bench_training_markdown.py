"""The training suite's table renders from what `python -m benchmarks` gets (run), not only from the
standalone CLI (main): the first full `make bench` lost the table to a KeyError on 'host'."""
from benchmarks import training_suite


def test_run_and_main_share_the_header_markdown_needs():
    header = training_suite._header(3, "cortex-m4")
    for key in ("host", "torch", "threads", "seeds", "target", "loadavg"):
        assert key in header
    md = training_suite.markdown(header)
    assert md.startswith("# Training suite") and "seeds 3" in md and "target cortex-m4" in md


def _run(seed, t, s, d, kept="distilled"):
    entry = lambda a: {"accuracy": a, "val_accuracy": a, "params": 1000 if a != t else 30_000, "macs": 1,  # noqa: E731
                       "epochs": 10, "wall_s": 1.0, "int8_sim_accuracy": a}
    return {"seed": seed, "size": "tiny", "training_side_wall_s": 100.0, "training_side_cpu_s": 90.0,
            "report": {"teacher": entry(t), "scratch": entry(s), "distilled": entry(d),
                       "selection": {"kept": kept, "temperature": 1.0, "alpha": 0.9, "student_size": "tiny (x)"},
                       "deployed": {"accuracy": d, "int8_sim_accuracy": d - 0.001}}}


def test_paired_statistics_of_the_suite():
    # distilled - scratch = 1, 2, 3 pt: mean 2, t(0.975, 2) = 4.303, sd 1 -> half width 4.303 / sqrt(3)
    lo, hi = training_suite.t_interval([1.0, 2.0, 3.0])
    assert abs((hi - lo) / 2 - 4.303 / 3 ** 0.5) < 1e-9 and abs((hi + lo) / 2 - 2.0) < 1e-12
    share, glo, ghi = training_suite.gap_closed([0.9, 0.9, 0.9], [0.8, 0.8, 0.8], [0.86, 0.86, 0.86])
    assert abs(share - 0.6) < 1e-9 and abs(glo - 0.6) < 1e-9 and abs(ghi - 0.6) < 1e-9  # no spread, no width
    share, glo, ghi = training_suite.gap_closed([0.9, 0.92, 0.88], [0.8, 0.85, 0.8], [0.86, 0.9, 0.83])
    assert glo < share < ghi
    runs = [_run(0, 0.9, 0.8, 0.86), _run(1, 0.92, 0.85, 0.9), _run(2, 0.88, 0.8, 0.83, kept="scratch")]
    agg = training_suite.aggregate(runs)
    assert agg["kept"] == {"distilled": 2, "scratch": 1}
    assert abs(agg["distilled_minus_scratch_pt"][0] - (6 + 5 + 3) / 3) < 1e-9
    assert abs(agg["deployed_int8_minus_float_pt"][0] + 0.1) < 1e-9
    header = training_suite._header(3, "cortex-m4")
    header["datasets"]["toy · tiny"] = agg
    md = training_suite.markdown(header)
    assert "## toy · tiny" in md and "95 % CI" in md and "kept on validation: distilled 2, scratch 1" in md
