"""`dataset.json`: the description of a dataset folder, its validation, reading and writing."""

from __future__ import annotations

import dataclasses
import json
import os
import typing

from tfpgan.errors import DataError, TfpganError
from tfpgan.options import valid_resolution
from tfpgan.run_folder import PNG_DIR

FORMAT_VERSION = 1
INFO_FILE = "dataset.json"
PREVIEW_FILE = "preview.png"
CACHE_DIR = ".cache"  # tfpgan.quality's feature-classifier cache
DATACARD_FILES = ("datacard.json", "DATACARD.md")  # a synthetic set's data card (tfpgan.datacard)
FOREIGN_LISTED = 5


@dataclasses.dataclass
class DatasetInfo:
    """What `dataset.json` records about a dataset folder."""

    name: str
    resolution: int
    channels: int
    classes: list[str]
    counts: dict[str, int]
    folds: int
    fold_counts: list[list[int]]
    num_examples: int
    source: str
    seed: int
    shards: list[str]
    fingerprint: str = ""
    format_version: int = FORMAT_VERSION
    resize: str = ""
    grouped: bool = False
    skipped: dict = dataclasses.field(default_factory=lambda: {"count": 0, "files": []})
    ignored_files: dict = dataclasses.field(default_factory=lambda: {"count": 0, "files": []})
    attributes: dict = dataclasses.field(default_factory=dict)
    extra: dict = dataclasses.field(default_factory=dict)
    # How values became 0..255 (--intensity): mode, and the range mapped (measured for auto/dataset, given for a
    # window). Datasets written before this field scaled every non-uint8 image to its own range.
    intensity: dict = dataclasses.field(default_factory=lambda: {"mode": "per_image", "low": None, "high": None})

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def training_folds(self, test_fold: int) -> list[int]:
        """Every fold but `test_fold` (-1: every fold): what a GAN or classifier of that test fold trains on."""
        if test_fold >= self.folds:
            raise TfpganError(f"test_fold {test_fold} does not exist: the dataset has folds 0..{self.folds - 1}")
        return [f for f in range(self.folds) if f != test_fold]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=False) + "\n"


def validate(info: DatasetInfo, where: str) -> None:
    """Raise DataError if the fields contradict each other."""
    problems = []
    if info.format_version != FORMAT_VERSION:
        problems.append(f"format_version {info.format_version} is not supported (expected {FORMAT_VERSION})")
    if not valid_resolution(info.resolution):
        problems.append(f"resolution {info.resolution} is not a power of two in 4..1024")
    if info.channels not in (1, 3):
        problems.append(f"channels must be 1 or 3, got {info.channels}")
    if not info.classes or len(set(info.classes)) != len(info.classes):
        problems.append("classes must be a non-empty list of distinct names")
    if set(info.counts) != set(info.classes):
        problems.append("counts does not name exactly the classes")
    elif sum(info.counts.values()) != info.num_examples:
        problems.append(f"counts add up to {sum(info.counts.values())}, not num_examples={info.num_examples}")
    if len(info.fold_counts) != info.folds or any(len(row) != len(info.classes) for row in info.fold_counts):
        problems.append("fold_counts must have one row per fold and one column per class")
    elif sum(map(sum, info.fold_counts)) != info.num_examples:
        problems.append("fold_counts do not add up to num_examples")
    if not info.shards:
        problems.append("no shards listed")
    if problems:
        raise DataError(f"{where}: invalid dataset description: " + "; ".join(problems))


def _matches(value, hint) -> bool:
    """Whether a JSON value has the annotated type (list[...] and dict[...] checked element-wise)."""
    origin, args = typing.get_origin(hint) or hint, typing.get_args(hint)
    if not isinstance(value, origin) or (origin is int and isinstance(value, bool)):
        return False
    if origin is list and args:
        return all(_matches(v, args[0]) for v in value)
    if origin is dict and args:
        return all(_matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items())
    return True


def read_info(dataset_dir: str) -> DatasetInfo:
    """Read and validate DIR/dataset.json; check that its shards exist."""
    path = os.path.join(dataset_dir, INFO_FILE)
    if not os.path.isdir(dataset_dir):
        raise DataError(f"{dataset_dir}: dataset folder not found")
    if not os.path.isfile(path):
        raise DataError(f"{dataset_dir}: not a tfpgan dataset (no {INFO_FILE}); build one with tools.build_dataset")
    try:
        with open(path, encoding="utf-8") as handle:
            fields = json.load(handle)
    except (OSError, ValueError) as error:  # JSONDecodeError, UnicodeDecodeError
        raise DataError(f"{path}: cannot read ({error})") from None
    if not isinstance(fields, dict):
        raise DataError(f"{path}: not a JSON object")
    known = {f.name for f in dataclasses.fields(DatasetInfo)}
    required = {f.name for f in dataclasses.fields(DatasetInfo) if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(fields))
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}")
    hints = typing.get_type_hints(DatasetInfo)
    wrong = [k for k, hint in hints.items() if k in fields and not _matches(fields[k], hint)]
    if wrong:
        raise DataError(f"{path}: wrong value type for {', '.join(wrong)}")
    info = DatasetInfo(**{k: v for k, v in fields.items() if k in known})
    validate(info, path)
    absent = [s for s in info.shards if not os.path.isfile(os.path.join(dataset_dir, s))]
    if absent:
        raise DataError(f"{dataset_dir}: shard file(s) missing: {', '.join(absent)}")
    return info


def foreign_content(directory: str) -> str:
    """Why `directory` is not a dataset folder tfpgan wrote ("" when it is one): what --overwrite checks.

    A dataset folder holds a dataset.json, the shards it lists, preview.png and optionally the .cache folder; a
    synthetic set (one whose dataset.json records its generator) also its png/ folder and its data card.
    """
    if not os.path.isdir(directory):
        return "it is not a folder"
    if not os.listdir(directory):
        return ""  # an empty folder: nothing to lose
    try:
        with open(os.path.join(directory, INFO_FILE), encoding="utf-8") as handle:
            content = json.load(handle)
        written = {INFO_FILE, PREVIEW_FILE, CACHE_DIR, *content["shards"]}
        if content.get("extra", {}).get("generator"):
            written.update((PNG_DIR, *DATACARD_FILES))
    except (OSError, ValueError, KeyError, TypeError):
        return f"it has no readable {INFO_FILE}"
    others = sorted(set(os.listdir(directory)) - written)
    if not others:
        return ""
    more = ", ..." if len(others) > FOREIGN_LISTED else ""
    return f"it holds {', '.join(others[:FOREIGN_LISTED])}{more}"
