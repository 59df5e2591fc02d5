"""Tests for tfpgan.labeled: LabeledArrays and loading a dataset folder into one."""

import numpy as np
import pytest

from tfpgan.data.build import build_dataset
from tfpgan.data.sources import Item, Source
from tfpgan.labeled import LabeledArrays, load_arrays
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
    assert picked.ids == ["e", "a", "c"] and picked.labels.tolist() == [4, 0, 2]
    assert picked.images[:, 0, 0, 0].tolist() == [1.0, 0.0, 2.0]  # image 1 of the second part, images 0 and 2


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="3 images, 3 labels and 2 ids"):
        LabeledArrays(np.zeros((3, 2, 2, 1), np.float32), np.zeros(3, int), ["a", "b"])


def test_load_arrays_sorts_by_id_in_the_pipeline_range(tmp_path):
    pixels = {"b/2": 255, "a/9": 0, "b/1": 51, "a/10": 102}
    items = [Item(image_id, int(image_id[0] == "b"), lambda value=value: np.full((4, 4, 1), value, np.uint8))
             for image_id, value in pixels.items()]
    build_dataset(Source("memory", ("a", "b"), items), str(tmp_path / "data"), BuildOptions(resolution=4, folds=1))

    loaded = load_arrays(str(tmp_path / "data"))

    assert loaded.ids == ["a/10", "a/9", "b/1", "b/2"] and loaded.labels.tolist() == [0, 0, 1, 1]
    assert loaded.images.dtype == np.float32 and loaded.images.shape == (4, 4, 4, 1)
    np.testing.assert_allclose(loaded.images[:, 0, 0, 0], [102 / 127.5 - 1, -1.0, 51 / 127.5 - 1, 1.0], atol=1e-6)
