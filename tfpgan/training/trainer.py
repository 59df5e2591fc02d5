"""The distributed GAN training loop (progressive or DCGAN; AC-GAN, unconditional or per class): one compiled step
per phase, resumable, monitored."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from typing import Callable

import keras
import numpy as np
import tensorflow as tf

from tfpgan import labeled, run_folder
from tfpgan.atomic import write_json
from tfpgan.data.dataset_info import read_info
from tfpgan.data.pipeline import box_downsample, load, read_ids
from tfpgan.errors import TfpganError
from tfpgan.export import export_generator
from tfpgan.metrics.swd import swd
from tfpgan.models.factory import build_discriminator, build_generator
from tfpgan.models.networks import fade_images
from tfpgan.options import TrainOptions
from tfpgan.training import ada, diffaugment, losses, summaries
from tfpgan.training.checkpoints import by_path, reset_optimizer
from tfpgan.training.config import TRAINING_DATA_KEY, check_resume_compatible, check_training_data, training_data
from tfpgan.training.interrupt import StopRequest
from tfpgan.training.schedule import Phase, batch_for, phase_at, resolve, value_for

# accumulated per tick inside the compiled step; real_sign: ADA's overfitting signal, E[sign(D(real))] (wgan_gp:
# E[sign(D(real) - mean D(fake))], ada.overfitting_signs)
METRIC_NAMES = ("d_loss", "g_loss", "adversarial", "penalty", "drift", "ac_real", "ac_fake", "acc_real", "acc_fake",
                "real_sign")

logger = logging.getLogger(__name__)


class TrainingInterrupted(TfpganError):
    """Training stopped on request (SIGINT/SIGTERM) after saving a checkpoint."""


class TrainingDiverged(TfpganError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


SLURM_PORT = 8888  # a SLURM task listens on SLURM_PORT + its index on its node


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The --strategy. Create it before any other TensorFlow call: multi_worker configures the runtime, which
    fails once anything (even listing devices) has started it.

    auto: MirroredStrategy over all GPUs when there are several, else the default strategy.
    """
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=cluster_resolver())
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) > 1):
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def cluster_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """The workers of --strategy=multi_worker: from TF_CONFIG when set, else from the SLURM job step (srun)."""
    if "TF_CONFIG" in os.environ:
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if "SLURM_STEP_NUM_TASKS" in os.environ:
        return _slurm_resolver()
    raise TfpganError("--strategy=multi_worker needs its cluster: set TF_CONFIG on every host, or start the workers "
                      "with srun inside a SLURM allocation (see BUILD.md)")


def _slurm_resolver() -> tf.distribute.cluster_resolver.ClusterResolver:
    """One worker per SLURM task, on port SLURM_PORT + its index on its node, with the GPUs SLURM let it see."""
    tasks = int(os.environ["SLURM_STEP_NUM_TASKS"])
    try:  # GPUs are SLURM's business: gpus_per_node/task only make the resolver give every task of a node a port
        slurm = tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=SLURM_PORT, gpus_per_node=tasks, gpus_per_task=1, auto_set_gpu=False)
        cluster = slurm.cluster_spec()
    except (RuntimeError, ValueError) as error:
        raise TfpganError(f"cannot read the SLURM job step's cluster: {error}") from None
    gpus = len(tf.config.list_physical_devices("GPU"))  # physical devices: the runtime stays unstarted
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        cluster, task_type=slurm.task_type, task_id=slurm.task_id, num_accelerators={"GPU": gpus}, rpc_layer="grpc")


def is_chief(strategy: tf.distribute.Strategy | None) -> bool:
    """Whether this process writes the run's files: always, but under multi_worker only worker 0 (or the chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is None or not resolver.task_type or resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0)


class Trainer:
    """Builds G, D, the EMA generator and both optimizers under a strategy; trains them along the schedule."""

    def __init__(self, config: TrainOptions, strategy: tf.distribute.Strategy | None = None):
        self.info = read_info(config.dataset)
        config, self.phases = resolve(config, self.info)
        self.config = config
        self.folds = self.info.training_folds(config.test_fold)
        self.excluded_ids = read_ids(config.exclude_ids) if config.exclude_ids else []
        self.class_counts = labeled.class_counts(config.dataset, self.folds, self.excluded_ids)  # images it trains on
        self.training_data = training_data(self.info.fingerprint, self.excluded_ids)
        self._steps: dict[int, Callable] = {}
        self.total_kimg = self.phases[-1].end_kimg
        self.strategy = strategy or make_strategy(config.strategy)
        self.replicas = self.strategy.num_replicas_in_sync
        self.is_chief = is_chief(self.strategy)
        for phase in self.phases:
            self._check_batch(phase.resolution)
        # Keras's policy is global: set it both ways, so a run after a mixed-precision one in the same process (an
        # experiment's next generator) builds float32 networks again.
        keras.mixed_precision.set_dtype_policy("mixed_float16" if config.mixed_precision else "float32")
        with self.strategy.scope():
            self._build()
        self.checkpoint = tf.train.Checkpoint(
            generator=by_path(self.generator.variables), discriminator=by_path(self.discriminator.variables),
            generator_ema=by_path(self.generator_ema.variables),
            g_optimizer=by_path(self.g_optimizer.variables, strip_prefix=False),
            d_optimizer=by_path(self.d_optimizer.variables, strip_prefix=False),
            images_seen=self.images_seen, step=self.step, phase=self.phase_index,
            training_data=self._training_data_record(),
            **({"augment_p": self.augment_p, "ada_sign_sum": self.ada_sign_sum, "ada_steps": self.ada_steps}
               if config.augment_p == "auto" else {}))
        self.manager = tf.train.CheckpointManager(self.checkpoint, self._checkpoint_dir(),
                                                  max_to_keep=config.keep_checkpoints)
        self._stop_vote = self._make_stop_vote()

    # --- construction -------------------------------------------------------------------------------------

    def _training_data_record(self) -> tf.Variable:
        """`training_data` as a string variable, so that every checkpoint records it (`check_checkpoint`)."""
        with tf.device("/cpu:0"):
            return tf.Variable(json.dumps(self.training_data, sort_keys=True), trainable=False, name=TRAINING_DATA_KEY)

    def _check_batch(self, resolution: int) -> None:
        batch = self.batch_size(resolution)
        group = min(self.config.mbstd_group_size, batch) if self.config.architecture == "pggan" else 1
        if batch < 1 or (group > 1 and batch % group):
            raise TfpganError(f"batch {batch} at {resolution}x{resolution} is not a multiple of the minibatch-"
                              f"stddev group size {self.config.mbstd_group_size}")

    def batch_size(self, resolution: int) -> int:
        """Per-replica minibatch at `resolution` (--batch_per_resolution); global = this x replicas."""
        return batch_for(self.config.batch_per_resolution, resolution)

    def learning_rate(self, resolution: int) -> float:
        return value_for({int(k): v for k, v in self.config.lr_per_resolution.items()}, resolution,
                         self.config.learning_rate)

    def _build(self) -> None:
        c, classes, channels = self.config, self.info.num_classes, self.info.channels
        keras.utils.set_random_seed(c.seed)  # reproducible initial weights
        self.generator = build_generator(c, classes, channels)
        self.generator_ema = build_generator(c, classes, channels, name="generator_ema")
        self.discriminator = build_discriminator(c, classes, channels)
        for ema, variable in zip(self.generator_ema.variables, self.generator.variables):
            ema.assign(variable)
        self.g_optimizer, self.d_optimizer = (self._optimizer("g_adam"), self._optimizer("d_adam"))
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.images_seen = tf.Variable(0, dtype=tf.int64, trainable=False, name="images_seen")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.phase_index = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase")
        self.augment_p = tf.Variable(0.0 if c.augment_p == "auto" else float(c.augment_p), trainable=False,
                                     name="augment_p")
        self.ada_sign_sum = tf.Variable(0.0, trainable=False, name="ada_sign_sum")
        self.ada_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="ada_steps")
        self.metric_sums = tf.Variable(tf.zeros([len(METRIC_NAMES)]), trainable=False, name="metric_sums")
        self.metric_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="metric_steps")

    def _optimizer(self, name: str) -> keras.optimizers.Optimizer:
        c = self.config
        optimizer = keras.optimizers.Adam(c.learning_rate, beta_1=c.adam_beta1, beta_2=c.adam_beta2,
                                          epsilon=c.adam_epsilon, name=name)
        return keras.optimizers.LossScaleOptimizer(optimizer, name=f"{name}_scaled") if c.mixed_precision \
            else optimizer

    def _checkpoint_dir(self) -> str:
        if self.is_chief:
            return os.path.join(self.config.logdir, run_folder.CHECKPOINTS_DIR)
        # other workers write throw-away copies (the save is collective) and restore the chief's checkpoints
        return os.path.join(self.config.logdir, run_folder.WORKERS_DIR, str(self.strategy.cluster_resolver.task_id))

    def _make_stop_vote(self) -> Callable[[bool], bool]:
        """(this worker was asked to stop) -> whether any worker was: under multi_worker an all-reduce, so that
        every worker stops after the same step and takes part in the collective save."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return bool

        @tf.function
        def votes(requested):
            per_replica = self.strategy.run(lambda: requested)
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        return lambda requested: bool(votes(tf.constant(float(requested))) > 0)

    # --- the compiled step --------------------------------------------------------------------------------

    def _seed(self, step, salt: int):
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.stack([tf.cast(self.config.seed * 1_000_003 + salt * 101 + replica, tf.int64),
                         tf.cast(step, tf.int64)])

    def _generator_labels(self, batch, step, salt: int):
        """Labels of the G step: exactly balanced per batch, or drawn by the training folds' class counts."""
        if self.config.balanced_fake_labels:
            return losses.sample_fake_labels(batch, self.info.num_classes, self._seed(step, salt))
        prior = tf.math.log(tf.constant([self.class_counts], tf.float32))
        seed = tf.cast(self._seed(step, salt), tf.int32)  # XLA compiles StatelessMultinomial with int32 seeds only
        return tf.cast(tf.random.stateless_categorical(prior, batch, seed)[0], tf.int32)

    def _d_view(self, images, step, salt: int, p):
        """What D sees of `images`: the --augment policy with probability p per op and sample, else the images."""
        if not self.config.augment:
            return images
        return diffaugment.augment(images, self.config.augment, self._seed(step, salt), p)

    def _make_step(self, resolution: int, global_batch: int) -> Callable:
        """The compiled training step of `resolution`: one graph for its fade-in and its stable phase (α = 1).

        step_fn(iterator, fade_start_images, fade_images) sets α from images_seen, trains D then G, updates the
        EMA generator, the step and image counters, the per-tick metric sums and (ADA) the augmentation p.
        """
        c, G, D = self.config, self.generator, self.discriminator
        fading = resolution > self.phases[0].resolution
        mixed = c.mixed_precision
        adaptive = c.augment_p == "auto"

        def average(per_example):
            return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32), global_batch_size=global_batch)

        def accuracy(logits, labels):
            if logits.shape[-1] == 0:
                return tf.zeros(tf.shape(labels), tf.float32)
            return tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32)

        def discriminate(images, labels, training=True):  # a per-class D routes by labels, the others ignore them
            return D(images, labels, resolution=resolution, fading=fading, training=training)

        def d_gradients(reals, labels, step, p, regularize: bool):
            batch = tf.shape(reals)[0]
            if fading:
                reals = fade_images(reals, D.fade.alpha)
            latents = tf.random.stateless_normal([batch, c.latent_size], self._seed(step, 1))
            scale = self.d_optimizer.dynamic_scale if mixed else 1.0
            with tf.GradientTape() as tape:
                fakes = G(latents, labels, resolution=resolution, fading=fading, training=True)  # the reals' labels
                real_view, fake_view = self._d_view(reals, step, 20, p), self._d_view(fakes, step, 21, p)
                real_scores, real_logits = discriminate(real_view, labels)
                fake_scores, fake_logits = discriminate(fake_view, labels)
                if c.loss == "wgan_gp":  # interpolate i mixes real i and fake i, both of class labels[i]
                    mix = tf.random.stateless_uniform([batch, 1, 1, 1], self._seed(step, 3))
                    penalty = losses.gradient_penalty(lambda x: discriminate(x, labels, False)[0], real_view, fake_view,
                                                      c.gp_target, mix=mix, loss_scale=scale)
                    terms = losses.discriminator_loss(real_scores, fake_scores, penalty, real_logits, fake_logits,
                                                      labels, labels, c.gp_weight, c.drift_weight, c.ac_weight)
                else:
                    penalty = losses.r1_penalty(lambda x: discriminate(x, labels, False)[0], real_view,
                                                loss_scale=scale) if regularize else tf.zeros([batch])
                    terms = losses.ns_discriminator_loss(real_scores, fake_scores, penalty, real_logits, fake_logits,
                                                         labels, labels, c.r1_gamma / 2 * c.r1_interval,
                                                         c.ac_weight)
                loss = average(terms["total"])
                scaled = self.d_optimizer.scale_loss(loss) if mixed else loss
            grads = tape.gradient(scaled, D.trainable_variables)
            metrics = {"d_loss": loss, **{name: average(terms[name]) for name in ("adversarial", "penalty", "drift",
                                                                                  "ac_real")},
                       "acc_real": average(accuracy(real_logits, labels)),
                       "acc_fake": average(accuracy(fake_logits, labels)),
                       "real_sign": average(ada.overfitting_signs(real_scores, fake_scores, c.loss))}
            return grads, metrics

        def g_gradients(batch, step, p):
            latents = tf.random.stateless_normal([batch, c.latent_size], self._seed(step, 5))
            fake_labels = self._generator_labels(batch, step, 6)
            with tf.GradientTape() as tape:
                fakes = G(latents, fake_labels, resolution=resolution, fading=fading, training=True)
                fake_scores, fake_logits = discriminate(self._d_view(fakes, step, 22, p), fake_labels)
                terms = losses.generator_loss(fake_scores, fake_logits, fake_labels, c.ac_weight, c.loss)
                loss = average(terms["total"])
                scaled = self.g_optimizer.scale_loss(loss) if mixed else loss
            grads = tape.gradient(scaled, G.trainable_variables)
            return grads, {"g_loss": loss, "ac_fake": average(terms["ac"])}

        plain_d = tf.function(lambda *args: d_gradients(*args, regularize=False), jit_compile=c.jit_compile)
        regularized_d = tf.function(lambda *args: d_gradients(*args, regularize=True), jit_compile=c.jit_compile)
        g_gradients = tf.function(g_gradients, jit_compile=c.jit_compile)

        def apply(optimizer, grads, variables):
            # Replicas must all-reduce the same gradients: a variable one replica did not use (a per-class network
            # whose class is absent from its shard) gets zeros there instead of being dropped.
            pairs = [(tf.zeros_like(v) if g is None else g, v) for g, v in zip(grads, variables)
                     if g is not None or self.replicas > 1]
            if mixed and self.replicas > 1:  # Keras checks finiteness per replica: make every replica see any failure
                pairs = _poison_if_any_replica_non_finite(pairs)
            optimizer.apply_gradients(pairs)

        def d_step(reals, labels, step, p):
            if c.loss == "wgan_gp" or not c.r1_gamma:  # R1 with gamma 0 (DCGAN) would only cost time
                return plain_d(reals, labels, step, p)
            return tf.cond(step % c.r1_interval == 0, lambda: regularized_d(reals, labels, step, p),
                           lambda: plain_d(reals, labels, step, p))

        def replica_step(reals, labels, step, p):
            grads, metrics = d_step(reals, labels, step, p)
            apply(self.d_optimizer, grads, D.trainable_variables)
            grads, g_metrics = g_gradients(tf.shape(reals)[0], step, p)
            apply(self.g_optimizer, grads, G.trainable_variables)
            return {**metrics, **g_metrics}

        @tf.function
        def train_step(iterator, fade_start, fade_length):
            progress = tf.cast(self.images_seen - fade_start, tf.float32) / tf.cast(tf.maximum(fade_length, 1),
                                                                                    tf.float32)
            alpha = tf.where(fade_length > 0, tf.clip_by_value(progress, 0.0, 1.0), 1.0)
            for network in (G, self.generator_ema, D):
                network.fade.alpha.assign(alpha)
            reals, labels = next(iterator)
            p = self.augment_p.read_value() if adaptive else float(c.augment_p)
            per_replica = self.strategy.run(replica_step, args=(reals, labels, self.step, p))
            for ema, variable in zip(self.generator_ema.trainable_variables, G.trainable_variables):
                ema.assign(variable + c.ema_beta * (ema - variable))
            for ema, variable in zip(self.generator_ema.non_trainable_variables, G.non_trainable_variables):
                ema.assign(variable)  # batch-norm moving statistics (and the fade α, already equal) as they are
            metrics = {k: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
                       for k, v in per_replica.items()}
            self.metric_sums.assign_add(tf.stack([metrics[name] for name in METRIC_NAMES]))
            self.metric_steps.assign_add(1)
            if adaptive:
                self._adapt_augment_p(metrics["real_sign"], global_batch)
            self.step.assign_add(1)
            self.images_seen.assign_add(global_batch)

        return train_step

    def _adapt_augment_p(self, real_sign, global_batch: int) -> None:
        """ADA: accumulate the overfitting signal; every ada.INTERVAL steps move p towards keeping it at the target."""
        c = self.config
        self.ada_sign_sum.assign_add(real_sign)
        self.ada_steps.assign_add(1)
        if self.ada_steps >= ada.INTERVAL:
            steps = tf.cast(self.ada_steps, tf.float32)
            self.augment_p.assign(ada.adjusted_p(self.augment_p, self.ada_sign_sum / steps, c.augment_target,
                                                 steps * global_batch, c.augment_speed_kimg))
            self.ada_sign_sum.assign(0.0)
            self.ada_steps.assign(0)

    def _step_function(self, resolution: int, global_batch: int) -> Callable:
        """The compiled step of `resolution`, made once per trainer."""
        if resolution not in self._steps:
            self._steps[resolution] = self._make_step(resolution, global_batch)
        return self._steps[resolution]

    def _fade_bounds(self, phase: Phase) -> tuple[tf.Tensor, tf.Tensor]:
        """(first image, images) of the phase's fade-in as tensors (no retrace); 0 images = stable, α = 1."""
        start = round(phase.start_kimg * 1000)
        length = round(phase.end_kimg * 1000) - start if phase.fading else 0
        return tf.constant(start, tf.int64), tf.constant(length, tf.int64)

    def phase_runner(self, phase: Phase) -> tuple[Callable[[], None], int]:
        """(run one training step of `phase` at its start α, global batch): for benchmarks and tests."""
        global_batch = self.batch_size(phase.resolution) * self.replicas
        step_fn = self._step_function(phase.resolution, global_batch)
        iterator = self._dataset(phase, int(self.step.numpy()))
        length = self._fade_bounds(phase)[1]
        seen = tf.constant(int(self.images_seen.numpy()), tf.int64)

        def run() -> None:
            step_fn(iterator, seen, length)  # α stays at the phase's start: its fade starts at the current count

        return run, global_batch

    def _dataset(self, phase: Phase, step: int):
        per_replica = self.batch_size(phase.resolution)

        def dataset_fn(context: tf.distribute.InputContext):
            return load(self.config.dataset, folds=self.folds, resolution=phase.resolution,
                        batch_size=per_replica, shuffle=True, repeat=True, drop_remainder=True,
                        seed=self.config.seed + step, input_context=context, exclude_ids=self.excluded_ids)

        return iter(self.strategy.distribute_datasets_from_function(dataset_fn))

    def read_metrics(self) -> dict[str, float]:
        """The metrics averaged over the steps since the last read (then reset); raises TrainingDiverged on a
        non-finite one."""
        steps = max(int(self.metric_steps.numpy()), 1)
        values = {name: float(v) / steps for name, v in zip(METRIC_NAMES, self.metric_sums.numpy())}
        self.metric_sums.assign(tf.zeros_like(self.metric_sums))
        self.metric_steps.assign(0)
        bad = [name for name, value in values.items() if not math.isfinite(value)]
        if bad:
            raise TrainingDiverged(
                f"non-finite loss ({', '.join(bad)}) at kimg {self.kimg:.1f}; training stopped, the last good "
                f"checkpoint ({self.manager.latest_checkpoint or 'none'}) is kept. Try a lower --learning_rate.")
        return values

    # --- bookkeeping --------------------------------------------------------------------------------------

    @property
    def kimg(self) -> float:
        return int(self.images_seen.numpy()) / 1000.0

    def _latest_checkpoint(self) -> str | None:
        """The chief's latest checkpoint, if any (every worker resumes from the same one)."""
        return tf.train.latest_checkpoint(os.path.join(self.config.logdir, run_folder.CHECKPOINTS_DIR))

    def restore(self) -> bool:
        """Restore the latest checkpoint if any; True when resumed."""
        latest = self._latest_checkpoint()
        if latest is None:
            return False
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return True

    def check_checkpoint(self, checkpoint: str, resuming: bool = True) -> None:
        """Refuse a checkpoint trained on other images than this run's `training_data`. One recording none (an older
        tfpgan wrote it) is refused for a resume, which could not be checked, and exported with a warning."""
        key = f"{TRAINING_DATA_KEY}/.ATTRIBUTES/VARIABLE_VALUE"
        reader = tf.train.load_checkpoint(checkpoint)
        if not reader.has_tensor(key):
            if resuming:
                raise TfpganError(f"{checkpoint} does not record the images its GAN trained on (an older tfpgan wrote "
                                  "it): a resume cannot check them; use a new --logdir")
            logger.warning("%s does not record the images its GAN trained on (an older tfpgan wrote it): the export "
                           "records the dataset and --exclude_ids as they are now", checkpoint)
            return
        check_training_data(self.config.logdir, json.loads(reader.get_tensor(key)), self.training_data,
                            f"checkpoint {os.path.basename(checkpoint)}")

    def save(self) -> str:
        for network in (self.generator, self.generator_ema, self.discriminator):
            for variable in network.trainable_variables:
                if not np.all(np.isfinite(variable.numpy())):
                    raise TrainingDiverged(f"non-finite weights in {variable.path} at kimg {self.kimg:.1f}; "
                                           f"the last good checkpoint is kept")
        return self.manager.save(checkpoint_number=int(self.step.numpy()))

    def metadata(self) -> dict:
        c = self.config
        return {"format_version": 1, "classes": self.info.classes, "num_classes": self.info.num_classes,
                "resolution": c.resolution, "channels": self.info.channels, "latent_size": c.latent_size,
                "conditioning": c.conditioning, "dataset": os.path.abspath(c.dataset),
                "dataset_name": self.info.name, "dataset_fingerprint": self.info.fingerprint,
                "dataset_folds": self.info.folds, "trained_on_folds": self.folds, "test_fold": c.test_fold,
                "kimg": round(self.kimg, 3), "ema_beta": c.ema_beta, "seed": c.seed,
                "architecture": c.architecture, "loss": c.loss, "augment": list(c.augment),
                "augment_p": round(float(self.augment_p.numpy()), 4), "excluded_ids": list(self.excluded_ids),
                "output": "images float32 [N, H, W, C] in [0, 1]"}

    def export(self) -> str:
        export_dir = run_folder.export_dir(self.config.logdir)
        export_generator(self.generator_ema, self.config.resolution, self.metadata(), export_dir)
        return export_dir

    def _write_config(self) -> None:
        """Check the logdir's config.json and latest checkpoint against this run (refusing another architecture,
        schedule or training data), then write config.json."""
        path = os.path.join(self.config.logdir, run_folder.CONFIG_FILE)
        check_resume_compatible(self.config, path, self.training_data)
        latest = self._latest_checkpoint()
        if latest is not None:
            self.check_checkpoint(latest)
        if self.is_chief:
            os.makedirs(self.config.logdir, exist_ok=True)
            write_json(path, {**self.config.to_dict(), TRAINING_DATA_KEY: self.training_data})

    # --- monitoring ---------------------------------------------------------------------------------------

    def _real_samples(self) -> np.ndarray:
        """Up to images_per_class real training images per class, [K, n, R, R, C] in [-1, 1] (blank if short)."""
        return summaries.class_samples(self.config.dataset, self.folds, self.config.images_per_class,
                                       self.excluded_ids)

    def _image_grid(self, phase: Phase, latents, labels, reals) -> np.ndarray:
        fakes = self.generator_ema(latents, labels, resolution=phase.resolution, fading=phase.fading)
        k, n = reals.shape[:2]
        fakes = summaries.to_uint8(np.reshape(fakes.numpy(), (k, n) + tuple(fakes.shape[1:])))
        factor = self.info.resolution // phase.resolution
        reals = summaries.to_uint8(box_downsample(tf.constant(reals), factor).numpy())
        return summaries.labeled_grid(fakes, reals, self.info.classes, "generated (EMA generator)",
                                      "real training images")

    # --- the loop -----------------------------------------------------------------------------------------

    def train(self, should_stop: Callable[[], bool] = lambda: False) -> dict:
        """Train to the end of the schedule (resuming from the latest checkpoint), export, return a summary.

        Raises TrainingInterrupted when `should_stop()` turns true, on any worker (after saving a checkpoint), and
        TrainingDiverged on a non-finite loss (without saving).
        """
        c = self.config
        self._write_config()
        resumed = self.restore()
        phase = phase_at(self.phases, self.kimg)
        logger.info("%s", self.describe())
        if resumed:
            logger.info("resuming from kimg %.1f, %s (step %d)", self.kimg, phase.describe(self.kimg),
                         int(self.step.numpy()))
        if self.kimg >= self.total_kimg:
            logger.info("training is already complete (kimg %.1f of %.1f)", self.kimg, self.total_kimg)
            export_dir = run_folder.export_dir(c.logdir) if c.export else ""
            if c.export and self.is_chief and not os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
                export_dir = self.export()
            return {"kimg": self.kimg, "complete": True, "resumed": resumed, "export": export_dir}
        writer = tf.summary.create_file_writer(c.logdir) if self.is_chief else tf.summary.create_noop_writer()
        with writer.as_default():
            if not resumed:
                tf.summary.text("config", f"```\n{c.to_json()}\n```", step=0)
            self._loop(should_stop, writer)
        writer.close()
        export_dir = self.export() if c.export and self.is_chief else ""
        return {"kimg": self.kimg, "complete": True, "resumed": resumed, "export": export_dir}

    def describe(self) -> str:
        """The opening summary: schedule, training data, batch and strategy."""
        c, first, last = self.config, self.phases[0], self.phases[-1]
        images = sum(self.class_counts)
        batches = ", ".join(f"{r}x{r}: {self.batch_size(r) * self.replicas}"
                            for r in sorted({p.resolution for p in self.phases}))
        return (f"training {first.resolution}x{first.resolution} -> {last.resolution}x{last.resolution} in "
                f"{len(self.phases)} phases, {self.total_kimg:g} kimg; training folds {self.folds} of "
                f"{self.info.name} ({images} images, test fold {c.test_fold}); global batch {batches} "
                f"({self.replicas} replica(s), {type(self.strategy).__name__}); logdir {c.logdir}; loss {c.loss}; "
                f"augmentation {','.join(c.augment) or 'none'}{f' (p {c.augment_p})' if c.augment else ''}"
                f"{f'; {len(self.excluded_ids)} ids excluded' if self.excluded_ids else ''}; networks "
                f"{c.architecture}, conditioning {c.conditioning}")

    def _loop(self, should_stop, writer) -> None:
        c = self.config
        grid_latents = tf.random.stateless_normal([self.info.num_classes * c.images_per_class, c.latent_size],
                                                  [c.seed, 7])
        grid_labels = tf.repeat(tf.range(self.info.num_classes, dtype=tf.int32), c.images_per_class)
        reals = self._real_samples()
        started_kimg, started_time = self.kimg, time.monotonic()
        next_tick = self._next(c.tick_kimg)
        next_checkpoint = self._next(c.checkpoint_every_kimg)
        next_image = self.kimg if c.image_every_kimg else math.inf
        next_metrics = self._next(c.metrics_every_kimg)
        images, iterators = int(self.images_seen.numpy()), {}
        while images < round(self.total_kimg * 1000):
            phase = phase_at(self.phases, images / 1000)
            if int(self.phase_index.numpy()) != phase.index:
                if c.reset_optimizer:  # official: fresh Adam moments at every fade-in and stable start
                    reset_optimizer(self.g_optimizer)
                    reset_optimizer(self.d_optimizer)
                self.phase_index.assign(phase.index)
            lr = self.learning_rate(phase.resolution)
            self.g_optimizer.learning_rate = lr
            self.d_optimizer.learning_rate = lr
            global_batch = self.batch_size(phase.resolution) * self.replicas
            tracing = phase.resolution not in self._steps
            step_fn = self._step_function(phase.resolution, global_batch)
            if phase.resolution not in iterators:  # one input pipeline per resolution, for its fade and stable phase
                iterators = {phase.resolution: self._dataset(phase, int(self.step.numpy()))}
            iterator, (fade_start, fade_length) = iterators[phase.resolution], self._fade_bounds(phase)
            tick_images, tick_time = 0, time.monotonic()
            while images < round(phase.end_kimg * 1000):
                step_fn(iterator, fade_start, fade_length)
                images += global_batch
                if tracing:  # a resolution's first step traces the graph: it stays out of img/s and the ETA
                    untimed = time.monotonic() - tick_time
                    tick_time, started_time = tick_time + untimed, started_time + untimed
                    started_kimg += global_batch / 1000
                tick_images += 0 if tracing else global_batch
                tracing = False
                kimg = images / 1000
                if kimg >= next_tick or kimg >= self.total_kimg:
                    rate = tick_images / max(time.monotonic() - tick_time, 1e-9)
                    self._tick(phase, self.read_metrics(), rate, lr, started_kimg, started_time)
                    tick_images, tick_time, next_tick = 0, time.monotonic(), self._next(c.tick_kimg)
                if kimg >= next_image or kimg >= self.total_kimg:
                    grid = self._image_grid(phase, grid_latents, grid_labels, reals)
                    self._save_grid(grid, phase)
                    next_image = self._next(c.image_every_kimg)
                if kimg >= next_metrics or (c.metrics_every_kimg and kimg >= self.total_kimg):
                    self._log_swd(phase)
                    next_metrics = self._next(c.metrics_every_kimg)
                if kimg >= next_checkpoint:
                    self._save_if_finite()
                    next_checkpoint = self._next(c.checkpoint_every_kimg)
                if self._stop_vote(should_stop()):
                    path = self._save_if_finite()
                    writer.flush()
                    raise TrainingInterrupted(f"interrupted at kimg {kimg:.1f} ({phase.describe(kimg)}); checkpoint "
                                              f"{path} saved; run the same command to resume")
        self._save_if_finite()

    def _save_if_finite(self) -> str:
        """Save a checkpoint unless a loss since the last tick is non-finite (TrainingDiverged)."""
        if int(self.metric_steps.numpy()):
            sums = self.metric_sums.numpy()
            if not np.all(np.isfinite(sums)):
                self.read_metrics()  # raises, naming the losses
        return self.save()

    def _next(self, every_kimg: float) -> float:
        if not every_kimg:
            return math.inf
        # rounded like self.kimg (images / 1000), else 9 * 0.016 = 0.14400000000000002 > 0.144 skips a step
        return round((math.floor(self.kimg / every_kimg + 1e-9) + 1) * every_kimg, 9)

    def _tick(self, phase: Phase, values: dict, rate: float, lr: float, started_kimg: float,
              started_time: float) -> None:
        kimg, step = self.kimg, int(self.step.numpy())
        for name, value in values.items():
            tf.summary.scalar(f"loss/{name}" if "acc" not in name else f"accuracy/{name}", value, step=step)
        augment_p = float(self.augment_p.numpy())
        for name, value in (("progress/kimg", kimg), ("progress/resolution", phase.resolution),
                            ("progress/alpha", phase.alpha(kimg)), ("progress/images_per_second", rate),
                            ("progress/learning_rate", lr), ("progress/augment_p", augment_p)):
            tf.summary.scalar(name, value, step=step)
        overall = (kimg - started_kimg) * 1000 / max(time.monotonic() - started_time, 1e-9)
        eta = (self.total_kimg - kimg) * 1000 / max(overall, 1e-9)
        logger.info("kimg %7.1f/%.1f | %-16s | %6.1f img/s | D %7.3f G %7.3f %s %6.3f | acc real %.2f | "
                    "%s %+.2f%s | ETA %s", kimg, self.total_kimg, phase.describe(kimg), rate,
                    values["d_loss"], values["g_loss"], "GP" if self.config.loss == "wgan_gp" else "R1",
                    values["penalty"], values["acc_real"],
                    "sign(D real - D fake)" if self.config.loss == "wgan_gp" else "sign(D real)", values["real_sign"],
                    f" | augment p {augment_p:.3f}" if self.config.augment else "", _duration(eta))

    def _log_swd(self, phase: Phase) -> None:
        """SWD (x1e3) of EMA fakes vs real training images at the current resolution (>= 16 px); the fakes have the
        labels of the real sample, so both sides have the same class mix."""
        if phase.resolution < 16:
            return
        count = min(self.config.metrics_images, sum(self.class_counts))
        reals, labels = next(iter(load(self.config.dataset, folds=self.folds, resolution=phase.resolution,
                                       batch_size=count, shuffle=True, seed=self.config.seed,
                                       exclude_ids=self.excluded_ids)))
        reals, labels = reals.numpy(), tf.cast(labels, tf.int32)  # the fakes take the class mix of these reals
        latents = tf.random.stateless_normal([count, self.config.latent_size], [self.config.seed, 11])
        fakes = np.concatenate([
            self.generator_ema(latents[i:i + 256], labels[i:i + 256], resolution=phase.resolution,
                               fading=phase.fading).numpy() for i in range(0, count, 256)])
        result = swd((fakes + 1.0) / 2.0, (reals + 1.0) / 2.0, seed=self.config.seed)
        step = int(self.step.numpy())
        tf.summary.scalar("metrics/swd_average_x1e3", result["average"], step=step)
        for level, value in result["levels"].items():
            tf.summary.scalar(f"metrics/swd_{level}px_x1e3", value, step=step)
        logger.info("SWD x1e3 at kimg %.1f (%d images, %dx%d): average %.1f", self.kimg, count, phase.resolution,
                     phase.resolution, result["average"])

    def _save_grid(self, grid: np.ndarray, phase: Phase) -> None:
        step, kimg = int(self.step.numpy()), self.kimg
        tf.summary.image("generated (left) vs real (right), one row per class", grid[None], step=step)
        if self.is_chief:
            directory = os.path.join(self.config.logdir, run_folder.IMAGES_DIR)
            os.makedirs(directory, exist_ok=True)
            summaries.save_png(os.path.join(directory, f"kimg{kimg:08.1f}_{phase.resolution}x{phase.resolution}"
                                                       f"{'_fade' if phase.fading else ''}.png"), grid)


def _poison_if_any_replica_non_finite(pairs: list) -> list:
    """(gradient, variable) pairs, all made NaN when any replica's gradients are not finite, so that the loss-scale
    optimizer of every replica skips the step and lowers the scale together (it checks only its own replica)."""
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g, _ in pairs])

    def count_failures(strategy, failed):  # cross-replica: a device reduction, not one more collective op
        return strategy.reduce(tf.distribute.ReduceOp.SUM, failed, axis=None)

    failures = tf.distribute.get_replica_context().merge_call(count_failures,
                                                              args=(1.0 - tf.cast(finite, tf.float32),))
    poison = tf.where(failures > 0, float("nan"), 0.0)
    return [(g + tf.cast(poison, g.dtype), v) for g, v in pairs]


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"



def export_checkpoint(logdir: str, checkpoint: str | None = None) -> tuple[str, dict]:
    """Export the EMA generator of LOGDIR's latest (or the given) checkpoint; returns (export dir, metadata)."""
    path = os.path.join(logdir, run_folder.CONFIG_FILE)
    if not os.path.isfile(path):
        raise TfpganError(f"{logdir}: no config.json (not a tfpgan training run)")
    with open(path, encoding="utf-8") as handle:
        recorded = json.load(handle)
    recorded.pop(TRAINING_DATA_KEY, None)  # the checkpoint's own record is checked below
    config = TrainOptions(**{**recorded, "logdir": logdir})  # the run folder may have moved
    trainer = Trainer(config, strategy=tf.distribute.get_strategy())
    checkpoint = checkpoint or trainer.manager.latest_checkpoint
    if checkpoint is None:
        raise TfpganError(f"{logdir}: no checkpoint to export yet")
    if not tf.io.gfile.exists(f"{checkpoint}.index"):
        raise TfpganError(f"{checkpoint}: no such checkpoint (give a prefix like LOGDIR/checkpoints/ckpt-500)")
    trainer.check_checkpoint(checkpoint, resuming=False)
    trainer.checkpoint.restore(checkpoint).expect_partial()
    return trainer.export(), trainer.metadata()


def train_until_stopped(options: TrainOptions, strategy: tf.distribute.Strategy | None = None) -> dict:
    """Train with SIGINT/SIGTERM turned into a checkpoint and TrainingInterrupted; returns the trainer's summary.

    strategy: made with make_strategy first thing in the process (default: made here from options.strategy).
    """
    trainer = Trainer(options, strategy)
    with StopRequest().installed() as stop:
        return trainer.train(should_stop=stop)
