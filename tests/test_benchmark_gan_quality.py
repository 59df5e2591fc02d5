"""tools.benchmark --what=gan_quality: the settings it trains and the README table it prints (the training itself
is measured by running the command, never in tests)."""

from tfpgan.options import BenchmarkOptions
from tools import benchmark

pytest_plugins = ("gan_fixtures",)


def test_a_subset_setting_excludes_all_but_that_share_of_every_class(gan_dataset, tmp_path):
    options = BenchmarkOptions(what="gan_quality", gan_kimg_per_phase=0.5)
    config = benchmark._gan_config(options, gan_dataset, str(tmp_path / "run"), "ns_r1", "adaptive", 0.25)
    assert (config.loss, config.augment_p, config.kimg_per_phase, config.kimg_per_transition) == ("ns_r1", "auto",
                                                                                                 0.5, 0.5)
    assert config.augment == benchmark.AUGMENT_POLICY and config.test_fold == 0 and not config.export
    excluded = set(open(config.exclude_ids, encoding="utf-8").read().split())
    kept, total = {}, {}
    for example_id, label in _training_ids(gan_dataset):
        total[label] = total.get(label, 0) + 1
        kept[label] = kept.get(label, 0) + (example_id not in excluded)
    assert sorted(kept) == [0, 1, 2] and sum(total.values()) == 32
    assert all(kept[label] >= 1 and abs(kept[label] - 0.25 * total[label]) <= 0.5 for label in kept)
    plain = benchmark._gan_config(options, gan_dataset, str(tmp_path / "plain"), "wgan_gp", "none", 1.0)
    assert (plain.augment, plain.exclude_ids, plain.loss) == ((), None, "wgan_gp")


def _training_ids(dataset):
    from tfpgan.data.pipeline import load

    return [(i.decode(), int(label)) for _, label, i in load(dataset, folds=[1, 2], with_ids=True).as_numpy_iterator()]


def test_the_table_has_one_row_per_setting_with_per_class_columns():
    row = {"flagfile": "flags/quickstart.cfg", "loss": "ns_r1", "augment": "adaptive", "subset": 0.1,
           "training_images": 175, "seed": 1, "kimg": 30.0, "seconds": 151.2, "augment_p": 0.42,
           "per_class": {"a": {"swd_over_floor": 2.5, "swd_over_floor_unmatched": 3.5, "kid_x1e3": 1.25},
                         "b": {"swd_over_floor": 3.0, "swd_over_floor_unmatched": 4.25, "kid_x1e3": 0.5}}}
    row["class_mean"] = benchmark._class_mean(row["per_class"])
    assert row["class_mean"] == {"swd_over_floor": 2.75, "swd_over_floor_unmatched": 3.88, "kid_x1e3": 0.88}
    lines = benchmark._gan_table([row], ["a", "b"]).splitlines()
    assert lines[0] == ("| flagfile | data | loss | augmentation | seed | kimg | seconds | SWD/floor a (unmatched) | "
                        "SWD/floor b (unmatched) | SWD/floor mean of classes (unmatched) | KID×1e3 a | KID×1e3 b | "
                        "KID×1e3 mean of classes |")
    assert lines[2] == ("| flags/quickstart.cfg | 10% (175) | ns_r1 | adaptive (p=0.42) | 1 | 30 | 151 | 2.50 (3.50) | "
                        "3.00 (4.25) | 2.75 (3.88) | 1.25 | 0.50 | 0.88 |")


def test_settings_with_several_seeds_get_a_row_of_mean_and_sd_over_seeds():
    def run(seed, swd, kid, p):
        return {"flagfile": "f.cfg", "loss": "ns_r1", "augment": "adaptive", "subset": 0.1, "training_images": 175,
                "seed": seed, "kimg": 30.0, "seconds": 100.0 + seed, "augment_p": p,
                "per_class": {"a": {"swd_over_floor": swd, "swd_over_floor_unmatched": swd + 1, "kid_x1e3": kid}},
                "class_mean": {"swd_over_floor": swd, "swd_over_floor_unmatched": swd + 1, "kid_x1e3": kid}}

    single = dict(run(0, 9.0, 9.0, None), augment="none")
    rows = [run(0, 2.0, 1.0, 0.25), run(1, 4.0, 3.0, 0.75), single]
    (means,) = benchmark._seed_means(rows)  # the one-seed setting gets no mean row
    assert means["seed"] == [0, 1] and means["augment_p"] == 0.5 and means["seconds"] == 100.5
    sd = 2 ** 0.5  # sample sd of (2, 4) and of (1, 3)
    assert means["per_class"]["a"] == {"swd_over_floor": {"mean": 3.0, "sd": sd},
                                       "swd_over_floor_unmatched": {"mean": 4.0, "sd": sd},
                                       "kid_x1e3": {"mean": 2.0, "sd": sd}}
    assert means["class_mean"] == means["per_class"]["a"]
    lines = benchmark._gan_table(rows + [means], ["a"]).splitlines()
    assert len(lines) == 2 + 3 + 1
    assert lines[-1] == ("| f.cfg | 10% (175) | ns_r1 | adaptive (p=0.50) | mean of 2 | 30 | 100 | "
                         "3.00 ± 1.41 (4.00 ± 1.41) | 3.00 ± 1.41 (4.00 ± 1.41) | 2.00 ± 1.41 | 2.00 ± 1.41 |")
