"""Turn a labeled image source into a tfpgan dataset folder with cross-validation folds.

  python -m tools.build_dataset --source=elpv --output=data/elpv64 --resolution=64 --folds=3
  python -m tools.build_dataset --source=folder:/data/lesions --output=data/lesions64 --resolution=64 --channels=1
  python -m tools.build_dataset --source=csv:/data/xray/labels.csv --output=data/xray256 --resolution=256
"""

from __future__ import annotations

from tfpgan import cli
from tfpgan import flags as tfpgan_flags
from tfpgan.atomic import check_writable_destination
from tfpgan.data.dataset_info import foreign_content


def main(argv: list[str]) -> int:
    del argv
    job = tfpgan_flags.build_job_from_flags()
    check_writable_destination(job.output, job.overwrite, foreign_content)
    from tfpgan.data.build import build_dataset  # TensorFlow loads here, after the flag checks
    from tfpgan.data.sources import open_source

    source = open_source(job.source, job.dicom_window)
    info = build_dataset(source, job.output, job.build, overwrite=job.overwrite, name=job.name)
    print(f"wrote {job.output}: {info.num_examples} images, {info.resolution}x{info.resolution}x{info.channels}, "
          f"{info.folds} folds")
    for name in info.classes:
        per_fold = "/".join(str(row[info.classes.index(name)]) for row in info.fold_counts)
        print(f"  {name:24s} {info.counts[name]:6d}   per fold {per_fold}")
    if info.skipped["count"]:
        print(f"  skipped {info.skipped['count']} bad image(s): see dataset.json")
    if info.ignored_files["count"]:
        print(f"  ignored {info.ignored_files['count']} non-image file(s): see dataset.json")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_build_flags()
    cli.run(main)
