"""The paper's experiment as one command: per fold, train the GAN on the training folds, export it, synthesize
class-balanced images, audit them, then evaluate the classifier under every augmentation regime.

  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=runs/quickstart
  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=runs/quickstart --dry_run
  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=runs/quickstart \
      --synthesis_counts=0,250,500,1000,2000        # the synthetic-count curve, reusing each fold's GAN
  python -m tools.experiment --flagfile=flags/quickstart_compare.cfg --output=runs/compare   # two generators

Re-running the same command skips finished steps and resumes unfinished ones (layout: tfpgan/experiment.py).
Folds on several hosts, one shared OUTPUT: add --folds=K on each (or a SLURM array), then merge with --report_only:

  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=/shared/q --folds=0   # host A
  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=/shared/q --folds=1   # host B
  python -m tools.experiment --flagfile=flags/quickstart_experiment.cfg --output=/shared/q --report_only
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
    determinism.configure(options.train.deterministic, options.train.seed)  # configures TensorFlow, not started
    from tfpgan.report import format_table
    from tfpgan.training.trainer import TrainingInterrupted, make_strategy

    # before any other TensorFlow call (multi_worker needs it); --report_only trains nothing
    strategy = None if options.report_only else make_strategy(options.train.strategy)
    try:
        result = experiment.run_experiment(options, strategy)
    except TrainingInterrupted as stopped:
        print(f"{stopped}\nrun the same experiment command to resume", file=sys.stderr)
        return 130
    if result is None:
        print("GAN training done on this worker; worker 0 writes the synthetic sets, audits and report")
        return 0
    report, summary = result
    print(format_table(report))
    if report["missing_folds"]:
        print(f"missing folds (not finished yet): {', '.join(map(str, report['missing_folds']))}; run them "
              "(--folds=K), then this command with --report_only instead of --folds")
    print(f"report: {summary}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_experiment_flags()
    cli.run(main)
