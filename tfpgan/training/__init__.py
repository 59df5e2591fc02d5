"""Training: schedule, losses, distributed trainer, checkpoints, summaries."""
