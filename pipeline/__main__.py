"""`python -m pipeline` (and `torchrun ... -m pipeline train`) runs the CLI."""
from .cli import main

main()
