"""Tests for tfpgan.models.classifiers: shapes, head contract, weights loading, input checks."""

import keras
import numpy as np
import pytest

from tfpgan.models import classifiers


def _images(shape, count=2):
    return np.random.default_rng(0).uniform(-1, 1, size=(count, *shape)).astype("float32")


def _check_head(model, num_classes, feature_size):
    head = model.layers[-1]
    assert isinstance(head, keras.layers.Dense) and head.name == "probabilities"
    assert head.units == num_classes
    assert tuple(model.get_layer("probabilities").input.shape) == (None, feature_size)


@pytest.mark.parametrize(
    "name, input_shape, feature_size",
    [
        ("cnn", (16, 16, 1), 128),
        ("resnet18", (16, 16, 1), 512),
        ("vgg16", (32, 32, 1), 512),
        ("vgg16", (32, 32, 3), 512),
        ("resnet50", (32, 32, 1), 2048),
        ("resnet50", (32, 32, 3), 2048),
    ],
)
def test_output_is_a_probability_per_class(name, input_shape, feature_size):
    model = classifiers.build_classifier(name, input_shape, num_classes=3)
    probabilities = np.asarray(model(_images(input_shape), training=False))
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (probabilities >= 0).all()
    _check_head(model, 3, feature_size)


def test_names_are_listed():
    assert classifiers.CLASSIFIERS == ("cnn", "resnet18", "vgg16", "resnet50")


def test_resnet18_stem_depends_on_input_size():
    def max_pools(model):
        return [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]

    small = classifiers.build_classifier("resnet18", (16, 16, 1), num_classes=2)
    large = classifiers.build_classifier("resnet18", (72, 72, 1), num_classes=2)
    assert not max_pools(small)
    assert small.layers[1].kernel_size == (3, 3) and small.layers[1].strides == (1, 1)
    assert len(max_pools(large)) == 1
    assert large.layers[1].kernel_size == (7, 7) and large.layers[1].strides == (2, 2)
    # BasicBlock x [2, 2, 2, 2]: stem conv + 16 block convs + 3 projection shortcuts.
    assert sum(isinstance(layer, keras.layers.Conv2D) for layer in small.layers) == 20


def test_cnn_follows_frid_adar_layout():
    model = classifiers.build_classifier("cnn", (16, 16, 1), num_classes=3)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [32, 64, 128]
    assert all(conv.kernel_size == (5, 5) for conv in convs)
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [dropout.rate for dropout in dropouts] == [0.5]


def test_zero_dropout_leaves_the_layer_out():
    model = classifiers.build_classifier("cnn", (16, 16, 1), num_classes=2, dropout=0.0)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)


def test_weights_path_round_trip(tmp_path):
    images = _images((16, 16, 1))
    original = classifiers.build_classifier("cnn", (16, 16, 1), num_classes=3)
    path = str(tmp_path / "cnn.weights.h5")
    original.save_weights(path)
    restored = classifiers.build_classifier("cnn", (16, 16, 1), num_classes=3, weights_path=path)
    fresh = classifiers.build_classifier("cnn", (16, 16, 1), num_classes=3)
    expected = np.asarray(original(images, training=False))
    np.testing.assert_allclose(np.asarray(restored(images, training=False)), expected, atol=1e-6)
    assert not np.allclose(np.asarray(fresh(images, training=False)), expected, atol=1e-6)


def test_missing_weights_file_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "absent.weights.h5")
    with pytest.raises(FileNotFoundError, match="absent.weights.h5"):
        classifiers.build_classifier("cnn", (16, 16, 1), num_classes=3, weights_path=missing)


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_applications_refuse_small_inputs(name):
    with pytest.raises(ValueError, match="at least 32x32"):
        classifiers.build_classifier(name, (16, 16, 1), num_classes=3)


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="cnn, resnet18, vgg16, resnet50"):
        classifiers.build_classifier("alexnet", (16, 16, 1), num_classes=3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (16, 16)}, "input_shape"),
        ({"num_classes": 1}, "num_classes"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_arguments_raise(kwargs, message):
    arguments = {"name": "cnn", "input_shape": (16, 16, 1), "num_classes": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        classifiers.build_classifier(**arguments)
