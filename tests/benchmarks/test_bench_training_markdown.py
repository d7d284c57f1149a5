"""The training suite's table renders from what `python -m benchmarks` gets (run), not only from the
standalone CLI (main): the first full `make bench` lost the table to a KeyError on 'host'."""
from benchmarks import training_suite


def test_run_and_main_share_the_header_markdown_needs():
    header = training_suite._header(3, "cortex-m4")
    for key in ("host", "torch", "threads", "seeds", "target", "loadavg"):
        assert key in header
    md = training_suite.markdown(header)
    assert md.startswith("# Training suite") and "seeds 3" in md and "target cortex-m4" in md
