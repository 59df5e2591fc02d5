"""config.json on resume: architecture changes are refused, schedule changes need --allow_schedule_change."""

import os

import pytest

from tfpgan.atomic import write_text
from tfpgan.errors import TfpganError
from tfpgan.options import TrainOptions
from tfpgan.training.config import check_resume_compatible


@pytest.fixture
def finished(tmp_path):
    """A run folder whose config.json holds a 4 -> 16 run."""
    options = TrainOptions(dataset="d", logdir=str(tmp_path), resolution=16, kimg_per_phase=1.0,
                           kimg_per_transition=1.0, batch_per_resolution={4: 8, 16: 4})
    path = os.path.join(tmp_path, "config.json")
    write_text(path, options.to_json())
    return options, path


def test_the_same_options_resume(finished):
    options, path = finished
    check_resume_compatible(options, path)


@pytest.mark.parametrize("change", [{"kimg_per_phase": 2.0}, {"kimg_per_transition": 0.5}, {"total_kimg": 9.0},
                                    {"batch_per_resolution": {4: 8, 16: 2}}])
def test_a_schedule_change_is_refused_unless_allowed(finished, change):
    options, path = finished
    changed = options.replace(**change)
    with pytest.raises(TfpganError, match=f"different schedule \\({next(iter(change))}: .*--allow_schedule_change"):
        check_resume_compatible(changed, path)
    check_resume_compatible(changed.replace(allow_schedule_change=True), path)


def test_an_architecture_change_is_refused_even_when_schedule_changes_are_allowed(finished):
    options, path = finished
    with pytest.raises(TfpganError, match=r"different architecture \(resolution: 16 -> 8\)"):
        check_resume_compatible(options.replace(resolution=8, allow_schedule_change=True), path)


def test_resolution_maps_keep_integers_in_config_json(finished):
    options, path = finished
    with open(path, encoding="utf-8") as handle:
        assert '"16": 4' in handle.read()
