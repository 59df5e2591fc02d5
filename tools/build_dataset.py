"""Turn a labeled image source into a tfpgan dataset folder with cross-validation folds.

  python -m tools.build_dataset --source=elpv --output=data/elpv64 --resolution=64 --folds=3
  python -m tools.build_dataset --source=folder:/data/lesions --output=data/lesions64 --resolution=64
  python -m tools.build_dataset --source=csv:/data/xray/labels.csv --output=data/xray256 --resolution=256
"""

from absl import flags, logging

from tfpgan import cli
from tfpgan.atomic import check_writable_destination
from tfpgan.data.build import BAD_IMAGE_POLICIES, BuildOptions, build_dataset
from tfpgan.data.dataset_info import is_power_of_two
from tfpgan.data.images import RESIZE_MODES, parse_window
from tfpgan.data.sources import open_source

flags.DEFINE_string("source", "elpv", "folder:DIR (one sub-folder per class), csv:FILE (columns path,label[,group]; "
                    "paths relative to the CSV), npz:FILE (MedMNIST layout, splits pooled) or elpv (built-in).")
flags.DEFINE_string("output", None, "Dataset folder to create.", required=True)
flags.DEFINE_integer("resolution", 64, "Stored resolution: a power of two in 4..1024.")
flags.DEFINE_enum("channels", "1", ["1", "3"], "Channels stored: 1 (gray) or 3 (RGB).")
flags.DEFINE_enum("resize", "pad", list(RESIZE_MODES), "How non-square images become square.")
flags.DEFINE_integer("folds", 5, "Number of cross-validation folds (stratified; grouped by patient when the "
                     "source has groups).", lower_bound=2)
flags.DEFINE_integer("seed", 0, "Seed of the fold split and the shard order.")
flags.DEFINE_enum("on_bad_image", "fail", list(BAD_IMAGE_POLICIES), "fail: stop at the first unreadable image; "
                  "skip: warn, skip it and count it in dataset.json.")
flags.DEFINE_string("dicom_window", None, "DICOM window 'center,width' (after rescale slope/intercept); "
                    "default: each file's own window.")
flags.DEFINE_string("name", "", "Dataset name (default: the output folder's name).")
flags.DEFINE_bool("overwrite", False, "Replace an existing output folder (only once the new one is complete).")
FLAGS = flags.FLAGS

flags.register_validator("resolution", lambda r: is_power_of_two(r) and 4 <= r <= 1024,
                         "--resolution must be a power of two in 4..1024")


def _valid_window(text):
    if text is None:
        return True
    try:
        parse_window(text)
    except ValueError:
        return False
    return True


flags.register_validator("dicom_window", _valid_window, "--dicom_window must be 'center,width' with width > 0")


def main(argv):
    del argv
    check_writable_destination(FLAGS.output, FLAGS.overwrite)
    options = BuildOptions(resolution=FLAGS.resolution, channels=int(FLAGS.channels), resize=FLAGS.resize,
                           folds=FLAGS.folds, seed=FLAGS.seed, on_bad_image=FLAGS.on_bad_image)
    window = parse_window(FLAGS.dicom_window) if FLAGS.dicom_window else None
    source = open_source(FLAGS.source, window)
    logging.info("%s: %d images in %d classes", FLAGS.source, len(source.items), len(source.classes))
    info = build_dataset(source, FLAGS.output, options, overwrite=FLAGS.overwrite, name=FLAGS.name)
    print(f"wrote {FLAGS.output}: {info.num_examples} images, {info.resolution}x{info.resolution}x{info.channels}, "
          f"{info.folds} folds")
    for name in info.classes:
        per_fold = "/".join(str(row[info.classes.index(name)]) for row in info.fold_counts)
        print(f"  {name:24s} {info.counts[name]:6d}   per fold {per_fold}")
    if info.skipped["count"]:
        print(f"  skipped {info.skipped['count']} bad image(s): see dataset.json")
    return 0


if __name__ == "__main__":
    cli.run(main)
