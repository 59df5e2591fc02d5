"""Image classifiers for the augmentation experiments (Frid-Adar et al. 2018).

Every model takes images in [-1, 1], shaped (H, W, C), and ends with
``features -> Dropout(dropout) -> Dense(num_classes, softmax, name="probabilities")``:
the last Dense is the classification head, so ``model.get_layer("probabilities").input``
is the penultimate feature layer (used e.g. as a domain feature space for FID/KID;
dropout is the identity at inference). ``dropout=0`` leaves the Dropout layer out.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import keras
from keras import layers

from tfpgan.options import CLASSIFIERS

# keras.applications backbones refuse smaller inputs (5 stride-2 stages).
APPLICATIONS_MIN_SIZE = 32
# ResNet-18 inputs up to this size get the CIFAR/MedMNIST stem (3x3 stride 1, no max-pool);
# larger ones the ImageNet stem (7x7 stride 2 + 3x3 stride-2 max-pool).
RESNET18_SMALL_INPUT_MAX = 64


def _cnn_features(inputs: keras.KerasTensor) -> keras.KerasTensor:
    """Frid-Adar et al. 2018 lesion classifier, up to its first dense layer.

    From Frid-Adar et al. 2018: three conv + max-pool pairs, then two dense layers with
    dropout 0.5 (the second is the softmax head), trained with SGD lr 1e-3, batch 64 on
    64x64 ROIs. Chosen here (project spec, not checked against the paper): 5x5 kernels
    with 32/64/128 filters, ReLU, "same" padding, 2x2 max-pools, a 128-unit dense layer.
    """
    x = inputs
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 5, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    return layers.Dense(128, activation="relu")(x)


def _conv_bn(x: keras.KerasTensor, filters: int, kernel_size: int, strides: int) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False)(x)
    return layers.BatchNormalization()(x)


def _basic_block(x: keras.KerasTensor, filters: int, strides: int) -> keras.KerasTensor:
    """ResNet BasicBlock: two 3x3 conv-BN, projection shortcut when the shape changes."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, strides)
    y = layers.ReLU()(_conv_bn(x, filters, 3, strides))
    y = _conv_bn(y, filters, 3, 1)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def _resnet18_features(inputs: keras.KerasTensor) -> keras.KerasTensor:
    """ResNet-18 as in the MedMNIST baselines: BasicBlock x [2, 2, 2, 2], 64..512 filters."""
    if max(inputs.shape[1:3]) <= RESNET18_SMALL_INPUT_MAX:
        x = layers.ReLU()(_conv_bn(inputs, 64, 3, 1))
    else:
        x = layers.ReLU()(_conv_bn(inputs, 64, 7, 2))
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for stage, filters in enumerate((64, 128, 256, 512)):
        x = _basic_block(x, filters, strides=1 if stage == 0 else 2)
        x = _basic_block(x, filters, strides=1)
    return layers.GlobalAveragePooling2D()(x)


def _applications_features(
    backbone: Callable[..., keras.Model],
) -> Callable[[keras.KerasTensor], keras.KerasTensor]:
    """A keras.applications backbone (random weights, global average pool) on our input."""

    def features(inputs: keras.KerasTensor) -> keras.KerasTensor:
        height, width = inputs.shape[1:3]
        if min(height, width) < APPLICATIONS_MIN_SIZE:
            raise ValueError(
                f"{backbone.__name__} needs images of at least {APPLICATIONS_MIN_SIZE}x"
                f"{APPLICATIONS_MIN_SIZE} pixels; got {height}x{width}. Use 'cnn' or 'resnet18' "
                "for smaller images."
            )
        model = backbone(weights=None, include_top=False, input_tensor=inputs, pooling="avg")
        return model.output

    return features


_FEATURE_BUILDERS: dict[str, Callable[[keras.KerasTensor], keras.KerasTensor]] = {
    "cnn": _cnn_features,
    "resnet18": _resnet18_features,
    "vgg16": _applications_features(keras.applications.VGG16),
    "resnet50": _applications_features(keras.applications.ResNet50),
}


def build_classifier(
    name: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    weights_path: str | None = None,
    dropout: float = 0.5,
) -> keras.Model:
    """Builds classifier ``name`` (one of CLASSIFIERS) with a softmax output "probabilities".

    Args:
      name: "cnn", "resnet18", "vgg16" or "resnet50". vgg16/resnet50 need H, W >= 32.
      input_shape: (H, W, C) of images in [-1, 1].
      num_classes: size of the softmax output.
      weights_path: optional weights file (``*.weights.h5``) saved from the same architecture.
      dropout: rate of the Dropout before the head (the paper's 0.5); 0 disables it.
    """
    if name not in _FEATURE_BUILDERS:
        raise ValueError(f"Unknown classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}.")
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels); got {input_shape}.")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2; got {num_classes}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1); got {dropout}.")

    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = _FEATURE_BUILDERS[name](inputs)
    if dropout > 0:
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"{name}_classifier")

    if weights_path is not None:
        if not os.path.isfile(weights_path):
            raise FileNotFoundError(f"Classifier weights file not found: {weights_path}")
        model.load_weights(weights_path)
    return model
