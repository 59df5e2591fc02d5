"""config.json of a GAN run: written at the start, compared on resume; and the record of what the GAN trains on,
kept in config.json and in every checkpoint."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

from tfpgan.errors import TfpganError
from tfpgan.options import ARCHITECTURE_KEYS, SCHEDULE_KEYS, TrainOptions

# config.json's key of the training-data record (beside the options), and the record's name in a checkpoint.
TRAINING_DATA_KEY = "training_data"


def training_data(fingerprint: str, excluded_ids: Sequence[str]) -> dict:
    """What a GAN run trains on: its dataset's fingerprint, and the number and sha256 of its excluded ids (sorted,
    distinct, one per line)."""
    ids = sorted(set(excluded_ids))
    return {"dataset_fingerprint": fingerprint, "excluded_id_count": len(ids),
            "excluded_ids_sha256": hashlib.sha256("".join(f"{i}\n" for i in ids).encode("utf-8")).hexdigest()}


def check_training_data(logdir: str, recorded: dict, current: dict, where: str) -> None:
    """Refuse, in one line naming the old and the new values, a resume or an export whose dataset fingerprint or
    excluded ids differ from those `where` (config.json, a checkpoint) recorded: a resume cannot change what the
    GAN has seen. No option overrides this."""
    def describe(record: dict) -> str:
        return (f"dataset fingerprint {str(record.get('dataset_fingerprint'))[:16]}..., "
                f"{record.get('excluded_id_count')} excluded ids (sha256 {str(record.get('excluded_ids_sha256'))[:16]}"
                "...)")

    if any(recorded.get(key) != current[key] for key in ("dataset_fingerprint", "excluded_ids_sha256")):
        raise TfpganError(f"{logdir} was trained on other images than this run gives it: {where} records "
                          f"{describe(recorded)}, now {describe(current)}; a resume cannot change what the GAN has "
                          "seen: use a new --logdir, or the former --dataset and --exclude_ids")


def check_resume_compatible(options: TrainOptions, path: str, data: dict | None = None) -> None:
    """Refuse to resume a logdir whose config.json has another --mixed_precision or other architecture keys, other
    schedule keys unless --allow_schedule_change, or (given `data`, the `training_data` of this run) other training
    data."""
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        previous = json.load(handle)
    if data is not None and TRAINING_DATA_KEY in previous:
        check_training_data(options.logdir, previous[TRAINING_DATA_KEY], data, os.path.basename(path))
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
