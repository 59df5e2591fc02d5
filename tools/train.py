"""Train a class-conditional progressive GAN on a dataset's training folds.

  python -m tools.train --flagfile=flags/quickstart.cfg --dataset=data/elpv32 --logdir=runs/quickstart
  python -m tools.train --flagfile=flags/quickstart.cfg --dataset=data/elpv32 --logdir=runs/q --dry_run

Kill it at any moment (Ctrl-C / SIGTERM saves a checkpoint) and run the same command to continue.
Watch it with: tensorboard --logdir runs/quickstart --host 127.0.0.1 --port 6006
Several hosts: the same command with --strategy=multi_worker on each, with TF_CONFIG or under srun (BUILD.md).
"""

from __future__ import annotations

import sys

from tfpgan import cli, determinism
from tfpgan import flags as tfpgan_flags
from tfpgan.data.dataset_info import read_info
from tfpgan.training.schedule import describe_schedule, resolve


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.train_options_from_flags()
    options, phases = resolve(options, read_info(options.dataset))
    if tfpgan_flags.FLAGS.dry_run:
        print(options.to_json() + describe_schedule(phases, options.batch_per_resolution))
        print("global batch = batch/replica x replicas; kimg counts global images")
        return 0
    determinism.configure(options.deterministic, options.seed)  # configures TensorFlow without starting it
    from tfpgan.training.trainer import TrainingInterrupted, make_strategy, train_until_stopped  # TensorFlow loads

    strategy = make_strategy(options.strategy)  # before any other TensorFlow call (multi_worker needs it)
    try:
        summary = train_until_stopped(options, strategy)
    except TrainingInterrupted as stopped:
        print(stopped, file=sys.stderr)
        return 130
    print(f"training complete at kimg {summary['kimg']:.1f}; generator exported to {summary['export'] or '(off)'}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_train_flags()
    cli.run(main)
