r"""Evaluate a classifier with k-fold cross-validation under training regimes; write a report.

  python -m tools.evaluate_classifier --dataset=data/elpv64 --regimes=none,classic,oversample --seeds=3 \
      --output=reports/elpv64
  python -m tools.evaluate_classifier --dataset=data/lesions64 --regimes=classic,classic+synthetic,classic+oversample \
      --synthetic=runs/lesions/fold{fold}/synthetic --output=reports/lesions64
  python -m tools.evaluate_classifier --dataset=data/lesions64 --regimes=none,synthetic[n500],oversample[n500] \
      --synthetic_sets=n500:runs/lesions/fold{fold}/n500 --output=reports/lesions64-n500

For every test fold, regime and seed repeat a classifier trains on the other folds (plus the synthetic images of
that fold's generator, or the real images oversampled to the same class counts) for the same number of steps and
is tested on the held-out fold. The validation split of a fold is fixed (tools.split_validation writes it, for the
fold's GAN to leave out with tools.train --exclude_ids). Finished runs are kept in OUTPUT/runs/REGIME/foldK/seedR:
run the same command again to resume. TensorBoard: OUTPUT/tensorboard.
"""

from __future__ import annotations

import os

from tfpgan import cli, determinism
from tfpgan import flags as tfpgan_flags
from tfpgan.run_folder import REPORT_MARKDOWN


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.evaluation_options_from_flags()
    determinism.configure(options.training.deterministic, options.training.seed)
    from tfpgan.evaluation import run_evaluation
    from tfpgan.report import format_table

    report = run_evaluation(options)
    print(format_table(report))
    print(f"report: {os.path.join(options.output, REPORT_MARKDOWN)}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_evaluation_flags()
    cli.run(main)
