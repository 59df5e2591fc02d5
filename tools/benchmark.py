"""Benchmarks that print JSON: --what=pipeline (tf.data throughput), --what=train (GAN step speed),
--what=metrics (SWD/KID cost). Speed targets are measured here, never in tests. --what=train also prints FLOPs per
trained image, the achieved FLOP/s and their ratio to the device's measured peak (BUILD.md, "Measuring a GPU").

  python -m tools.benchmark --what=pipeline
  python -m tools.benchmark --what=train --train_flagfiles=flags/elpv64.cfg --resolutions=64,128
      --mixed_precision=false,true --jit_compile=false,true --seconds=5    (one line: a GPU in a few minutes)
"""

import itertools
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
    """Training images/s per flagfile, mixed precision, XLA and stable resolution (G+D steps with gradient penalty;
    compiled and warmed up before timing), with FLOPs per image, achieved FLOP/s and the ratio to the measured peak."""
    from tfpgan.data.build import build_dataset
    from tfpgan.data.sources import open_source
    from tfpgan.options import BuildOptions
    from tfpgan.training import flops

    results, peaks = [], {}
    stored = max((64, *options.resolutions))
    with tempfile.TemporaryDirectory() as scratch:
        dataset = os.path.join(scratch, f"elpv{stored}")
        build_dataset(open_source("elpv"), dataset, BuildOptions(resolution=stored, folds=3))
        for flagfile in options.train_flagfiles:
            config = _train_config(flagfile, options.resolutions, dataset=dataset, export=False,
                                   logdir=os.path.join(scratch, "run"))
            per_image = {}
            for mixed, jit in itertools.product(options.mixed_precision, options.jit_compile):
                rows = _time_configuration(config.replace(mixed_precision=mixed, jit_compile=jit), options,
                                           per_image, peaks)
                results += [{"config": flagfile, **row} for row in rows]
    return {"what": "train", "data": f"elpv at {stored}x{stored}, stable phases, one device",
            "flops_method": flops.METHOD,
            "peaks": [{"op": op, "dtype": dtype, "tflop_per_s": _significant(value / 1e12)}
                      for (op, dtype), value in peaks.items()],
            "results": results}


def _train_config(flagfile: str, resolutions: tuple[int, ...], **overrides):
    """The flagfile's TrainOptions, its schedule stretched to cover the --resolutions."""
    config = tfpgan_flags.train_options_from_flagfile(flagfile, **overrides)
    if resolutions:
        config = config.replace(start_resolution=min(config.start_resolution, *resolutions),
                                resolution=max(config.resolution, *resolutions))
    return config


def _time_configuration(config, options: BenchmarkOptions, per_image: dict, peaks: dict) -> list[dict]:
    """One row per timed stable phase of one training configuration (the global dtype policy restored after)."""
    import keras
    import tensorflow as tf

    from tfpgan.training.trainer import Trainer

    trainer = Trainer(config, strategy=tf.distribute.get_strategy())
    try:
        phases = [p for p in trainer.phases
                  if not p.fading and (not options.resolutions or p.resolution in options.resolutions)]
        peak = _peak(trainer, [p.resolution for p in phases], options.seconds, peaks)
        return [_time_phase(trainer, phase, options.seconds, per_image, peak) for phase in phases]
    finally:
        keras.mixed_precision.set_dtype_policy("float32")  # the Trainer set mixed_float16 globally


def _time_phase(trainer, phase, seconds: float, per_image: dict, peak: float) -> dict:
    """img/s of a stable phase, its FLOPs per image (cached in `per_image` by resolution), achieved/peak FLOP/s."""
    from tfpgan.training import flops

    run, batch = trainer.phase_runner(phase)
    img_per_s = rate(_StepIterator(run), 1, seconds, warmup=2) * batch
    if phase.resolution not in per_image:
        per_image[phase.resolution] = flops.training_flops_per_image(trainer.generator, trainer.discriminator,
                                                                     phase.resolution)
    achieved = img_per_s * per_image[phase.resolution]
    row = {"mixed_precision": trainer.config.mixed_precision, "jit_compile": trainer.config.jit_compile,
           "resolution": phase.resolution, "global_batch": batch, "img_per_s": round(img_per_s, 1),
           "gflop_per_image": _significant(per_image[phase.resolution] / 1e9),
           "achieved_tflop_per_s": _significant(achieved / 1e12), "peak_tflop_per_s": _significant(peak / 1e12),
           "achieved_over_peak": _significant(achieved / peak)}
    logger.info("%s", row)
    return row


def _peak(trainer, resolutions: list[int], seconds: float, peaks: dict) -> float:
    """The higher FLOP/s of a large matmul and of the model's widest 3x3 convolution in the trainer's compute dtype;
    each measured once and kept in `peaks` by (op, dtype)."""
    import tensorflow as tf

    from tfpgan.training import flops

    dtype = "float16" if trainer.config.mixed_precision else "float32"
    gpu = bool(tf.config.list_logical_devices("GPU"))
    size, repeats = (4096, 10) if gpu else (2048, 1)  # a GPU call chains 10 ops to hide the launch latency
    batch, resolution, channels = flops.widest_conv3x3(trainer.generator.features, trainer.batch_size, resolutions)
    measures = {f"matmul {size}x{size}": lambda: flops.matmul_peak(size, dtype, seconds, repeats),
                f"conv3x3 {batch}x{resolution}x{resolution}x{channels}->{channels}":
                    lambda: flops.conv3x3_peak(batch, resolution, channels, dtype, seconds, repeats)}
    for op, measure in measures.items():
        if (op, dtype) not in peaks:
            peaks[op, dtype] = measure()
            logger.info("peak of %s in %s: %.3g TFLOP/s", op, dtype, peaks[op, dtype] / 1e12)
    return max(peaks[op, dtype] for op in measures)


def _significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


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
