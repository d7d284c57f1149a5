"""python -m pipeline.aot.ops [--write]: print the op-coverage table, or write it into README.md."""
import sys

from ... import atomic
from .coverage import README, markdown, readme_with_table

if "--write" in sys.argv[1:]:
    atomic.write_text(README, readme_with_table(README.read_text()))
else:
    print(markdown())
