"""The paper's experiment as one command: per fold, train the GAN on the training folds, export it, synthesize
class-balanced images, audit them, then evaluate the classifier under every augmentation regime.

  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=runs/quickstart
  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=runs/quickstart --dry_run

Re-running the same command skips finished steps and resumes unfinished ones (layout: tfpgan/experiment.py).
"""

from __future__ import annotations

import sys

from tfpgan import cli, determinism
from tfpgan import flags as tfpgan_flags


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.experiment_options_from_flags()
    from tfpgan import experiment

    if tfpgan_flags.FLAGS.dry_run:
        print(experiment.describe(options))
        return 0
    determinism.configure(options.train.deterministic, options.train.seed)
    from tfpgan.report import format_table
    from tfpgan.training.trainer import TrainingInterrupted

    try:
        report, summary = experiment.run_experiment(options)
    except TrainingInterrupted as stopped:
        print(f"{stopped}\nrun the same experiment command to resume", file=sys.stderr)
        return 130
    print(format_table(report))
    print(f"report: {summary}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_experiment_flags()
    cli.run(main)
