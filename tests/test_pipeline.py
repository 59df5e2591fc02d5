"""Tests for tfpgan.data.pipeline: TFRecord -> tf.data round trip, resolutions, folds, sampling, sharding."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from tfpgan.data.build import build_dataset
from tfpgan.data.folds import assign_folds
from tfpgan.data.pipeline import box_downsample, load, read_ids
from tfpgan.data.sources import Item, Source
from tfpgan.errors import DataError
from tfpgan.options import BuildOptions

import datagen

CLASS_SIZES = (24, 8, 4)  # unbalanced on purpose
RESOLUTION, CHANNELS, FOLDS, SEED = 16, 3, 3, 5


def _source(channels):
    labels = np.repeat(np.arange(len(CLASS_SIZES)), CLASS_SIZES)
    pixels = {f"ex{i:02d}": datagen.random_image(i, RESOLUTION, channels) for i in range(len(labels))}
    items = [Item(key, int(label), lambda key=key: pixels[key]) for key, label in zip(pixels, labels)]
    return Source("memory", ("common", "rare", "rarest"), items), pixels


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """(folder, {id: uint8 pixels}, {id: label}, {id: fold}) of an RGB 16x16 dataset with 36 examples."""
    source, pixels = _source(CHANNELS)
    folder = str(tmp_path_factory.mktemp("pipeline") / "data")
    build_dataset(source, folder, BuildOptions(resolution=RESOLUTION, channels=CHANNELS, folds=FOLDS, seed=SEED))
    labels = np.array([item.label for item in source.items])
    folds = assign_folds(list(pixels), labels, [""] * len(labels), FOLDS, SEED, source.classes)
    return folder, pixels, dict(zip(pixels, labels)), dict(zip(pixels, folds))


def _examples(data):
    """[(image, label, id)] of an unbatched or batched dataset, as numpy, in order."""
    examples = []
    for images, labels, ids in data.as_numpy_iterator():
        if images.ndim == 4:
            examples += list(zip(images, labels, ids))
        else:
            examples.append((images, labels, ids))
    return examples


def _ids(data):
    return [example_id.decode() for _, _, example_id in _examples(data)]


def _block_means(pixels, factor):
    values = pixels.astype(np.float64) / 127.5 - 1.0
    size = pixels.shape[0] // factor
    return values.reshape(size, factor, size, factor, -1).mean(axis=(1, 3))


@pytest.mark.parametrize("resolution", [16, 8, 4])
def test_round_trip_values_and_box_downsampling(dataset, resolution):
    folder, pixels, labels, _ = dataset
    data = load(folder, resolution=resolution, with_ids=True)
    assert data.element_spec[0].dtype == tf.float32 and data.element_spec[1].dtype == tf.int32
    examples = _examples(data)
    assert sorted(example_id.decode() for _, _, example_id in examples) == sorted(pixels)
    for image, label, example_id in examples:
        key = example_id.decode()
        assert image.shape == (resolution, resolution, CHANNELS) and label == labels[key]
        np.testing.assert_allclose(image, _block_means(pixels[key], RESOLUTION // resolution), atol=1e-5)


def test_uint8_extremes_map_to_minus_one_and_one(tmp_path):
    values = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)
    source = Source("memory", ("a", "b"), [Item(f"{i}", i % 2, lambda: values) for i in range(4)])
    build_dataset(source, str(tmp_path / "gray"), BuildOptions(resolution=16, channels=1, folds=2))
    image, _ = next(load(str(tmp_path / "gray")).as_numpy_iterator())
    assert image.shape == (16, 16, 1)
    np.testing.assert_allclose(image[:, :, 0], values[:, :, 0] / 127.5 - 1.0, atol=1e-6)
    assert image.min() == -1.0 and image.max() == 1.0


def test_box_downsample_matches_block_means():
    images = np.random.default_rng(0).uniform(-1, 1, size=(2, 3, 8, 8, 2)).astype(np.float32)
    for factor in (1, 2, 4, 8):
        expected = images.reshape(2, 3, 8 // factor, factor, 8 // factor, factor, 2).mean(axis=(3, 5))
        np.testing.assert_allclose(box_downsample(tf.constant(images), factor), expected, atol=1e-6)


@pytest.mark.parametrize("selected", [[0], [1, 2], [2, 0, 2]])
def test_fold_selection(dataset, selected):
    folder, _, _, folds = dataset
    ids = _ids(load(folder, folds=selected, with_ids=True))
    assert sorted(ids) == sorted(key for key, fold in folds.items() if fold in selected)


@pytest.mark.parametrize("selected", [[3], [-1], []])
def test_unknown_folds_are_a_data_error(dataset, selected):
    with pytest.raises(DataError, match="cannot select folds"):
        load(dataset[0], folds=selected)


@pytest.mark.parametrize("resolution", [32, 12, 3])
def test_unavailable_resolution_is_a_data_error(dataset, resolution):
    with pytest.raises(DataError, match=f"power of two <= 16, got {resolution}"):
        load(dataset[0], resolution=resolution)


def test_batching(dataset):
    folder = dataset[0]
    sizes = [images.shape[0] for images, _ in load(folder, batch_size=10).as_numpy_iterator()]
    assert sizes == [10, 10, 10, 6]
    images, labels = next(load(folder, batch_size=10, resolution=8).as_numpy_iterator())
    assert images.shape == (10, 8, 8, CHANNELS) and labels.shape == (10,)
    dropped = load(folder, batch_size=10, drop_remainder=True)
    assert dropped.element_spec[0].shape == (10, 16, 16, CHANNELS)
    assert sum(1 for _ in dropped) == 3


def test_shuffle_is_deterministic_for_a_seed(dataset):
    folder, pixels, _, _ = dataset

    def first_epochs(seed):
        return _ids(load(folder, shuffle=True, repeat=True, seed=seed, with_ids=True, batch_size=36).take(2))

    order = first_epochs(seed=1)
    assert order == first_epochs(seed=1)
    assert order != first_epochs(seed=2)
    epoch1, epoch2 = order[:36], order[36:]
    assert sorted(epoch1) == sorted(epoch2) == sorted(pixels)  # each epoch is a permutation ...
    assert epoch1 != epoch2  # ... reshuffled every epoch
    assert epoch1 != _ids(load(folder, with_ids=True))


def test_shuffle_covers_the_whole_dataset_by_default(tmp_path):
    """With more examples than the old fixed buffer (10,000), an epoch can start with any example."""
    count, image = 12_000, np.zeros((4, 4, 1), np.uint8)
    source = Source("memory", ("a", "b"), [Item(f"ex{i:05d}", i % 2, lambda: image) for i in range(count)])
    folder = str(tmp_path / "large")
    build_dataset(source, folder, BuildOptions(resolution=4, channels=1, folds=2))
    stored = {key: position for position, key in enumerate(_ids(load(folder, with_ids=True, batch_size=1000)))}
    first = _ids(load(folder, shuffle=True, seed=0, with_ids=True, batch_size=200).take(1))
    assert max(stored[key] for key in first) > 10_200  # a 10,000 buffer can only reach position 10,000 + 200
    small = _ids(load(folder, shuffle=True, seed=0, with_ids=True, batch_size=200, shuffle_buffer=100).take(1))
    assert max(stored[key] for key in small) < 300  # an explicit buffer still wins


def test_repeat(dataset):
    folder, pixels, _, _ = dataset
    counts = collections.Counter(_ids(load(folder, repeat=True, with_ids=True).take(3 * 36)))
    assert counts == {key: 3 for key in pixels}


@pytest.mark.parametrize("selected", [None, [1]])
def test_balanced_sampling_draws_classes_equally(dataset, selected):
    folder, _, labels, folds = dataset
    data = load(folder, folds=selected, balanced=True, shuffle=True, batch_size=100, seed=3, with_ids=True)
    drawn = _examples(data.take(30))
    frequencies = np.bincount([label for _, label, _ in drawn], minlength=3) / len(drawn)
    np.testing.assert_allclose(frequencies, 1 / 3, atol=0.04)
    available = {key for key, fold in folds.items() if selected is None or fold in selected}
    assert {example_id.decode() for _, _, example_id in drawn} == available
    assert all(labels[example_id.decode()] == label for _, label, example_id in drawn)


def test_balanced_sampling_is_deterministic_for_a_seed(dataset):
    def draws(seed):
        return _ids(load(dataset[0], balanced=True, shuffle=True, batch_size=50, seed=seed, with_ids=True).take(2))

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)


def test_input_context_shards_the_examples(dataset):
    folder, pixels, _, _ = dataset
    shards = [_ids(load(folder, with_ids=True, input_context=tf.distribute.InputContext(2, i, 1)))
              for i in range(2)]
    assert len(shards[0]) == len(shards[1]) == 18
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == sorted(pixels)


def test_distribute_datasets_from_function(dataset):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    distributed = strategy.distribute_datasets_from_function(
        lambda context: load(dataset[0], batch_size=context.get_per_replica_batch_size(8), repeat=True,
                             shuffle=True, seed=0, drop_remainder=True, input_context=context))
    images, labels = next(iter(distributed))
    per_replica = strategy.experimental_local_results(images)
    assert [tuple(batch.shape) for batch in per_replica] == [(4, 16, 16, CHANNELS)] * 2
    assert len(strategy.experimental_local_results(labels)) == 2


def test_excluded_ids_never_reach_a_batch_even_when_balanced_and_repeated(dataset):
    folder, pixels, labels, _ = dataset
    excluded = ["ex00", "ex30", "ex35"]  # a common, a rare and a rarest example
    plain = set(_ids(load(folder, batch_size=5, with_ids=True, exclude_ids=excluded)))
    assert plain == set(pixels) - set(excluded)
    balanced = load(folder, batch_size=6, balanced=True, shuffle=True, seed=1, with_ids=True, exclude_ids=excluded)
    seen = set(_ids(balanced.take(30)))
    assert seen.isdisjoint(excluded) and {labels[i] for i in seen} == {0, 1, 2}


def test_read_ids_sorts_and_dedups_and_refuses_a_missing_or_empty_file(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_text("b\n\na\nb\n")
    assert read_ids(str(path)) == ["a", "b"]
    with pytest.raises(DataError, match="no such id file"):
        read_ids(str(tmp_path / "missing.txt"))
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(DataError, match="empty"):
        read_ids(str(tmp_path / "empty.txt"))
