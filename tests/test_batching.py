"""Tests for tfpgan.metrics.batching."""
import numpy as np
import pytest

from tfpgan.metrics.batching import image_batches


def test_array_is_sliced_into_float32_batches():
    images = np.arange(5 * 2 * 2, dtype=np.uint8).reshape(5, 2, 2, 1)
    batches = list(image_batches(images, batch_size=2))
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert all(batch.dtype == np.float32 for batch in batches)
    np.testing.assert_array_equal(np.concatenate(batches), images)


def test_iterable_batches_pass_through_in_order():
    parts = [np.full((3, 4, 4, 3), i, np.float64) for i in range(3)]
    batches = list(image_batches(iter(parts), batch_size=100))
    assert [batch[0, 0, 0, 0] for batch in batches] == [0.0, 1.0, 2.0]


def test_rejects_non_image_arrays():
    with pytest.raises(ValueError, match="NHWC"):
        list(image_batches(np.zeros((4, 8, 8), np.float32)))
    with pytest.raises(ValueError, match="batch_size"):
        list(image_batches(np.zeros((4, 8, 8, 1), np.float32), batch_size=0))
