"""Export the EMA generator of a training run (latest or a given checkpoint) as a SavedModel.

  python -m tools.export --logdir=runs/quickstart [--checkpoint=runs/quickstart/checkpoints/ckpt-500]

Writes LOGDIR/export/generator (signature serving_default: latents, labels -> images in [0, 1]) and its tfpgan.json.
"""

from __future__ import annotations

from tfpgan import cli
from tfpgan import flags as tfpgan_flags


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.export_options_from_flags()
    from tfpgan.training.trainer import export_checkpoint

    export_dir, metadata = export_checkpoint(options.logdir, options.checkpoint)
    print(f"exported {export_dir}: {metadata['resolution']}x{metadata['resolution']}x{metadata['channels']}, "
          f"classes {', '.join(metadata['classes'])}, kimg {metadata['kimg']}, trained on folds "
          f"{metadata['trained_on_folds']}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_export_flags()
    cli.run(main)
