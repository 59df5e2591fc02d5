"""Tests for tfpgan.labeled: LabeledArrays (subsets, oversampling) and loading a dataset folder into one."""

import numpy as np
import pytest

from tfpgan.data.build import build_dataset
from tfpgan.data.sources import Item, Source
from tfpgan.errors import DataError
from tfpgan.labeled import LabeledArrays, load_arrays, read_records
from tfpgan.options import BuildOptions


def arrays(ids: list[str], first_label: int = 0) -> LabeledArrays:
    """Image k is filled with the value k; labels count up from `first_label`."""
    count = len(ids)
    images = np.broadcast_to(np.arange(count, dtype=np.float32)[:, None, None, None], (count, 2, 2, 1))
    return LabeledArrays(images, np.arange(first_label, first_label + count), ids)


def test_subset_and_concatenate_keep_images_labels_and_ids_together():
    both = LabeledArrays.concatenate([arrays(["a", "b", "c"]), arrays(["d", "e"], first_label=3)])
    assert len(both) == 5 and both.ids == ["a", "b", "c", "d", "e"] and both.labels.tolist() == [0, 1, 2, 3, 4]

    picked = both.subset(np.array([4, 0, 2]))
    assert picked.ids == ["e", "a", "c"] and picked.labels.tolist() == [4, 0, 2] and picked.groups == [""] * 3
    assert picked.images[:, 0, 0, 0].tolist() == [1.0, 0.0, 2.0]  # image 1 of the second part, images 0 and 2


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="3 images, 3 labels, 2 ids and 2 groups"):
        LabeledArrays(np.zeros((3, 2, 2, 1), np.float32), np.zeros(3, int), ["a", "b"])


def test_select_ids_picks_by_id_and_names_a_missing_one():
    five = arrays(["a", "b", "c", "d", "e"])
    assert five.select_ids(["d", "a"]).labels.tolist() == [3, 0]
    with pytest.raises(DataError, match="1 id\\(s\\) not among the 5 examples, e.g. 'z'"):
        five.select_ids(["a", "z"])


def test_oversampled_reaches_the_targets_using_every_image_once_before_repeating():
    labels = np.array([0] * 5 + [1] * 2)
    base = LabeledArrays(np.arange(7, dtype=np.float32)[:, None, None, None], labels, [f"x{i}" for i in range(7)])

    grown = base.oversampled({0: 12, 1: 7}, seed=1)

    assert grown.class_counts(2).tolist() == [12, 7]
    for label, members in ((0, range(5)), (1, range(5, 7))):
        used = [grown.ids.count(f"x{i}") for i in members]
        assert min(used) >= 1 and sum(used) == [12, 7][label]
    assert grown.labels.tolist() == [0] * 12 + [1] * 7
    assert [grown.labels[grown.ids.index(i)] for i in set(grown.ids)] == [labels[int(i[1:])] for i in set(grown.ids)]
    assert grown.oversampled({0: 12, 1: 7}, seed=1).ids == grown.oversampled({0: 12, 1: 7}, seed=1).ids
    assert base.oversampled({0: 12, 1: 7}, seed=1).ids == grown.ids  # seeded
    assert base.oversampled({0: 12, 1: 7}, seed=2).ids != grown.ids
    shrunk = base.oversampled({0: 3, 1: 2}, seed=1)
    assert shrunk.class_counts(2).tolist() == [3, 2] and len(set(shrunk.ids)) == 5  # no repeats below the count
    with pytest.raises(DataError, match="cannot oversample label 2 to 4"):
        base.oversampled({2: 4}, seed=0)


def test_load_arrays_sorts_by_id_in_the_pipeline_range_with_groups(tmp_path):
    pixels = {"b/2": 255, "a/9": 0, "b/1": 51, "a/10": 102}
    groups = {"b/2": "p1", "a/9": "", "b/1": "p2", "a/10": "p1"}
    items = [Item(image_id, int(image_id[0] == "b"), lambda value=value: np.full((4, 4, 1), value, np.uint8),
                  group=groups[image_id]) for image_id, value in pixels.items()]
    build_dataset(Source("memory", ("a", "b"), items), str(tmp_path / "data"), BuildOptions(resolution=4, folds=1))

    loaded = load_arrays(str(tmp_path / "data"))

    assert loaded.ids == ["a/10", "a/9", "b/1", "b/2"] and loaded.labels.tolist() == [0, 0, 1, 1]
    assert loaded.groups == ["p1", "", "p2", "p1"]
    assert [(r.id, r.label, r.fold, r.group) for r in read_records(str(tmp_path / "data"))] == [
        ("a/10", 0, 0, "p1"), ("a/9", 0, 0, ""), ("b/1", 1, 0, "p2"), ("b/2", 1, 0, "p1")]
    assert loaded.images.dtype == np.float32 and loaded.images.shape == (4, 4, 4, 1)
    np.testing.assert_allclose(loaded.images[:, 0, 0, 0], [102 / 127.5 - 1, -1.0, 51 / 127.5 - 1, 1.0], atol=1e-6)
