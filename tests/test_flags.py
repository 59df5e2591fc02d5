"""tfpgan.flags: every binary's flags come from the options dataclasses and turn back into validated options."""

import dataclasses

import pytest
from absl import flags

from tfpgan import flags as tfpgan_flags
from tfpgan.options import (
    REGIMES,
    AuditOptions,
    BuildJob,
    ClassifierTraining,
    EvaluationOptions,
    ExperimentOptions,
    OptionsError,
    SynthesisOptions,
    TrainOptions,
)


def parse(options_class, *args):
    values = flags.FlagValues()
    tfpgan_flags.define_options_flags(options_class, flag_values=values)
    values(["binary", *args])
    return tfpgan_flags.options_from_flags(options_class, values)


def test_evaluation_flags_become_options(tmp_path):
    options = parse(EvaluationOptions, f"--dataset={tmp_path}", "--output=out", "--regimes=classic,classic+synthetic",
                    "--synthetic=gan/fold{fold}", "--folds=1", "--classifier=resnet18", "--classifier_epochs=3",
                    "--classifier_optimizer=adam", "--classifier_learning_rate=0.01", "--noclassic_vertical_flip",
                    "--classic_rotation_degrees=90", "--classic_zoom=0")
    assert options.regimes == ("classic", "classic+synthetic") and options.folds == (1,)
    assert options.synthetic == "gan/fold{fold}" and options.output == "out"
    assert options.training == ClassifierTraining(classifier="resnet18", epochs=3, optimizer="adam",
                                                  learning_rate=0.01)
    assert options.augmentation.rotation_range == (0.0, 90.0)
    assert not options.augmentation.vertical_flip and options.augmentation.horizontal_flip
    assert options.augmentation.zoom == 0


def test_train_flags_parse_resolution_maps_and_keep_defaults():
    options = parse(TrainOptions, "--dataset=d", "--logdir=l", "--batch_per_resolution=4:32,8:16",
                    "--lr_per_resolution=8:2e-3", "--kimg_per_phase=2")
    assert options.batch_per_resolution == {4: 32.0, 8: 16.0} and options.lr_per_resolution == {8: 0.002}
    assert options.kimg_per_phase == 2.0
    assert options.replace(batch_per_resolution={}, lr_per_resolution={}, kimg_per_phase=600.0) == \
        TrainOptions(dataset="d", logdir="l", batch_per_resolution={}, lr_per_resolution={})


@pytest.mark.parametrize("options_class, args, message", [
    (TrainOptions, ["--dataset=d", "--logdir=l", "--kimg_per_phase=-3"], "--kimg_per_phase must be > 0, got -3.0"),
    (TrainOptions, ["--logdir=l"], "--dataset is required"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--resolution=48"], "--resolution must be 0 or a power of two"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--batch_per_resolution=4=3"], "RESOLUTION:VALUE"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--start_resolution=16", "--resolution=8"],
     "--start_resolution must be <= --resolution"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--conditioning=per_class", "--mbstd_group_size=1", "--jit_compile"],
     "--jit_compile cannot compile --conditioning=per_class (its routing of examples to the class networks has "
     "data-dependent shapes, which XLA rejects): set --nojit_compile"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--conditioning=none", "--ac_weight=0.5"],
     "--ac_weight weighs the AC-GAN label terms, which --conditioning=none does not have"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--conditioning=none", "--nobalanced_fake_labels"],
     "--balanced_fake_labels has no effect with --conditioning=none (no network reads the labels): drop "
     "--nobalanced_fake_labels"),
    (TrainOptions, ["--dataset=d", "--logdir=l", "--augment_p=0.5"], "--augment_p 0.5 needs --augment (the operations "
     "it applies with that probability)"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--regimes=none,gan"], "--regimes must be one of"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--regimes=none,none"], "--regimes must list distinct"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--folds=0,x"], "folds must be 'all'"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--classifier_learning_rate=0"],
     "--classifier_learning_rate must be > 0, got 0.0"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--validation_fraction=1"],
     "--validation_fraction must be in (0, 1), got 1.0"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--classic_zoom=1.5"], "--classic_zoom must be in [0, 1)"),
    (EvaluationOptions, ["--dataset=d", "--output=o", "--regimes=synthetic"], "--synthetic is needed"),
    (AuditOptions, ["--real=r", "--output=o"], "give exactly one"),
    (AuditOptions, ["--real=r", "--output=o", "--generator=g"], "--num is needed"),
    (AuditOptions, ["--real=r", "--output=o", "--synthetic=s", "--metrics=swd,psnr"], "--metrics must be one of"),
    (SynthesisOptions, ["--generator=g", "--output=o", "--per_class=3", "--balance_to=9"], "exactly one"),
    (SynthesisOptions, ["--generator=g", "--output=o", "--counts=a:1,a:2"], "class 'a' twice"),
    (BuildJob, ["--output=o", "--folds=1"], "--folds must be >= 2"),
    (BuildJob, ["--output=o", "--channels=2"], "--channels must be 1 or 3, got 2"),
    (BuildJob, ["--output=o", "--dicom_window=40,0"], "--dicom_window must be finite 'center,width' with width > 0"),
    (BuildJob, ["--output=o", "--dicom_window=nan,400"], "--dicom_window must be finite"),
])
def test_bad_values_are_one_options_error_naming_the_flag(options_class, args, message):
    with pytest.raises(OptionsError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse(options_class, *args)


def test_classic_regime_needs_some_classic_augmentation():
    off = ["--classic_rotation_degrees=0", "--noclassic_horizontal_flip", "--noclassic_vertical_flip",
           "--classic_translate_pixels=0", "--classic_zoom=0"]
    with pytest.raises(OptionsError, match="every classic augmentation is switched off"):
        parse(EvaluationOptions, "--dataset=d", "--output=o", "--regimes=none,classic", *off)
    assert parse(EvaluationOptions, "--dataset=d", "--output=o", "--regimes=none", *off).regimes == ("none",)


def test_experiment_flags_fill_the_templates_and_share_deterministic():
    options = parse(ExperimentOptions, "--output=o", "--kimg_per_phase=2", "--classifier_epochs=4",
                    "--quality_classifier_epochs=2", "--deterministic", "--folds=0")
    assert options.train.kimg_per_phase == 2.0 and options.train.dataset == "" and options.train.logdir == ""
    assert options.evaluation.regimes == REGIMES  # the experiment compares every regime by default
    assert options.evaluation.training.epochs == 4 and options.audit.classifier_epochs == 2
    assert options.train.deterministic and options.evaluation.training.deterministic
    assert options.evaluation.folds == (0,) and options.dataset_dir == "o/dataset"


def test_experiment_defines_no_flag_for_what_it_fills_in_per_fold():
    values = flags.FlagValues()
    tfpgan_flags.define_options_flags(ExperimentOptions, flag_values=values)
    for name in ("logdir", "test_fold", "export", "exclude_ids", "synthetic", "overwrite"):
        assert name not in values


def test_every_exposed_field_has_help_and_every_flag_maps_back():
    for options_class in (TrainOptions, EvaluationOptions, AuditOptions, SynthesisOptions, BuildJob):
        values = flags.FlagValues()
        tfpgan_flags.define_options_flags(options_class, flag_values=values)
        for name in values:
            assert values[name].help and values[name].help != name, (options_class.__name__, name)
        assert dataclasses.is_dataclass(options_class)


def test_train_options_from_flagfile_reads_the_quickstart_config():
    options = tfpgan_flags.train_options_from_flagfile("flags/quickstart.cfg", dataset="d", logdir="l")
    assert options.resolution == 32 and options.latent_size < 512 and (options.dataset, options.logdir) == ("d", "l")
