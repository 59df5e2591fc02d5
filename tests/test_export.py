"""Tests for tfpgan.export and tools.export: the generator SavedModel loads without tfpgan, has the documented
signature and metadata, and can be re-exported from any checkpoint of a (moved) run folder."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.errors import TfpganError  # noqa: E402
from tfpgan.export import METADATA_FILE, load_generator, read_metadata  # noqa: E402
from tfpgan.training.trainer import export_checkpoint  # noqa: E402

from gan_fixtures import CLASSES, tiny_config  # noqa: E402

pytest_plugins = ("gan_fixtures",)

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 180

# Runs in a folder where tfpgan cannot be imported: loads the SavedModel with TensorFlow alone.
RELOAD_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf

export, folder = sys.argv[1:]
serve = tf.saved_model.load(export).signatures["serving_default"]
latents, labels = np.load(folder + "/latents.npy"), np.load(folder + "/labels.npy")
images = serve(latents=tf.constant(latents), labels=tf.constant(labels))
np.save(folder + "/images.npy", images["images"].numpy())
inputs = serve.structured_input_signature[1]
print(json.dumps({"inputs": {k: [v.dtype.name, v.shape.as_list()] for k, v in inputs.items()},
                  "outputs": sorted(serve.structured_outputs),
                  "tfpgan_imported": any(m.split(".")[0] == "tfpgan" for m in sys.modules)}))
"""


def _environment():
    """The test environment without PYTHONPATH (the reload must not find tfpgan)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def export_dir(grown_run):
    return grown_run.summary["export"]


def test_saved_model_reloads_without_tfpgan_and_generates_what_the_ema_generator_does(grown_run, export_dir,
                                                                                      tmp_path):
    latents = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2], np.int32)
    np.save(tmp_path / "latents.npy", latents)
    np.save(tmp_path / "labels.npy", labels)
    result = subprocess.run([sys.executable, "-c", RELOAD_SCRIPT, export_dir, str(tmp_path)], cwd=tmp_path,
                            env=_environment(), capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"inputs": {"latents": ["float32", [None, 8]], "labels": ["int32", [None]]},
                      "outputs": ["images"], "tfpgan_imported": False}
    images = np.load(tmp_path / "images.npy")
    assert images.shape == (6, 16, 16, 1) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0 and images.std() > 0
    generated = grown_run.trainer.generator_ema(latents, labels, resolution=16, fading=False).numpy()
    np.testing.assert_allclose(images, np.clip((generated + 1.0) / 2.0, 0.0, 1.0), atol=1e-5)


def test_saved_model_cli_lists_the_serving_signature(export_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run([cli, "show", "--all", "--dir", export_dir], capture_output=True, text=True,
                            timeout=TIMEOUT, env=_environment())
    assert result.returncode == 0, result.stderr[-3000:]
    for text in ("signature_def['serving_default']", "inputs['latents']", "inputs['labels']", "outputs['images']"):
        assert text in result.stdout


def test_load_generator_returns_the_signature_and_metadata(export_dir):
    serve, metadata = load_generator(export_dir)
    assert metadata == read_metadata(export_dir) and metadata["classes"] == list(CLASSES)
    images = serve(latents=tf.zeros([2, 8]), labels=tf.constant([0, 2]))["images"]
    assert images.shape == (2, 16, 16, 1)


@pytest.mark.parametrize("label", [-1, 3, 99])
def test_the_signature_refuses_labels_outside_the_classes(export_dir, label):
    serve, _ = load_generator(export_dir)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be class indices in \[0, 3\)"):
        serve(latents=tf.zeros([2, 8]), labels=tf.constant([0, label]))


def test_a_run_folder_given_for_a_generator_names_its_export(grown_run):
    logdir = grown_run.config.logdir
    with pytest.raises(TfpganError, match=f"{logdir} is a training run folder: its exported generator is "
                                          f"{os.path.join(logdir, 'export', 'generator')}"):
        read_metadata(logdir)


def test_read_metadata_rejects_folders_that_are_not_generator_exports(export_dir, tmp_path):
    with pytest.raises(TfpganError, match="not a SavedModel"):
        read_metadata(str(tmp_path))
    copy = shutil.copytree(export_dir, tmp_path / "copy")
    os.remove(copy / METADATA_FILE)
    with pytest.raises(TfpganError, match=f"no {METADATA_FILE}"):
        read_metadata(str(copy))


def test_tools_export_exports_a_chosen_checkpoint_of_a_moved_run(grown_run, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(os.path.join(grown_run.config.logdir, "checkpoints"), moved / "checkpoints")
    shutil.copy(os.path.join(grown_run.config.logdir, "config.json"), moved / "config.json")
    result = subprocess.run([sys.executable, "-m", "tools.export", f"--logdir={moved}",
                             f"--checkpoint={moved / 'checkpoints' / 'ckpt-16'}"], cwd=REPOSITORY,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr[-3000:]
    export = moved / "export" / "generator"
    assert f"exported {export}: 16x16x1, classes stripes, columns, checks, kimg 0.128, trained on folds [1, 2]" in \
        result.stdout
    assert os.path.isfile(export / "saved_model.pb")
    assert read_metadata(str(export))["kimg"] == pytest.approx(0.128)
    assert read_metadata(grown_run.summary["export"])["kimg"] == pytest.approx(0.16)  # the original is untouched


def test_export_checkpoint_needs_a_run_folder_and_an_existing_checkpoint(gan_dataset, tmp_path):
    with pytest.raises(TfpganError, match="no config.json"):
        export_checkpoint(str(tmp_path))
    config = tiny_config(gan_dataset, str(tmp_path), resolution=4)
    (tmp_path / "config.json").write_text(config.to_json(), encoding="utf-8")
    with pytest.raises(TfpganError, match="no checkpoint to export yet"):
        export_checkpoint(str(tmp_path))
    with pytest.raises(TfpganError, match="ckpt-7: no such checkpoint"):
        export_checkpoint(str(tmp_path), str(tmp_path / "checkpoints" / "ckpt-7"))
