"""Benchmarks that print JSON: --what=pipeline (tf.data throughput), --what=train (GAN step speed),
--what=metrics (SWD/KID cost). Speed targets are measured here, never in tests.

  python -m tools.benchmark --what=pipeline
"""

import json
import logging
import os
import platform
import tempfile
import time

from tfpgan import cli
from tfpgan import flags as tfpgan_flags
from tfpgan.options import BenchmarkOptions

logger = logging.getLogger(__name__)


def machine() -> dict:
    import tensorflow as tf

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "tensorflow": tf.__version__,
            "gpus": [d.name for d in tf.config.list_physical_devices("GPU")]}


def rate(iterator, items_per_element, seconds: float, warmup: int = 20) -> float:
    """Elements/s of an iterator after `warmup` elements, measured for about `seconds`."""
    for _ in range(warmup):
        next(iterator)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        next(iterator)
        count += 1
    return count * items_per_element / (time.perf_counter() - started)


def benchmark_pipeline(options: BenchmarkOptions) -> dict:
    """Images/s from the elpv dataset at 64 and 256: raw TFRecord read vs the full pipeline."""
    import tensorflow as tf

    from tfpgan.data.build import build_dataset
    from tfpgan.data.pipeline import load
    from tfpgan.data.sources import open_source
    from tfpgan.options import BuildOptions

    results = []
    source = open_source("elpv")
    with tempfile.TemporaryDirectory() as scratch:
        for resolution in (64, 256):
            folder = os.path.join(scratch, f"elpv{resolution}")
            build_dataset(source, folder, BuildOptions(resolution=resolution, folds=3))
            files = tf.io.gfile.glob(os.path.join(folder, "*.tfrecord"))
            raw = tf.data.TFRecordDataset(files).repeat().batch(options.batch_size).prefetch(tf.data.AUTOTUNE)
            pipeline = load(folder, folds=[0, 1], batch_size=options.batch_size, shuffle=True, repeat=True, seed=0)
            balanced = load(folder, folds=[0, 1], batch_size=options.batch_size, shuffle=True, balanced=True, seed=0)
            results.append({
                "resolution": resolution, "batch_size": options.batch_size,
                "raw_tfrecord_read_img_per_s": round(rate(iter(raw), options.batch_size, options.seconds)),
                "pipeline_img_per_s": round(rate(iter(pipeline), options.batch_size, options.seconds)),
                "balanced_pipeline_img_per_s": round(rate(iter(balanced), options.batch_size, options.seconds)),
            })
    return {"what": "pipeline", "data": "elpv (2,624 images; folds 0,1 read)", "results": results}


def benchmark_train(options: BenchmarkOptions) -> dict:
    """Training images/s per resolution (G+D steps with gradient penalty) for the quickstart and 64x64 configs,
    with and without XLA; the step is compiled and warmed up before timing."""
    import tensorflow as tf

    from tfpgan.data.build import build_dataset
    from tfpgan.data.sources import open_source
    from tfpgan.options import BuildOptions
    from tfpgan.training.trainer import Trainer

    results = []
    with tempfile.TemporaryDirectory() as scratch:
        dataset = os.path.join(scratch, "elpv64")
        build_dataset(open_source("elpv"), dataset, BuildOptions(resolution=64, folds=3))
        for flagfile in options.train_flagfiles:
            for jit in (False, True):
                config = tfpgan_flags.train_options_from_flagfile(
                    flagfile, dataset=dataset, jit_compile=jit, export=False,
                    logdir=os.path.join(scratch, f"run{len(results)}"))
                trainer = Trainer(config, strategy=tf.distribute.get_strategy())
                stable = [p for p in trainer.phases if not p.fading and p.resolution <= options.train_max_resolution]
                for phase in stable:
                    run, batch = trainer.phase_runner(phase)
                    steps_per_s = rate(_StepIterator(run), 1, options.seconds, warmup=2)
                    results.append({"config": flagfile, "jit_compile": jit, "resolution": phase.resolution,
                                    "global_batch": batch, "img_per_s": round(steps_per_s * batch, 1)})
                    logger.info("%s", results[-1])
    return {"what": "train", "data": "elpv at 64x64, stable phases", "results": results}


class _StepIterator:
    """Adapts a step callable to the iterator protocol used by rate()."""

    def __init__(self, run):
        self.run = run

    def __next__(self):
        return {k: float(v) for k, v in self.run().items()}


def benchmark_metrics(options: BenchmarkOptions) -> dict:
    """Seconds of SWD and KID between two sets of 2,000 structured 64x64 gray images made in memory."""
    import numpy as np
    import scipy.ndimage

    from tfpgan.metrics.fid_kid import extract_features, kernel_inception_distance, penultimate_feature_extractor
    from tfpgan.metrics.swd import swd
    from tfpgan.models.classifiers import build_classifier

    count, size = 2000, 64
    rng = np.random.default_rng(0)

    def smooth_fields() -> np.ndarray:
        fields = scipy.ndimage.gaussian_filter(rng.standard_normal((count, size, size, 1), dtype=np.float32),
                                               sigma=(0, 2, 2, 0))
        low, high = fields.min(axis=(1, 2, 3), keepdims=True), fields.max(axis=(1, 2, 3), keepdims=True)
        return (fields - low) / (high - low)

    images_a, images_b = smooth_fields(), smooth_fields()
    started = time.perf_counter()
    swd(images_a, images_b, seed=0)
    swd_seconds = time.perf_counter() - started
    extractor = penultimate_feature_extractor(build_classifier("cnn", (size, size, 1), num_classes=3))
    started = time.perf_counter()
    features_a, features_b = extract_features(extractor, images_a), extract_features(extractor, images_b)
    features_seconds = time.perf_counter() - started
    started = time.perf_counter()
    kernel_inception_distance(features_a, features_b, num_subsets=100, subset_size=1000, seed=0)
    kid_seconds = time.perf_counter() - started
    return {
        "what": "metrics",
        "config": {"images_per_set": count, "resolution": size, "channels": 1,
                   "images": "Gaussian-smoothed random fields (sigma 2 px), generated in memory",
                   "swd": "PGGAN SWD: 3 pyramid levels (64, 32, 16), 128 patches/image, 512 projections",
                   "kid": "100 subsets of 1000, cubic polynomial kernel",
                   "kid_features": f"penultimate layer ({features_a.shape[1]}-d) of an UNTRAINED cnn classifier "
                                   "(random weights): timing only, the values mean nothing"},
        "swd_seconds": round(swd_seconds, 2),
        "swd_img_per_s": round(2 * count / swd_seconds),
        "kid_feature_extraction_seconds": round(features_seconds, 2),
        "kid_feature_extraction_img_per_s": round(2 * count / features_seconds),
        "kid_seconds": round(kid_seconds, 2),
    }


BENCHMARKS = {"pipeline": benchmark_pipeline, "train": benchmark_train, "metrics": benchmark_metrics}


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.benchmark_options_from_flags()
    report = {"machine": machine(), "options": options.to_dict(), **BENCHMARKS[options.what](options)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_benchmark_flags()
    cli.run(main)
