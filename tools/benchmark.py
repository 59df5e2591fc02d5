"""Benchmarks that print JSON: --what=pipeline (tf.data throughput), --what=train (GAN step speed),
--what=metrics (SWD/KID cost), --what=gan_quality (GAN settings compared at one budget). Speed targets are measured
here, never in tests. --what=train also prints FLOPs per trained image, the achieved FLOP/s and their ratio to the
device's measured peak (BUILD.md, "Measuring a GPU").

  python -m tools.benchmark --what=pipeline
  python -m tools.benchmark --what=train --train_flagfiles=flags/elpv64.cfg --resolutions=64,128
      --mixed_precision=false,true --jit_compile=false,true --seconds=5    (one line: a GPU in a few minutes)
  python -m tools.benchmark --what=gan_quality    ({wgan_gp, ns_r1} x {none, diffaugment, adaptive} x {all, 10 %}
      of elpv at 32x32 with flags/quickstart.cfg, test fold 0; the JSON's "markdown" is the README table)
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
from tfpgan.errors import TfpganError
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
            if config.architecture != "pggan" or config.conditioning == "per_class":
                raise TfpganError(f"{flagfile}: --what=train counts the FLOPs of one progressive G and D only "
                                  f"(--architecture={config.architecture}, --conditioning={config.conditioning})")
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
    """One row per timed stable phase of one training configuration (the global dtype policy restored after). A
    configuration or phase that raises gets a failed row with the error's first line, and the benchmark goes on."""
    import keras
    import tensorflow as tf

    from tfpgan.training.trainer import Trainer

    rows = []
    try:
        trainer = Trainer(config, strategy=tf.distribute.get_strategy())
        phases = [p for p in trainer.phases
                  if not p.fading and (not options.resolutions or p.resolution in options.resolutions)]
        peak = _peak(trainer, [p.resolution for p in phases], options.seconds, peaks)
        for phase in phases:
            try:
                rows.append(_time_phase(trainer, phase, options.seconds, per_image, peak))
            except Exception as error:  # a failed row of the table, not the end of the benchmark
                rows.append(_failed_row(config, phase.resolution, error))
    except Exception as error:
        rows.append(_failed_row(config, None, error))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")  # the Trainer set mixed_float16 globally
    return rows


# TensorFlow's preamble before the message of an error raised in a graph
_ERROR_PREAMBLE = ("Graph execution error:", "Detected at node", "<stack traces unavailable>")


def _failed_row(config, resolution: int | None, error: Exception) -> dict:
    """The row of a configuration (resolution None: all of it) that raised: its error's first line that says
    something (TensorFlow's graph-execution preamble skipped), at most 300 characters."""
    lines = [line.strip() for line in str(error).splitlines()]
    message = next((line for line in lines if line and not line.startswith(_ERROR_PREAMBLE)), "")
    row = {"mixed_precision": config.mixed_precision, "jit_compile": config.jit_compile, "resolution": resolution,
           "failed": f"{type(error).__name__}: {message}"[:300]}
    logger.warning("%s", row)
    return row


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
        self.run()


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


def benchmark_gan_quality(options: BenchmarkOptions) -> dict:
    """Per setting (loss x augmentation x share of the training images): wall time, kimg, SWD / noise floor (the
    same number of images on every side) and the domain KID per class of the EMA generator, all on elpv at 32x32
    (test fold 0), against the same real training images."""
    from tfpgan.data.build import build_dataset
    from tfpgan.data.sources import open_source
    from tfpgan.options import BuildOptions

    with tempfile.TemporaryDirectory() as scratch:
        dataset = os.path.join(scratch, "elpv32")
        build_dataset(open_source("elpv"), dataset, BuildOptions(resolution=32, folds=3))
        reference = _real_reference(dataset, options)
        runs = [(f"baseline {options.gan_baseline}", tfpgan_flags.train_options_from_flagfile(
            options.gan_baseline, **_run_overrides(dataset, os.path.join(scratch, "baseline"))), 1.0)
                ] if options.gan_baseline else []
        for subset, loss, augment in itertools.product(options.gan_subsets, options.gan_losses,
                                                       options.gan_augments):
            logdir = os.path.join(scratch, f"run-{subset}-{loss}-{augment}")
            runs.append((options.gan_flagfile, _gan_config(options, dataset, logdir, loss, augment, subset), subset))
        rows = []
        for (flagfile, config, subset), seed in itertools.product(runs, options.gan_seeds):
            rows.append({"flagfile": flagfile, **_train_and_measure(
                config.replace(seed=seed, logdir=f"{config.logdir}-seed{seed}"), reference, subset)})
            logger.info("%s", rows[-1])
    means = _seed_means(rows)
    return {"what": "gan_quality", "data": "elpv at 32x32, GAN on folds 1-2 (test fold 0)",
            "images_per_class_per_side": options.gan_images, "classes": reference["classes"],
            "swd_ratio_method": "swd_with_floor: synthetic N vs real N (reference) over real N' vs the same reference; "
                                "unmatched (the former quickstart report's way): synthetic N vs all 2N real over the "
                                "same floor",
            "kid_features": "penultimate layer of a cnn trained on the real training folds (domain KID)",
            "results": rows, "means_over_seeds": means, "markdown": _gan_table(rows + means, reference["classes"])}


AUGMENT_POLICY = ("translation", "cutout", "brightness", "contrast")


def _gan_config(options: BenchmarkOptions, dataset: str, logdir: str, loss: str, augment: str, subset: float):
    from tfpgan.data.pipeline import load

    overrides = dict(_run_overrides(dataset, logdir), loss=loss, augment=() if augment == "none" else AUGMENT_POLICY,
                     augment_p="auto" if augment == "adaptive" else "1")
    if options.gan_kimg_per_phase:
        overrides.update(kimg_per_phase=options.gan_kimg_per_phase, kimg_per_transition=options.gan_kimg_per_phase)
    if subset < 1:
        import numpy as np

        ids, labels = [], []
        for _, label, example_id in load(dataset, folds=[1, 2], with_ids=True).as_numpy_iterator():
            ids.append(example_id.decode())
            labels.append(int(label))
        rng, excluded = np.random.default_rng(0), []
        for label in sorted(set(labels)):  # keep `subset` of every class
            members = [i for i, lab in zip(ids, labels) if lab == label]
            excluded += list(rng.permutation(members)[max(1, round(subset * len(members))):])
        overrides["exclude_ids"] = f"{logdir}-excluded.txt"
        with open(overrides["exclude_ids"], "w", encoding="utf-8") as handle:
            handle.write("".join(f"{i}\n" for i in excluded))
    return tfpgan_flags.train_options_from_flagfile(options.gan_flagfile, **overrides)


def _run_overrides(dataset: str, logdir: str) -> dict:
    return dict(dataset=dataset, logdir=logdir, test_fold=0, export=False, image_every_kimg=0, checkpoint_every_kimg=0,
                metrics_every_kimg=0)


def _real_reference(dataset: str, options: BenchmarkOptions) -> dict:
    """Real training images (folds 1-2) in [0, 1] per class, split into a reference and a disjoint floor sample of
    gan_images each (fewer when a class is smaller), and a domain feature extractor trained on them."""
    import keras
    import numpy as np

    from tfpgan.data.dataset_info import read_info
    from tfpgan.data.pipeline import load
    from tfpgan.metrics.fid_kid import extract_features, penultimate_feature_extractor
    from tfpgan.models.classifiers import build_classifier

    info = read_info(dataset)
    images, labels = [], []
    for batch, label in load(dataset, folds=[1, 2], batch_size=256).as_numpy_iterator():
        images.append((batch + 1.0) / 2.0)
        labels.append(label)
    images, labels = np.concatenate(images), np.concatenate(labels)
    keras.utils.set_random_seed(0)
    model = build_classifier("cnn", images.shape[1:], info.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(2.0 * images - 1.0, labels, batch_size=64, epochs=10, shuffle=True, verbose=0)
    extractor = penultimate_feature_extractor(model)
    rng = np.random.default_rng(0)
    per_class = []
    for label in range(info.num_classes):
        members = rng.permutation(np.flatnonzero(labels == label))
        size = min(options.gan_images, len(members) // 2)
        reference, floor = images[members[:size]], images[members[size:2 * size]]
        per_class.append({"reference": reference, "floor": floor,
                          "features": extract_features(extractor, reference)})
    return {"classes": info.classes, "per_class": per_class, "extractor": extractor,
            "extract": lambda x: extract_features(extractor, x)}


def _train_and_measure(config, reference: dict, subset: float) -> dict:
    """Train one setting to the end of its schedule (timed), then measure its EMA generator per class."""
    import keras
    import numpy as np
    import tensorflow as tf

    from tfpgan.metrics.fid_kid import kernel_inception_distance
    from tfpgan.metrics.swd import swd, swd_with_floor
    from tfpgan.training.trainer import Trainer

    keras.utils.set_random_seed(config.seed)
    trainer = Trainer(config, strategy=tf.distribute.get_strategy())
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    per_class = {}
    for label, (name, real) in enumerate(zip(reference["classes"], reference["per_class"])):
        count = len(real["floor"])
        latents = tf.random.stateless_normal([count, config.latent_size], [1, label])
        fakes = trainer.generator_ema(latents, tf.fill([count], label), resolution=config.resolution)
        fakes = np.clip((fakes.numpy() + 1.0) / 2.0, 0.0, 1.0)
        matched = swd_with_floor(real["reference"], real["floor"], fakes, seed=label)
        # The former quickstart report's way: N synthetic against all 2N real images, over the same floor.
        pooled = swd(np.concatenate([real["reference"], real["floor"]]), fakes, seed=label)["average"]
        kid, _ = kernel_inception_distance(real["features"], reference["extract"](fakes), num_subsets=50,
                                           subset_size=min(count, 100), seed=label)
        per_class[name] = {"images": count, "swd_over_floor": round(matched["ratio_to_floor"], 2),
                           "swd_over_floor_unmatched": round(
                               pooled / matched["real_vs_real_noise_floor"]["average"], 2),
                           "kid_x1e3": round(1e3 * kid, 2)}
    return {"loss": config.loss, "augment": _augment_name(config), "subset": subset, "seed": config.seed,
            "training_images": sum(trainer.class_counts), "kimg": trainer.kimg,
            "seconds": round(seconds, 1),
            "augment_p": round(float(trainer.augment_p.numpy()), 3) if config.augment else None,
            "per_class": per_class, "class_mean": _class_mean(per_class)}


FIGURES = ("swd_over_floor", "swd_over_floor_unmatched", "kid_x1e3")


def _class_mean(per_class: dict) -> dict:
    """Every figure averaged over the classes (each class weighs the same)."""
    return {name: round(sum(scores[name] for scores in per_class.values()) / len(per_class), 2) for name in FIGURES}


def _augment_name(config) -> str:
    return "none" if not config.augment else "adaptive" if config.augment_p == "auto" else "diffaugment"


def _gan_table(rows: list[dict], classes) -> str:
    """The README table: one row per result (a run, or a _seed_means row of mean ± sample sd over seeds); SWD / floor
    (matched sizes, then unmatched) and KID x1e3 per class and their mean over the classes."""
    header = ["flagfile", "data", "loss", "augmentation", "seed", "kimg", "seconds",
              *[f"SWD/floor {c} (unmatched)" for c in classes], "SWD/floor mean of classes (unmatched)",
              *[f"KID×1e3 {c}" for c in classes], "KID×1e3 mean of classes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        scores = [row["per_class"][c] for c in classes] + [row["class_mean"]]
        data = "all" if row["subset"] == 1 else f"{row['subset']:.0%} ({row['training_images']})"
        p = row["augment_p"]
        augment = row["augment"] + (f" (p={p:.2f})" if row["augment"] == "adaptive" else "")
        seed = f"mean of {len(row['seed'])}" if isinstance(row["seed"], list) else str(row["seed"])
        cells = [row["flagfile"], data, row["loss"], augment, seed, f"{row['kimg']:g}", f"{row['seconds']:.0f}",
                 *[f"{_figure(s['swd_over_floor'])} ({_figure(s['swd_over_floor_unmatched'])})" for s in scores],
                 *[_figure(s["kid_x1e3"]) for s in scores]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _figure(value) -> str:
    return f"{value['mean']:.2f} ± {value['sd']:.2f}" if isinstance(value, dict) else f"{value:.2f}"


def _seed_means(rows: list[dict]) -> list[dict]:
    """One row per setting trained with two or more seeds: its seeds as a list, the mean seconds and p, and every
    per-class and class-mean figure as {"mean", "sd"} over the seeds (sd with n - 1)."""
    settings: dict[tuple, list[dict]] = {}
    for row in rows:
        settings.setdefault((row["flagfile"], row["subset"], row["loss"], row["augment"]), []).append(row)
    means = []
    for runs in (runs for runs in settings.values() if len(runs) > 1):
        first = runs[0]
        per_class = {c: {name: _mean_sd([run["per_class"][c][name] for run in runs]) for name in FIGURES}
                     for c in first["per_class"]}
        p = None if first["augment_p"] is None else _mean_sd([run["augment_p"] for run in runs])["mean"]
        means.append({**{key: first[key] for key in ("flagfile", "loss", "augment", "subset", "training_images",
                                                     "kimg")},
                      "seed": [run["seed"] for run in runs], "augment_p": p,
                      "seconds": _mean_sd([run["seconds"] for run in runs])["mean"], "per_class": per_class,
                      "class_mean": {name: _mean_sd([run["class_mean"][name] for run in runs]) for name in FIGURES}})
    return means


def _mean_sd(values: list[float]) -> dict:
    import numpy as np

    return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1))}


BENCHMARKS = {"pipeline": benchmark_pipeline, "train": benchmark_train, "metrics": benchmark_metrics,
              "gan_quality": benchmark_gan_quality}


def main(argv: list[str]) -> int:
    del argv
    options = tfpgan_flags.benchmark_options_from_flags()
    report = {"machine": machine(), "options": options.to_dict(), **BENCHMARKS[options.what](options)}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    tfpgan_flags.define_benchmark_flags()
    cli.run(main)
