"""config.json of a GAN run: written at the start, compared on resume."""

from __future__ import annotations

import json
import os

from tfpgan.errors import TfpganError
from tfpgan.options import ARCHITECTURE_KEYS, SCHEDULE_KEYS, TrainOptions


def check_resume_compatible(options: TrainOptions, path: str) -> None:
    """Refuse to resume a logdir whose config.json has another --mixed_precision or other architecture keys, or
    other schedule keys unless --allow_schedule_change."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        previous = json.load(handle)
    current = json.loads(options.to_json())  # the form config.json stores (string keys of resolution maps)

    def changed(keys) -> str:
        return "; ".join(f"{k}: {previous[k]!r} -> {current[k]!r}" for k in keys if k in previous
                         and previous[k] != current[k])

    if "mixed_precision" in previous and previous["mixed_precision"] != options.mixed_precision:
        was = str(previous["mixed_precision"]).lower()
        kind = "loss-scaled" if previous["mixed_precision"] else "plain"
        raise TfpganError(f"{options.logdir} was trained with --mixed_precision={was}: its checkpoints hold {kind} "
                          "Adam optimizers; resume with the same --mixed_precision or use a new --logdir")
    if changed(ARCHITECTURE_KEYS):
        raise TfpganError(f"{options.logdir} holds a run with a different architecture ({changed(ARCHITECTURE_KEYS)}); "
                          "use a new --logdir")
    if changed(SCHEDULE_KEYS) and not options.allow_schedule_change:
        raise TfpganError(f"{options.logdir} holds a run with a different schedule ({changed(SCHEDULE_KEYS)}); "
                          "use a new --logdir, or pass --allow_schedule_change to continue it on the new schedule")
