"""Export the EMA generator of a training run (latest or a given checkpoint) as a SavedModel.

  python -m tools.export --logdir=runs/quickstart [--checkpoint=runs/quickstart/checkpoints/ckpt-500]

Writes LOGDIR/export/generator (signature serving_default: latents, labels -> images in [0, 1]) and its tfpgan.json.
"""

from absl import flags

from tfpgan import cli

flags.DEFINE_string("logdir", None, "Training run folder (holds config.json and checkpoints/).", required=True)
flags.DEFINE_string("checkpoint", None, "Checkpoint prefix to export (default: the latest).")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from tfpgan.training.trainer import export_checkpoint

    export_dir, metadata = export_checkpoint(FLAGS.logdir, FLAGS.checkpoint)
    print(f"exported {export_dir}: {metadata['resolution']}x{metadata['resolution']}x{metadata['channels']}, "
          f"classes {', '.join(metadata['classes'])}, kimg {metadata['kimg']}, trained on folds "
          f"{metadata['trained_on_folds']}")
    return 0


if __name__ == "__main__":
    cli.run(main)
