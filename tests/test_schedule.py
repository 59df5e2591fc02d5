"""Tests for tfpgan.training.schedule: phases and kimg boundaries, the fade-in ramp, per-resolution maps."""

import pytest

from tfpgan.errors import TfpganError
from tfpgan.options import parse_resolution_map
from tfpgan.training.schedule import Phase, build_phases, phase_at, value_for


def test_phases_grow_from_4_to_16_with_kimg_boundaries():
    phases = build_phases(4, 16, kimg_per_phase=3.0, kimg_per_transition=2.0)
    assert [(p.index, p.resolution, p.fading, p.start_kimg, p.end_kimg) for p in phases] == [
        (0, 4, False, 0.0, 3.0),
        (1, 8, True, 3.0, 5.0),
        (2, 8, False, 5.0, 8.0),
        (3, 16, True, 8.0, 10.0),
        (4, 16, False, 10.0, 13.0),
    ]


def test_single_resolution_is_one_stable_phase_even_without_transitions():
    assert build_phases(8, 8, kimg_per_phase=1.5, kimg_per_transition=0.0) == [Phase(0, 8, False, 0.0, 1.5)]


def test_alpha_ramps_through_a_transition_and_is_one_when_stable():
    fade, stable = build_phases(4, 8, 3.0, 2.0)[1:]
    assert [fade.alpha(k) for k in (2.0, 3.0, 3.5, 4.0, 5.0, 6.0)] == [0.0, 0.0, 0.25, 0.5, 1.0, 1.0]
    assert stable.alpha(5.0) == stable.alpha(7.9) == 1.0
    assert fade.describe(4.0) == "8x8 fade α=0.50" and stable.describe(6.0) == "8x8 stable"


def test_phase_at_uses_half_open_intervals_and_the_last_phase_after_the_end():
    phases = build_phases(4, 16, 3.0, 2.0)
    assert [phase_at(phases, k).index for k in (0.0, 2.999, 3.0, 4.9, 5.0, 8.0, 12.9, 13.0, 99.0)] == [
        0, 0, 1, 1, 2, 3, 4, 4, 4]


def test_total_kimg_extends_the_last_stable_phase():
    phases = build_phases(4, 16, 3.0, 2.0, total_kimg=20.0)
    assert phases[-1] == Phase(4, 16, False, 10.0, 20.0)
    assert phases[:-1] == build_phases(4, 16, 3.0, 2.0)[:-1]
    assert build_phases(4, 16, 3.0, 2.0, total_kimg=13.0) == build_phases(4, 16, 3.0, 2.0)


def test_total_kimg_shorter_than_growth_is_an_error():
    with pytest.raises(TfpganError, match=r"total_kimg 12 is shorter than the growth schedule \(13 kimg\)"):
        build_phases(4, 16, 3.0, 2.0, total_kimg=12.0)


@pytest.mark.parametrize("args, message", [
    ((16, 8, 1.0, 1.0), "start_resolution 16 is above the target resolution 8"),
    ((4, 8, 0.0, 1.0), "must be > 0"),
    ((4, 8, 1.0, 0.0), "must be > 0"),
    ((4, 8, -1.0, 1.0), "must be > 0"),
])
def test_bad_schedules_are_errors(args, message):
    with pytest.raises(TfpganError, match=message):
        build_phases(*args)


def test_parse_resolution_map():
    assert parse_resolution_map("4:128, 8:64,16:1e-3,") == {4: 128.0, 8: 64.0, 16: 0.001}
    assert parse_resolution_map("") == {}


@pytest.mark.parametrize("text", ["oops", "4=128", "4:", "x:1", "4:1,8"])
def test_parse_resolution_map_rejects_bad_pairs(text):
    with pytest.raises(TfpganError, match="RESOLUTION:VALUE"):
        parse_resolution_map(text)


def test_value_for_takes_the_nearest_lower_resolution_else_the_default():
    mapping = {8: 64.0, 32: 16.0}
    assert [value_for(mapping, r, 7.0) for r in (4, 8, 16, 32, 128)] == [7.0, 64.0, 64.0, 16.0, 16.0]
    assert value_for({}, 16, 7.0) == 7.0


def test_saturation_is_refused_on_gray_images_where_it_changes_nothing():
    from tfpgan.data.dataset_info import DatasetInfo
    from tfpgan.options import TrainOptions
    from tfpgan.training.schedule import resolve

    def info(channels):
        return DatasetInfo(name="d", resolution=16, channels=channels, classes=["a"], counts={"a": 1}, folds=2,
                           fold_counts=[[1], [0]], num_examples=1, source="s", seed=0, shards=[])

    options = TrainOptions(dataset="data/d", logdir="l", augment=("brightness", "saturation"))
    assert resolve(options, info(3))[0].resolution == 16
    with pytest.raises(TfpganError, match=r"--augment=saturation changes nothing on the 1-channel images of data/d: "
                                          r"drop it from --augment"):
        resolve(options, info(1))
