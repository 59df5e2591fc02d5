r"""Write the classifier-validation split of one test fold: the ids a GAN for that fold must not train on.

  python -m tools.split_validation --dataset=data/lesions64 --test_fold=0 --output=runs/lesions/fold0/validation.txt
  python -m tools.train --dataset=data/lesions64 --test_fold=0 --exclude_ids=runs/lesions/fold0/validation.txt ...

The split is the one tools.evaluate_classifier uses for that test fold with the same --validation_fraction and
--classifier_seed: stratified by class, grouped by patient, carved from the other folds.
"""

from __future__ import annotations

from tfpgan import cli
from tfpgan import flags as tfpgan_flags


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.split_validation_options_from_flags()
    from tfpgan.validation import validation_ids, write_ids

    ids = validation_ids(options.dataset, options.test_fold, options.validation_fraction, options.seed)
    write_ids(options.output, ids)
    print(f"{len(ids)} validation ids of test fold {options.test_fold}: {options.output}")
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_split_validation_flags()
    cli.run(main)
