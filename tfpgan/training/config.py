"""config.json of a GAN run: written at the start, compared on resume."""

from __future__ import annotations

import json
import os

from tfpgan.errors import TfpganError
from tfpgan.options import ARCHITECTURE_KEYS, TrainOptions


def check_resume_compatible(options: TrainOptions, path: str) -> None:
    """Refuse to resume a logdir whose config.json has different architecture keys."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        previous = json.load(handle)
    changed = [f"{k}: {previous.get(k)!r} -> {getattr(options, k)!r}" for k in ARCHITECTURE_KEYS
               if k in previous and previous[k] != getattr(options, k)]
    if changed:
        raise TfpganError(f"{options.logdir} holds a run with a different architecture ({'; '.join(changed)}); "
                          "use a new --logdir")
