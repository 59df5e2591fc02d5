"""Tests of --architecture=dcgan and --conditioning=per_class wired into options, schedule and trainer: a per-class
DCGAN run (interrupted, resumed, exported) and a per-class progressive run (exported), each used by synthesis and the
quality audit unchanged; the per-class export's label picks the class's generator."""

import dataclasses
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.data.dataset_info import read_info  # noqa: E402
from tfpgan.errors import TfpganError  # noqa: E402
from tfpgan.options import AuditOptions, OptionsError, QualityOptions, TrainOptions  # noqa: E402
from tfpgan.quality import audit  # noqa: E402
from tfpgan.synthesis import synthesize  # noqa: E402
from tfpgan.training.config import check_resume_compatible  # noqa: E402
from tfpgan.training.schedule import describe_schedule, resolve  # noqa: E402
from tfpgan.training.trainer import Trainer  # noqa: E402

from gan_fixtures import CLASSES, RecordingTrainer, tiny_config, train_until, training_state  # noqa: E402

pytest_plugins = ("gan_fixtures",)

K = len(CLASSES)
SOUND_DCGAN = dict(architecture="dcgan", loss="ns_r1", r1_gamma=0.0, ema_beta=0.0)  # what batch norm allows
DCGAN = dict(**SOUND_DCGAN, conditioning="per_class", resolution=16, kimg_per_phase=0.048, tick_kimg=0.008,
             checkpoint_every_kimg=0.024, image_every_kimg=0.024, metrics_every_kimg=0.048, metrics_images=16)
DCGAN_STOP_STEP = 3  # of 6: mid-phase (a DCGAN has one phase)
PGGAN = dict(conditioning="per_class", mbstd_group_size=1, resolution=16, start_resolution=16,
             kimg_per_phase=0.016, image_every_kimg=0, checkpoint_every_kimg=0)


def test_options_refuse_a_small_dcgan_and_minibatch_stddev_with_per_class_pggan():
    with pytest.raises(OptionsError, match=r"--resolution must be >= 8 with --architecture=dcgan, got 4"):
        TrainOptions(dataset="d", logdir="l", architecture="dcgan", resolution=4)
    with pytest.raises(OptionsError, match=r"--mbstd_group_size must be 1 with --conditioning=per_class.* got 4"):
        TrainOptions(dataset="d", logdir="l", conditioning="per_class")
    with pytest.raises(OptionsError, match="--architecture must be one of pggan, dcgan"):
        TrainOptions(dataset="d", logdir="l", architecture="stylegan")
    TrainOptions(dataset="d", logdir="l", conditioning="per_class", **SOUND_DCGAN)  # no mbstd in a DCGAN


@pytest.mark.parametrize("settings, message", [
    ({}, "--ema_beta=0.999 (averaged weights with un-averaged batch statistics) and --loss=wgan_gp (a per-example "
         "gradient penalty): set --ema_beta=0 --loss=ns_r1 --r1_gamma=0 (as flags/dcgan_quickstart.cfg does)"),
    ({"loss": "ns_r1", "ema_beta": 0.0}, "unsound with --r1_gamma=10 (a per-example R1 penalty): set --r1_gamma=0 "),
    ({"r1_gamma": 0.0, "ema_beta": 0.0}, "unsound with --loss=wgan_gp (a per-example gradient penalty): set "
                                         "--loss=ns_r1 (as"),
    ({"loss": "ns_r1", "r1_gamma": 0.0, "ema_beta": 0.9}, "--ema_beta=0.9 (averaged weights with un-averaged batch "
                                                          "statistics): set --ema_beta=0 (as"),
])
def test_a_dcgan_refuses_weight_averaging_and_per_example_penalties_in_one_line(settings, message):
    with pytest.raises(OptionsError) as refused:
        TrainOptions(dataset="d", logdir="l", architecture="dcgan", **settings)
    assert str(refused.value).startswith("--architecture=dcgan has batch norm, unsound with ")
    assert message in str(refused.value) and "\n" not in str(refused.value)
    TrainOptions(dataset="d", logdir="l", **settings)  # the same settings are fine without batch norm


def test_a_dcgan_trains_one_stable_phase_at_its_resolution(gan_dataset, tmp_path):
    info = read_info(gan_dataset)
    config = TrainOptions(dataset=gan_dataset, logdir=str(tmp_path), start_resolution=4, kimg_per_phase=30,
                          kimg_per_transition=20, **SOUND_DCGAN)
    resolved, phases = resolve(config, info)  # --resolution=0: the dataset's 16
    assert (resolved.resolution, resolved.start_resolution) == (16, 16)
    assert [(p.resolution, p.fading, p.start_kimg, p.end_kimg) for p in phases] == [(16, False, 0.0, 30.0)]
    assert describe_schedule(phases, {16: 8}).splitlines()[1].split() == ["0", "0.0-30.0", "16x16", "8", "stable"]
    _, phases = resolve(config.replace(total_kimg=50), info)
    assert [(p.start_kimg, p.end_kimg) for p in phases] == [(0.0, 50.0)]


def test_resuming_with_another_architecture_is_refused(gan_dataset, tmp_path):
    config = tiny_config(gan_dataset, str(tmp_path))
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    with pytest.raises(TfpganError, match=r"different architecture \(architecture: 'pggan' -> 'dcgan'"):
        check_resume_compatible(config.replace(**SOUND_DCGAN), str(path))


@dataclasses.dataclass
class DCGANRun:
    config: TrainOptions
    stopped: dict
    trainer: RecordingTrainer
    summary: dict


@pytest.fixture(scope="module")
def dcgan_run(gan_dataset, tmp_path_factory) -> DCGANRun:
    """A per-class DCGAN at 16x16, 6 steps of 8, interrupted after step 3 and resumed to the end."""
    config = tiny_config(gan_dataset, str(tmp_path_factory.mktemp("dcgan") / "run"), **DCGAN)
    stopped, _ = train_until(config, DCGAN_STOP_STEP)
    state = training_state(stopped)
    trainer = RecordingTrainer(config)
    return DCGANRun(config, state, trainer, trainer.train())


@pytest.fixture(scope="module")
def pggan_run(gan_dataset, tmp_path_factory) -> Trainer:
    """A per-class progressive GAN at 16x16 (WGAN-GP, 2 steps of 8), exported."""
    trainer = Trainer(tiny_config(gan_dataset, str(tmp_path_factory.mktemp("pggan") / "run"), **PGGAN))
    trainer.train()
    return trainer


def _metadata(logdir):
    with open(os.path.join(logdir, "export", "generator", "tfpgan.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_a_resumed_dcgan_restores_batch_norm_statistics_and_every_other_variable(dcgan_run):
    restored = dcgan_run.trainer.restored_state
    assert restored.keys() == dcgan_run.stopped.keys()
    for key, value in dcgan_run.stopped.items():
        np.testing.assert_array_equal(restored[key], value, err_msg=key)
    assert int(restored["step"]) == DCGAN_STOP_STEP
    moving = [key for key in restored if key.startswith("generator/class") and key.endswith("moving_mean")]
    assert len(moving) == 2 * K and all(np.any(restored[key] != 0) for key in moving)  # trained, then restored
    assert dcgan_run.summary["kimg"] == pytest.approx(0.048) and int(dcgan_run.trainer.step.numpy()) == 6


def test_the_exported_dcgan_generator_is_the_trained_one_with_its_batch_norm_statistics(dcgan_run):
    trainer = dcgan_run.trainer
    pairs = list(zip(trainer.generator_ema.variables, trainer.generator.variables))
    assert any("moving_variance" in v.path for _, v in pairs)
    for ema, variable in pairs:  # --ema_beta=0: weights and statistics both G's
        np.testing.assert_array_equal(ema.numpy(), variable.numpy(), err_msg=variable.path)


def test_a_dcgan_run_logs_grids_swd_and_records_its_architecture(dcgan_run):
    logdir = dcgan_run.config.logdir
    grids = glob.glob(os.path.join(logdir, "images", "*.png"))
    assert grids and all(path.endswith("_16x16.png") for path in grids)  # one phase, never a fade
    assert np.asarray(Image.open(grids[0])).std() > 0
    tags = {value.tag for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
            for record in tf.data.TFRecordDataset(path)
            for value in tf.compat.v1.Event.FromString(record.numpy()).summary.value}
    assert {"metrics/swd_average_x1e3", "loss/d_loss", "progress/kimg"} <= tags
    metadata = _metadata(logdir)
    assert (metadata["architecture"], metadata["conditioning"], metadata["resolution"]) == ("dcgan", "per_class", 16)
    assert dcgan_run.trainer.ticks and all(values["penalty"] == 0 for _, values in dcgan_run.trainer.ticks)


@pytest.mark.parametrize("run", ["dcgan_run", "pggan_run"])
def test_synthesis_and_the_quality_audit_use_the_export_unchanged(run, request, gan_dataset, tmp_path):
    logdir = request.getfixturevalue(run).config.logdir
    export = os.path.join(logdir, "export", "generator")
    info = synthesize(export, str(tmp_path / "synthetic"), "per_class", 3, seed=1)
    assert info.counts == {name: 3 for name in CLASSES} and info.extra["generator"] == _metadata(logdir)
    result = audit(AuditOptions(real=gan_dataset, output=str(tmp_path / "quality"), generator=export, num=4,
                                quality=QualityOptions(metrics=("swd", "memorization"))))
    assert result.report["swd"] and result.report["memorization"]


def test_the_per_class_export_label_selects_that_class_generator(pggan_run):
    trainer = pggan_run
    assert _metadata(trainer.config.logdir)["conditioning"] == "per_class"
    serve = tf.saved_model.load(os.path.join(trainer.config.logdir, "export", "generator")).signatures[
        "serving_default"]
    latents = tf.random.stateless_normal([4, trainer.config.latent_size], [5, 6])
    own = [(trainer.generator_ema.networks[k](latents, resolution=16).numpy() + 1) / 2 for k in range(K)]
    for k in range(K):
        images = serve(latents=latents, labels=tf.fill([4], k))["images"].numpy()
        distances = [np.abs(images - np.clip(own[j], 0, 1)).max() for j in range(K)]
        assert distances[k] < 1e-5 and min(d for j, d in enumerate(distances) if j != k) > 1e-3, distances
