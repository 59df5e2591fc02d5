"""Synthesize labeled images with an exported generator into a dataset folder (the format of tools.build_dataset).

  python -m tools.synthesize --generator=runs/fold0/export/generator --output=data/synthetic0 --per_class=1000
  python -m tools.synthesize --generator=runs/fold0/export/generator --output=data/balanced0 --balance_to=500
  python -m tools.synthesize --generator=runs/fold0/export/generator --output=data/rare0 --counts=cyst:200 --png

--balance_to tops every class up to N images, counting the real images of the folds the generator was trained on.
The synthetic set has one fold (every image in fold 0); its dataset.json records the generator's metadata.
"""

import os

from absl import flags

from tfpgan import cli

MODE_FLAGS = ("per_class", "balance_to", "counts")

flags.DEFINE_string("generator", None, "Exported generator folder (saved_model.pb + tfpgan.json), as written by "
                    "tools.export, e.g. runs/NAME/export/generator.", required=True)
flags.DEFINE_string("output", None, "Dataset folder to create.", required=True)
flags.DEFINE_integer("per_class", None, "Synthesize N images of every class.", lower_bound=1)
flags.DEFINE_integer("balance_to", None, "Top every class up to N images, real + synthetic; real = the images of "
                     "the generator's training folds in its dataset. A class already at N or more gets none.",
                     lower_bound=1)
flags.DEFINE_string("counts", None, "Images per class as class:n,class:n,... (class names of the generator; "
                    "classes left out get none).")
flags.DEFINE_integer("seed", 0, "Seed of the latents: the same seed gives the same images.", lower_bound=0)
flags.DEFINE_integer("batch_size", 64, "Images generated per generator call.", lower_bound=1)
flags.DEFINE_bool("png", False, "Also write one PNG per image under OUTPUT/png/CLASS/.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output folder (only once the new one is complete).")
FLAGS = flags.FLAGS

flags.register_validator("generator", lambda path: bool(path) and os.path.isdir(path),
                         "--generator must be an existing folder (an exported generator)")
flags.register_validator("output", bool, "--output must not be empty")


def parse_counts(text: str) -> dict[str, int]:
    """'class:n,class:n,...' -> {class: n}; ValueError on bad syntax, a negative count or a repeated class."""
    counts: dict[str, int] = {}
    for entry in text.split(","):
        name, separator, number = entry.strip().rpartition(":")
        if not separator or not name or not number.strip().isdigit():
            raise ValueError(f"expected class:count (count >= 0), got {entry.strip()!r}")
        if name in counts:
            raise ValueError(f"class {name!r} given twice")
        counts[name] = int(number)
    return counts


def _valid_counts(text):
    if text is None:
        return True
    try:
        return bool(parse_counts(text))
    except ValueError as error:
        raise flags.ValidationError(f"--counts must be class:n,class:n,... ({error})") from None


flags.register_validator("counts", _valid_counts)
flags.register_multi_flags_validator(
    MODE_FLAGS, lambda values: sum(values[name] is not None for name in MODE_FLAGS) == 1,
    "give exactly one of --per_class, --balance_to or --counts")


def main(argv):
    del argv
    from tfpgan.synthesis import synthesize, training_counts  # here: flag errors come before TensorFlow loads

    mode = next(name for name in MODE_FLAGS if FLAGS[name].value is not None)
    target = parse_counts(FLAGS.counts) if mode == "counts" else FLAGS[mode].value
    info = synthesize(FLAGS.generator, FLAGS.output, mode, target, seed=FLAGS.seed, batch_size=FLAGS.batch_size,
                      png=FLAGS.png, overwrite=FLAGS.overwrite)
    print(f"wrote {FLAGS.output}: {info.num_examples} synthetic images, {info.resolution}x{info.resolution}x"
          f"{info.channels}, seed {FLAGS.seed}, from {FLAGS.generator}")
    real = training_counts(info.extra["generator"]) if mode == "balance_to" else None
    for name in info.classes:
        line = f"  {name:24s} {info.counts[name]:6d}"
        if real is not None:
            line += f"   + {real[name]} real (training folds) = {info.counts[name] + real[name]}"
        print(line)
    if FLAGS.png:
        print(f"  PNG files under {os.path.join(FLAGS.output, 'png')}")
    return 0


if __name__ == "__main__":
    cli.run(main)
