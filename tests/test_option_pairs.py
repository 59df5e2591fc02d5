"""Every combination of the GAN's main options either trains or is refused in one line, covered pairwise.

The factors are loss x augmentation x architecture x conditioning x XLA x mixed precision, with the values the options
accept. Each full combination is first built as TrainOptions: the options accept it or refuse it with one
OptionsError line. A greedy all-pairs cover of the accepted combinations (every pair of values that some accepted
combination holds appears in a chosen one) then trains a couple of steps each. A pair of values that no accepted
combination holds must be refused, every time, by a rule whose message names both of its flags.
"""

import itertools

import numpy as np
import pytest

pytest.register_assert_rewrite("gan_fixtures")  # imported here before pytest_plugins loads it

from tfpgan.options import (  # noqa: E402
    ARCHITECTURES,
    CONDITIONINGS,
    GAN_AUGMENT_SETTINGS,
    GAN_LOSSES,
    OptionsError,
    TrainOptions,
)

from gan_fixtures import RecordingTrainer, tiny_config  # noqa: E402

pytest_plugins = ("gan_fixtures",)

FACTORS = {"loss": GAN_LOSSES, "augment": GAN_AUGMENT_SETTINGS, "architecture": ARCHITECTURES,
           "conditioning": CONDITIONINGS, "jit_compile": (False, True), "mixed_precision": (False, True)}
POLICY = ("translation", "cutout", "brightness", "contrast")
AUGMENT = {"none": {"augment": ()}, "diffaugment": {"augment": POLICY, "augment_p": "1"},
           "adaptive": {"augment": POLICY, "augment_p": "auto"}}
STEPS = 2
# One stable 8x8 phase of STEPS steps of 8 images (resolution >= 8 for a DCGAN), R1 at every step, no grid or
# checkpoint before the end.
RUN = dict(resolution=8, start_resolution=8, kimg_per_phase=0.008 * STEPS, batch_per_resolution={8: 8},
           r1_interval=1, tick_kimg=0.008, image_every_kimg=0, checkpoint_every_kimg=0, export=False)


def settings(combination: tuple) -> dict:
    """The TrainOptions fields of a combination, with the settings its values need as the shipped flagfiles set
    them: --mbstd_group_size=1 per class, and a DCGAN's --ema_beta=0 --r1_gamma=0 (flags/dcgan_quickstart.cfg)."""
    values = dict(zip(FACTORS, combination))
    fields = {**values, **AUGMENT[values.pop("augment")]}
    fields.update(mbstd_group_size=1 if values["conditioning"] == "per_class" else 4)
    if values["architecture"] == "dcgan":
        fields.update(ema_beta=0.0, r1_gamma=0.0)
    return fields


def pairs(combination: tuple) -> set:
    return set(itertools.combinations(zip(FACTORS, combination), 2))


def refusal(combination: tuple) -> str | None:
    """None when the options accept the combination, else their error message."""
    try:
        TrainOptions(dataset="d", logdir="l", **RUN, **settings(combination))
    except OptionsError as error:
        return str(error)
    return None


def cost(combination: tuple) -> int:
    """What a run of the combination costs, roughly: a per-class progressive GAN traces one pair of networks per
    class, XLA compiles them."""
    values = dict(zip(FACTORS, combination))
    return 4 * (values["conditioning"] == "per_class" and values["architecture"] == "pggan") + values["jit_compile"]


def greedy_cover(candidates: list[tuple]) -> list[tuple]:
    """Combinations among `candidates` holding every pair of values they hold: each time the one that holds the
    most pairs not held yet (the cheapest of those)."""
    uncovered, chosen, candidates = set().union(*map(pairs, candidates)), [], sorted(candidates, key=cost)
    while uncovered:
        best = max(candidates, key=lambda combination: len(pairs(combination) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen


COMBINATIONS = list(itertools.product(*FACTORS.values()))
REFUSED = {combination: message for combination in COMBINATIONS if (message := refusal(combination))}
COVER = greedy_cover([combination for combination in COMBINATIONS if combination not in REFUSED])


def names_both(message: str, pair: tuple) -> bool:
    return all(f"--{flag}" in message for flag, _ in pair)


def test_every_pair_of_values_trains_in_some_run_or_is_refused_by_a_rule_naming_both():
    trained = set().union(*map(pairs, COVER))
    refused_pairs = set().union(*map(pairs, COMBINATIONS)) - trained
    for pair in refused_pairs:
        holding = [combination for combination in COMBINATIONS if pair in pairs(combination)]
        assert all(combination in REFUSED for combination in holding), pair  # the cover missed an accepted one
        assert any(names_both(REFUSED[combination], pair) for combination in holding), pair
    for combination, message in REFUSED.items():  # one line, naming the two flags of a pair it holds
        assert message.startswith("--") and "\n" not in message
        assert any(names_both(message, pair) for pair in pairs(combination) & refused_pairs), (combination, message)
    assert len(COVER) < len(COMBINATIONS) / 4  # pairwise, not the product


@pytest.fixture
def float32_after():
    """Mixed precision sets Keras's global dtype policy: put float32 back for the tests that follow."""
    import keras

    yield
    keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.parametrize("combination", COVER, ids=lambda combination: "-".join(map(str, combination)))
def test_each_combination_of_the_cover_trains_a_couple_of_steps(combination, gan_dataset, tmp_path, float32_after):
    trainer = RecordingTrainer(tiny_config(gan_dataset, str(tmp_path / "run"), **RUN, **settings(combination)))
    trainer.train()

    assert [step for step, _ in trainer.ticks] == list(range(1, STEPS + 1))
    assert all(np.isfinite(list(values.values())).all() for _, values in trainer.ticks)
