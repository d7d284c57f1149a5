"""Training: the loop (checkpoints, early stopping, DDP), distillation, pruning, QAT."""
