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

# An experiment folder: dataset/, gan/foldK, synthetic/foldK, quality/foldK, samples/foldK.png, evaluation/,
# report.md.
DATASET_DIR, GAN_DIR, SYNTHETIC_DIR = "dataset", "gan", "synthetic"
QUALITY_DIR, EVALUATION_DIR, SAMPLES_DIR = "quality", "evaluation", "samples"
SAMPLES_PER_CLASS = 8
FOLD_PLACEHOLDER = "{fold}"


def fold_dir(output: str, step: str, fold: int | str) -> str:
    """OUTPUT/STEP/foldK of an experiment (fold may be the '{fold}' placeholder)."""
    return os.path.join(output, step, f"fold{fold}")


def export_dir(logdir: str) -> str:
    return os.path.join(logdir, EXPORT_DIR)


def samples_png(output: str, fold: int) -> str:
    """OUTPUT/samples/foldK.png of an experiment: synthetic images beside real training images, per class."""
    return os.path.join(output, SAMPLES_DIR, f"fold{fold}.png")
