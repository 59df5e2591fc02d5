"""Data: sources, dataset folders (TFRecord + dataset.json), tf.data pipelines, augmentation."""
