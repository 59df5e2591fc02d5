"""File and folder names inside the folders tfpgan writes (layouts: docs/design.md)."""

from __future__ import annotations

import os

# A GAN run (LOGDIR).
CONFIG_FILE = "config.json"
CHECKPOINTS_DIR = "checkpoints"
WORKERS_DIR = "workers"
IMAGES_DIR = "images"
EXPORT_DIR = os.path.join("export", "generator")

# An evaluation report folder.
REPORT_JSON, REPORT_MARKDOWN = "report.json", "report.md"
RUNS_DIR, TENSORBOARD_DIR = "runs", "tensorboard"
RESULT_FILE = "result.json"
BEST_WEIGHTS_FILE = "best.weights.h5"

# A quality report folder.
QUALITY_JSON, QUALITY_MARKDOWN, CLOSEST_PAIRS_PNG = "quality.json", "quality.md", "closest_pairs.png"

# A synthetic dataset folder (besides the dataset files).
PNG_DIR = "png"

# An experiment folder: dataset/, validation/foldK.txt, gan/foldK, synthetic/foldK, quality/foldK,
# samples/foldK.png, evaluation/, report.md, and with a synthetic-count sweep sweep/ (synthetic/nN/foldK,
# evaluation/, sweep.png, sweep.md); with --partitions=P, partitionP/ (P > 0) holds the same steps of partition P
# (dataset/, validation/, gan/, synthetic/, quality/, samples/, evaluation/runs, sweep/), and the top-level
# evaluation/ and report.md merge every partition.
DATASET_DIR, GAN_DIR, SYNTHETIC_DIR = "dataset", "gan", "synthetic"
QUALITY_DIR, EVALUATION_DIR, SAMPLES_DIR = "quality", "evaluation", "samples"
VALIDATION_DIR, SWEEP_DIR = "validation", "sweep"
SWEEP_PNG, SWEEP_MARKDOWN = "sweep.png", "sweep.md"
SAMPLES_PER_CLASS = 8
FOLD_PLACEHOLDER = "{fold}"


def partition_dir(output: str, partition: int) -> str:
    """OUTPUT/partitionP of an experiment (P > 0): the steps of re-partition P."""
    return os.path.join(output, f"partition{partition}")


def fold_dir(output: str, step: str, fold: int | str) -> str:
    """OUTPUT/STEP/foldK of an experiment (fold may be the '{fold}' placeholder)."""
    return os.path.join(output, step, f"fold{fold}")


def export_dir(logdir: str) -> str:
    return os.path.join(logdir, EXPORT_DIR)


def samples_png(output: str, fold: int, generator: str = "") -> str:
    """OUTPUT/samples/[GENERATOR/]foldK.png of an experiment: synthetic images beside real training images."""
    return os.path.join(output, SAMPLES_DIR, generator, f"fold{fold}.png")


def validation_ids_file(output: str, fold: int) -> str:
    """OUTPUT/validation/foldK.txt of an experiment: fold K's classifier-validation ids, one per line."""
    return os.path.join(output, VALIDATION_DIR, f"fold{fold}.txt")


def sweep_synthetic_dir(output: str, count: int, fold: int | str) -> str:
    """OUTPUT/sweep/synthetic/nN/foldK of an experiment: N synthetic images per class from fold K's generator."""
    return os.path.join(output, SWEEP_DIR, SYNTHETIC_DIR, f"n{count}", f"fold{fold}")
