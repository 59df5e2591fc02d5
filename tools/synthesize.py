"""Synthesize labeled images with an exported generator into a dataset folder (the format of tools.build_dataset).

  python -m tools.synthesize --generator=runs/fold0/export/generator --output=data/synthetic0 --per_class=1000
  python -m tools.synthesize --generator=runs/fold0/export/generator --output=data/balanced0 --balance_to=500
  python -m tools.synthesize --generator=runs/fold0/export/generator --output=data/rare0 --counts=cyst:200 --png

--balance_to tops every class up to N images, counting the real images of the folds the generator was trained on.
The synthetic set has one fold (every image in fold 0); its dataset.json records the generator's metadata, and
its DATACARD.md / datacard.json say what it is, where it comes from and what it is for.
"""

from __future__ import annotations

import os

from tfpgan import cli
from tfpgan import flags as tfpgan_flags
from tfpgan.run_folder import PNG_DIR


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.synthesis_options_from_flags()
    if not os.path.isdir(options.generator):
        raise tfpgan_flags.OptionsError(f"--generator must be an existing folder (an exported generator), "
                                        f"got {options.generator!r}")
    from tfpgan.datacard import DATACARD_MARKDOWN  # TensorFlow loads here, after the flag checks
    from tfpgan.synthesis import synthesize, training_counts

    info = synthesize(options.generator, options.output, options.mode, options.target, seed=options.seed,
                      batch_size=options.batch_size, png=options.png, overwrite=options.overwrite)
    print(f"wrote {options.output}: {info.num_examples} synthetic images, {info.resolution}x{info.resolution}x"
          f"{info.channels}, seed {options.seed}, from {options.generator}")
    real = training_counts(info.extra["generator"]) if options.mode == "balance_to" else None
    for name in info.classes:
        line = f"  {name:24s} {info.counts[name]:6d}"
        if real is not None:
            line += f"   + {real[name]} real (training folds) = {info.counts[name] + real[name]}"
        print(line)
    if options.png:
        print(f"  PNG files under {os.path.join(options.output, PNG_DIR)}")
    print(f"  data card: {os.path.join(options.output, DATACARD_MARKDOWN)} (tools.measure_quality adds the audit)")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_synthesis_flags()
    cli.run(main)
