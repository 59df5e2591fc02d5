"""Tests for tfpgan.training.trainer: growing 4 -> 16, artifacts, interrupt and resume, one compiled step per
phase, MirroredStrategy on 2 logical CPUs, divergence handling."""

import dataclasses
import glob
import json
import logging
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.data.dataset_info import read_info  # noqa: E402
from tfpgan.errors import TfpganError  # noqa: E402
from tfpgan.training.config import training_data  # noqa: E402
from tfpgan.training.schedule import phase_at  # noqa: E402
from tfpgan.training.trainer import METRIC_NAMES, Trainer, TrainingDiverged, TrainingInterrupted  # noqa: E402

from gan_fixtures import (  # noqa: E402
    BOUNDARY_STEP,
    CLASSES,
    MID_FADE_STEP,
    TOTAL_STEPS,
    RecordingTrainer,
    tiny_config,
    train_until,
    training_state,
)

pytest_plugins = ("gan_fixtures",)

PROGRESS_TAGS = {"progress/kimg", "progress/resolution", "progress/alpha", "progress/images_per_second",
                 "progress/learning_rate", "progress/augment_p"}
TICK_TAGS = {f"accuracy/{n}" if "acc" in n else f"loss/{n}" for n in METRIC_NAMES} | PROGRESS_TAGS


def _events(logdir):
    """({tag: {step: value}} of the scalars, set of all tags) over every event file in `logdir`."""
    scalars, tags = {}, set()
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags.add(value.tag)
                if value.metadata.plugin_data.plugin_name == "scalars":
                    scalars.setdefault(value.tag, {})[event.step] = float(tf.make_ndarray(value.tensor))
    return scalars, tags


def _checkpoint_names(logdir):
    state = tf.train.get_checkpoint_state(os.path.join(logdir, "checkpoints"))
    return [os.path.basename(path) for path in state.all_model_checkpoint_paths]


def _assert_same_state(actual, expected):
    assert actual.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def test_grown_run_summary_and_config(grown_run):
    logdir = grown_run.config.logdir
    assert grown_run.summary == {"kimg": TOTAL_STEPS * 8 / 1000, "complete": True, "resumed": True,
                                 "export": os.path.join(logdir, "export", "generator")}
    with open(os.path.join(logdir, "config.json"), encoding="utf-8") as handle:
        recorded = json.load(handle)
    assert recorded.pop("training_data") == training_data(read_info(grown_run.config.dataset).fingerprint, [])
    assert recorded == json.loads(json.dumps(dataclasses.asdict(grown_run.config)))


def test_grown_run_writes_every_tick_to_tensorboard(grown_run):
    scalars, tags = _events(grown_run.config.logdir)
    assert TICK_TAGS <= set(scalars)
    assert "config" in tags and any(tag.startswith("generated (left) vs real (right)") for tag in tags)
    ticks = list(range(2, TOTAL_STEPS + 1, 2))  # a tick every 16 images, none lost or repeated across resumes
    for tag in TICK_TAGS:
        assert sorted(scalars[tag]) == ticks, tag
        assert all(np.isfinite(v) for v in scalars[tag].values()), tag
    assert [scalars["progress/resolution"][s] for s in ticks] == [4, 4, 8, 8, 8, 8, 16, 16, 16, 16]
    assert [scalars["progress/alpha"][s] for s in ticks] == [1, 1, 0.5, 1, 1, 1, 0.5, 1, 1, 1]
    assert scalars["progress/kimg"][TOTAL_STEPS] == pytest.approx(0.16)


def test_grown_run_saves_image_grids_of_every_phase(grown_run):
    paths = sorted(glob.glob(os.path.join(grown_run.config.logdir, "images", "*.png")))
    phases = {re.search(r"_(\d+x\d+(_fade)?)\.png$", path).group(1) for path in paths}
    assert phases == {"4x4", "8x8_fade", "8x8", "16x16_fade", "16x16"}
    for path in paths:
        grid = np.asarray(Image.open(path))
        # an 18 px caption, then 3 class rows of 64 px tiles (+2 px borders); 2 fakes, a gap, 2 reals per row
        assert grid.shape[0] == 18 + len(CLASSES) * 66 and grid.shape[1] > 4 * 66 + 16 and grid.std() > 0
        dark = grid.min(axis=2) < 128
        header_columns = np.flatnonzero(dark[:18].any(axis=0))
        assert header_columns.size and header_columns.max() - header_columns.min() > 150  # both captions
        for row in range(len(CLASSES)):  # each class row is named in the left margin
            assert dark[18 + row * 66: 18 + (row + 1) * 66, :40].any()


def test_grown_run_keeps_the_newest_checkpoints_and_exports_with_metadata(grown_run, gan_dataset):
    logdir = grown_run.config.logdir
    assert _checkpoint_names(logdir) == ["ckpt-16", f"ckpt-{TOTAL_STEPS}"]
    export = os.path.join(logdir, "export", "generator")
    assert os.path.isfile(os.path.join(export, "saved_model.pb"))
    with open(os.path.join(export, "tfpgan.json"), encoding="utf-8") as handle:
        metadata = json.load(handle)
    fingerprint = read_info(gan_dataset).fingerprint
    assert fingerprint and metadata["dataset_fingerprint"] == fingerprint
    assert metadata["trained_on_folds"] == [1, 2] and metadata["test_fold"] == 0 and metadata["dataset_folds"] == 3
    assert (metadata["classes"], metadata["resolution"], metadata["channels"], metadata["latent_size"]) == (
        list(CLASSES), 16, 1, 8)
    assert metadata["kimg"] == pytest.approx(0.16)


def test_interrupt_saves_a_checkpoint_and_says_how_to_resume(grown_run):
    for segment, step in zip(grown_run.segments, (BOUNDARY_STEP, MID_FADE_STEP)):
        assert os.path.basename(segment.checkpoint) == f"ckpt-{step}"
        assert segment.state["step"] == step and segment.state["images_seen"] == 8 * step
        assert segment.checkpoint in segment.message and "run the same command to resume" in segment.message


def test_resume_restores_counters_alpha_weights_and_optimizer_moments(grown_run):
    stopped, resumed = grown_run.segments[-1], grown_run.trainer
    _assert_same_state(resumed.restored_state, stopped.state)
    restored = resumed.restored_state
    assert (restored["step"], restored["images_seen"], restored["phase"]) == (MID_FADE_STEP, 48, 1)
    assert restored["generator/fade.alpha"] == restored["discriminator/fade.alpha"] == 0.25  # α of step 6
    assert resumed.alphas[0] == (MID_FADE_STEP, 0.5)  # and step 7 continues the ramp
    moments = {k: np.any(v != 0) for k, v in restored.items() if k.endswith(("_momentum", "_velocity"))}
    assert len(moments) > 20 and all(used != ("16_" in k) for k, used in moments.items())  # 16x16 unused yet


def test_resuming_at_a_phase_boundary_matches_an_uninterrupted_run(grown_run, tmp_path):
    """Steps 0-4, a restart, steps 5-6 == steps 0-6 in one go: weights, EMA, moments, counters bit for bit.

    (Resuming in the middle of a phase reshuffles the data from the resume step, so there only the state
    restored from the checkpoint is identical, see the test above.)"""
    config = dataclasses.replace(grown_run.config, logdir=str(tmp_path / "straight"))
    straight, _ = train_until(config, MID_FADE_STEP)
    _assert_same_state(grown_run.segments[-1].state, training_state(straight))


def test_one_compiled_step_per_resolution_with_alpha_set_inside_it(grown_run):
    trainer = grown_run.trainer
    assert [resolution for resolution, _ in trainer.step_functions] == [8, 16]  # resumed in the 8x8 fade-in
    assert [f.experimental_get_tracing_count() for _, f in trainer.step_functions] == [1, 1]
    by_phase = {}
    for step, alpha in trainer.alphas:
        by_phase.setdefault(phase_at(trainer.phases, step * 8 / 1000).index, []).append(alpha)
    assert by_phase[3] == pytest.approx([0.0, 0.25, 0.5, 0.75])  # 16x16 fade-in
    assert by_phase[2] == by_phase[4] == [1.0] * 4  # stable phases: the fade graph at α = 1


def test_adam_is_reset_at_every_phase_boundary(grown_run):
    # the last phase (16x16 stable) follows the 16x16 fade-in: only a reset at every boundary leaves 4 iterations
    assert int(grown_run.trainer.d_optimizer.iterations.numpy()) == 4
    assert int(grown_run.trainer.g_optimizer.iterations.numpy()) == 4


def test_rerunning_a_completed_run_returns_at_once(grown_run, caplog):
    before = _checkpoint_names(grown_run.config.logdir)
    trainer = Trainer(grown_run.config)
    with caplog.at_level(logging.INFO):
        assert trainer.train() == grown_run.summary
    assert "training is already complete (kimg 0.2 of 0.2)" in caplog.text
    assert ("training 4x4 -> 16x16 in 5 phases, 0.16 kimg; training folds [1, 2] of tiny (32 images, test fold 0); "
            "global batch 4x4: 8, 8x8: 8, 16x16: 8 (1 replica(s), _DefaultDistributionStrategy)") in caplog.text
    assert "augmentation none; networks pggan, conditioning acgan" in caplog.text
    assert int(trainer.step.numpy()) == TOTAL_STEPS and _checkpoint_names(grown_run.config.logdir) == before
    assert Trainer(dataclasses.replace(grown_run.config, export=False)).train()["export"] == ""


def test_mirrored_strategy_on_two_cpus_trains_with_the_global_batch(gan_dataset, tmp_path):
    """2 replicas x 4 see the same 8 real images as 1 device x 8 from the same initial weights: the real-image
    terms agree, and the losses averaged over the global batch stay on the single-device scale."""
    common = dict(resolution=4, mbstd_group_size=1, tick_kimg=0.001, image_every_kimg=0, checkpoint_every_kimg=0,
                  export=False)
    single = RecordingTrainer(tiny_config(gan_dataset, str(tmp_path / "single"), kimg_per_phase=0.008, **common))
    single.train()
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = RecordingTrainer(tiny_config(gan_dataset, str(tmp_path / "mirrored"), kimg_per_phase=0.024,
                                            batch_per_resolution={4: 4}, **common), strategy=strategy)
    assert mirrored.replicas == 2 and mirrored.batch_size(4) == 4
    assert mirrored.train()["kimg"] == pytest.approx(0.024)
    assert (int(mirrored.step.numpy()), int(mirrored.images_seen.numpy())) == (3, 24)  # global batch 2 x 4
    assert [step for step, _ in mirrored.ticks] == [1, 2, 3]
    one, two = single.ticks[0][1], mirrored.ticks[0][1]
    assert two["drift"] == pytest.approx(one["drift"], rel=1e-4)
    assert two["acc_real"] == one["acc_real"]
    for name in ("d_loss", "g_loss", "penalty"):
        assert abs(two[name] - one[name]) <= 0.25 * max(abs(one[name]), 1.0), (name, one[name], two[name])
    for variable in mirrored.generator.trainable_variables + mirrored.discriminator.trainable_variables:
        replicas = [v.numpy() for v in variable.value.values]
        assert len(replicas) == 2 and np.array_equal(replicas[0], replicas[1]), variable.path


def test_a_non_finite_loss_raises_training_diverged_and_keeps_the_last_good_checkpoint(gan_dataset, tmp_path):
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=4, kimg_per_phase=0.08,
                         checkpoint_every_kimg=0.008, image_every_kimg=0, export=False)
    trainer = Trainer(config)

    def blow_up_after_step_2():  # an absurd learning rate from step 3 on (Adam's is a variable: no retrace)
        if int(trainer.step.numpy()) == 2:
            trainer.g_optimizer.learning_rate = trainer.d_optimizer.learning_rate = 1e30
        return False

    with pytest.raises(TrainingDiverged, match=r"non-finite loss .* the last good checkpoint .* is kept. Try a "
                                               r"lower --learning_rate") as diverged:
        trainer.train(should_stop=blow_up_after_step_2)
    assert os.path.basename(trainer.manager.latest_checkpoint) == "ckpt-2"
    scalars = _events(config.logdir)[0]  # what was logged before the blow-up is on disk
    assert {tag: sorted(steps) for tag, steps in scalars.items()} == {tag: [2] for tag in TICK_TAGS}
    assert trainer.manager.latest_checkpoint in str(diverged.value)
    assert max(np.abs(v.numpy()).max() for v in trainer.discriminator.trainable_variables) > 1e20  # in memory
    for path in trainer.manager.checkpoints:  # on disk: only the weights from before the blow-up
        reader = tf.train.load_checkpoint(path)
        for name, dtype in reader.get_variable_to_dtype_map().items():
            if dtype.is_floating:
                assert np.all(np.abs(reader.get_tensor(name)) < 1e6), (path, name)


def test_ns_r1_applies_the_lazy_r1_every_interval_steps(gan_dataset, tmp_path):
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=4, kimg_per_phase=0.032, tick_kimg=0.008,
                         image_every_kimg=0, checkpoint_every_kimg=0, export=False, loss="ns_r1", r1_interval=2)
    trainer = RecordingTrainer(config)
    trainer.train()
    penalties = [values["penalty"] for _, values in trainer.ticks]
    assert len(penalties) == 4 and penalties[0] > 0 and penalties[2] > 0 and penalties[1] == penalties[3] == 0
    assert all(values["drift"] == 0 for _, values in trainer.ticks)


def test_adaptive_augmentation_p_follows_the_sign_of_d_on_reals_and_a_resumed_run_keeps_it(gan_dataset,
                                                                                           tmp_path):
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=8, loss="ns_r1",
                         augment=("translation", "cutout", "brightness", "contrast"), augment_p="auto",
                         augment_target=0.2, augment_speed_kimg=0.32, export=False)
    first = RecordingTrainer(config)
    first.augment_p.assign(0.5)
    with pytest.raises(TrainingInterrupted):
        first.train(should_stop=lambda: int(first.step.numpy()) >= 8)
    signs = [values["real_sign"] for _, values in first.ticks]  # a tick every 2 steps, an adjustment every 4
    expected = 0.5
    for r_t in (np.mean(signs[0:2]), np.mean(signs[2:4])):
        expected = min(1.0, max(0.0, expected + 0.1 * np.sign(r_t - 0.2)))  # 32 images / (0.32 kimg)
    p = float(first.augment_p.numpy())
    assert p == pytest.approx(expected, abs=1e-6) and p > 0
    reader = tf.train.load_checkpoint(first.manager.latest_checkpoint)
    assert [reader.get_tensor(k) for k in reader.get_variable_to_shape_map() if k.startswith("augment_p")] == [
        np.float32(p)]
    resumed = RecordingTrainer(config)
    resumed.train()
    assert resumed.restored_state["augment_p"] == np.float32(p)
    assert _events(config.logdir)[0]["progress/augment_p"][8] == pytest.approx(p)


def test_excluded_ids_never_reach_training_and_the_metadata_lists_them(gan_dataset, tmp_path):
    checks = sorted(i.decode() for i, label in _ids_and_labels(gan_dataset) if label == 2)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(checks) + "\n")
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=4, exclude_ids=str(ids_file))
    trainer = Trainer(config)
    iterator = trainer._dataset(trainer.phases[0], 0)
    assert all(2 not in next(iterator)[1].numpy() for _ in range(12))  # every "checks" image is excluded
    assert (trainer._real_samples()[2] == -1).all()  # its grid row stays blank
    metadata = trainer.metadata()
    assert metadata["excluded_ids"] == checks and metadata["architecture"] == "pggan"
    assert (metadata["loss"], metadata["augment"]) == ("wgan_gp", [])
    assert Trainer(tiny_config(gan_dataset, str(tmp_path / "other"))).metadata()["excluded_ids"] == []
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(TfpganError, match="empty"):
        Trainer(tiny_config(gan_dataset, str(tmp_path / "bad"), exclude_ids=str(tmp_path / "empty.txt")))


def test_class_counts_and_the_swd_monitors_fakes_follow_the_images_trained_on(gan_dataset, tmp_path):
    from tfpgan.labeled import read_records

    records = read_records(gan_dataset)
    # some stripes images (of any fold: an id of the test fold changes nothing) and every checks image
    excluded = {r.id for r in records if r.label == 0 and r.fold in (0, 1)} | {r.id for r in records if r.label == 2}
    (tmp_path / "ids.txt").write_text("\n".join(excluded) + "\n")
    trainer = Trainer(tiny_config(gan_dataset, str(tmp_path / "run"), exclude_ids=str(tmp_path / "ids.txt"),
                                  metrics_images=1000))
    trained_on = [sum(r.fold != 0 and r.label == k and r.id not in excluded for r in records) for k in range(3)]
    assert trainer.class_counts == trained_on and trained_on[0] > 0 == trained_on[2]
    labels = []
    generator = trainer.generator_ema
    trainer.generator_ema = lambda latents, drawn, **kwargs: labels.append(drawn.numpy()) or generator(
        latents, drawn, **kwargs)
    trainer._log_swd(trainer.phases[-1])  # every training image (metrics_images > their number) against as many fakes
    assert np.bincount(np.concatenate(labels), minlength=3).tolist() == trainer.class_counts  # the reals' class mix


def test_a_resume_on_other_excluded_ids_or_another_dataset_is_refused(gan_dataset, tmp_path):
    ids = sorted(i.decode() for i, _ in _ids_and_labels(gan_dataset))
    for name, example_id in (("a.txt", ids[0]), ("b.txt", ids[1])):
        (tmp_path / name).write_text(example_id + "\n")
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=4, kimg_per_phase=0.016,
                         exclude_ids=str(tmp_path / "a.txt"), image_every_kimg=0, export=False)
    train_until(config, 1)  # interrupted after step 1 of 2, with a checkpoint
    config_json = tmp_path / "run" / "config.json"
    recorded = json.loads(config_json.read_text())["training_data"]
    fingerprint = read_info(gan_dataset).fingerprint
    assert recorded == training_data(fingerprint, [ids[0]]) != training_data(fingerprint, [ids[1]])
    other = tmp_path / "other"  # the same images under another fingerprint: another dataset for the record
    shutil.copytree(gan_dataset, other)
    info = json.loads((other / "dataset.json").read_text())
    (other / "dataset.json").write_text(json.dumps({**info, "fingerprint": "f" * 64}))
    before = config_json.read_text()
    changes = {"excluded ids": (dict(exclude_ids=str(tmp_path / "b.txt")), "excluded_ids_sha256", [ids[1]],
                                fingerprint),
               "dataset": (dict(dataset=str(other)), "dataset_fingerprint", [ids[0]], "f" * 64)}
    for change, key, excluded, new_fingerprint in changes.values():
        new = training_data(new_fingerprint, excluded)[key]
        with pytest.raises(TfpganError) as refused:
            Trainer(config.replace(**change)).train()
        message = str(refused.value)
        assert "config.json records" in message and recorded[key][:16] in message and new[:16] in message
        assert "a resume cannot change what the GAN has seen" in message and "\n" not in message
    assert config_json.read_text() == before  # refused before anything was written
    config_json.unlink()  # the checkpoint records the same
    with pytest.raises(TfpganError, match=r"checkpoint ckpt-1 records .*1 excluded ids .*a resume cannot change"):
        Trainer(config.replace(exclude_ids=str(tmp_path / "b.txt"))).train()
    assert Trainer(config).train()["resumed"]  # the same images: resumed to the end


def test_a_checkpoint_recording_no_training_data_is_refused_for_a_resume_and_exported_with_a_warning(
        gan_dataset, tmp_path, caplog):
    old = tf.train.Checkpoint(step=tf.Variable(1, dtype=tf.int64)).write(str(tmp_path / "old" / "ckpt-1"))
    trainer = Trainer(tiny_config(gan_dataset, str(tmp_path / "run")))
    with pytest.raises(TfpganError, match="does not record the images its GAN trained on .*use a new --logdir"):
        trainer.check_checkpoint(old)
    with caplog.at_level(logging.WARNING):
        trainer.check_checkpoint(old, resuming=False)
    assert "the export records the dataset and --exclude_ids as they are now" in caplog.text


def _ids_and_labels(dataset):
    from tfpgan.data.pipeline import load

    return [(i, int(label)) for _, label, i in load(dataset, with_ids=True).as_numpy_iterator()]


def test_generator_labels_are_balanced_or_follow_the_training_folds_counts(gan_dataset, tmp_path):
    trainer = Trainer(tiny_config(gan_dataset, str(tmp_path / "run")))
    info = read_info(gan_dataset)
    assert trainer.class_counts == [sum(info.fold_counts[f][k] for f in (1, 2)) for k in range(3)]
    labels = trainer._generator_labels(9, tf.constant(3, tf.int64), 6).numpy()
    assert sorted(labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    trainer.class_counts = [5, 0, 5]  # the prior is the trainer's training-fold counts
    trainer.config = dataclasses.replace(trainer.config, balanced_fake_labels=False)
    labels = trainer._generator_labels(200, tf.constant(3, tf.int64), 6).numpy()
    assert 1 not in labels and {0, 2} <= set(labels)


def test_toggling_mixed_precision_on_resume_is_one_clear_error(gan_dataset, tmp_path):
    from tfpgan.training.config import check_resume_compatible

    config = tiny_config(gan_dataset, str(tmp_path / "run"))
    path = tmp_path / "config.json"
    path.write_text(config.to_json())
    check_resume_compatible(config, str(path))
    with pytest.raises(TfpganError, match=r"--mixed_precision=false: .* resume with the same --mixed_precision"):
        check_resume_compatible(dataclasses.replace(config, mixed_precision=True), str(path))


def test_mixed_precision_on_two_replicas_with_ns_r1_and_augmentation_trains_finite(gan_dataset, tmp_path):
    import keras

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    config = tiny_config(gan_dataset, str(tmp_path / "run"), resolution=4, kimg_per_phase=0.024,
                         batch_per_resolution={4: 4}, mbstd_group_size=1, tick_kimg=0.008, image_every_kimg=0,
                         checkpoint_every_kimg=0, export=False, mixed_precision=True, loss="ns_r1", r1_interval=2,
                         augment=("translation", "brightness"))
    try:
        trainer = RecordingTrainer(config, strategy=strategy)
        trainer.train()
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert [step for step, _ in trainer.ticks] == [1, 2, 3]
    assert all(np.isfinite(list(values.values())).all() for _, values in trainer.ticks)
    assert trainer.ticks[0][1]["penalty"] > 0  # R1 of step 0, computed under loss scaling
    assert trainer.generator.dtype_policy.compute_dtype == "float16"
    keras.mixed_precision.set_dtype_policy("mixed_float16")  # as a mixed-precision run leaves it in this process
    try:
        after = Trainer(dataclasses.replace(config, mixed_precision=False, logdir=str(tmp_path / "next")))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert after.generator.dtype_policy.compute_dtype == "float32"  # the next run of an experiment is float32
