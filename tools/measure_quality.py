r"""Audit synthetic images against the real training folds: SWD, MS-SSIM, domain FID/KID, memorization.

  python -m tools.measure_quality --real=data/elpv64 --folds=0,1 --synthetic=data/synthetic64 --output=runs/quality
  python -m tools.measure_quality --real=data/elpv64 --generator=runs/gan/export/generator --num=500 \
      --output=runs/quality

Without --folds, the folds are the generator's trained_on_folds (from --generator, or recorded by tools.synthesize
in the --synthetic set), and the real dataset must be the one it was trained on. The other folds are the held-out
baseline of the memorization audit, of FID/KID and of the feature classifier's accuracy. Writes
OUTPUT/quality.json, quality.md and closest_pairs.png; a --synthetic set made by tools.synthesize also gets the
audit's summary in its data card (DATACARD.md, datacard.json).
"""

from __future__ import annotations

import os

from tfpgan import cli
from tfpgan import flags as tfpgan_flags
from tfpgan.atomic import check_writable_destination
from tfpgan.run_folder import QUALITY_MARKDOWN


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.quality_options_from_flags()
    check_writable_destination(options.output, options.overwrite)
    from tfpgan import datacard, quality, quality_report  # TensorFlow loads here, after the flag checks

    result = quality.audit(options)
    quality_report.write_quality_report(result, options.output, options.overwrite)
    print(quality_report.summary_text(result.report))
    print(f"wrote {os.path.join(options.output, QUALITY_MARKDOWN)}")
    if options.synthetic and datacard.is_synthetic_set(options.synthetic):
        try:
            datacard.write_datacard(options.synthetic, result)
            print(f"updated {os.path.join(options.synthetic, datacard.DATACARD_MARKDOWN)}")
        except OSError as error:
            print(f"warning: cannot update the data card of {options.synthetic}: {error}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_quality_flags()
    cli.run(main)
