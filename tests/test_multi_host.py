"""Folds of one experiment on several hosts at once: two `tools.experiment --folds=K` processes into one shared
folder build the dataset once and write only their own fold's files; `--report_only` merges both folds into one
report, and a merge with a fold unfinished names it."""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from absl import flags

from tfpgan import flags as tfpgan_flags
from tfpgan.experiment import merge
from tfpgan.options import REGIMES, ExperimentOptions, OptionsError

from test_experiment import REPO, TINY_EXPERIMENT, run_experiment, write_patterned_source

FOLDS = (0, 1)
DEADLINE = 400  # seconds for both hosts together (about 75 s on 2 busy cores)


def host_command(tmp, *args: str) -> list[str]:
    return [f"--source=folder:{tmp / 'source'}", f"--output={tmp / 'out'}", *TINY_EXPERIMENT, *args]


def run_hosts(tmp) -> dict[int, tuple[int, str, str]]:
    """Both folds at once, one process each: {fold: (exit code, stdout, stderr)}; killed past DEADLINE."""
    processes, outputs = {}, {}
    try:
        for fold in FOLDS:
            outputs[fold] = [open(tmp / f"fold{fold}.{name}", "w+", encoding="utf-8") for name in ("out", "err")]
            processes[fold] = subprocess.Popen(
                [sys.executable, "-m", "tools.experiment", *host_command(tmp, f"--folds={fold}")], cwd=REPO,
                stdout=outputs[fold][0], stderr=outputs[fold][1], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        deadline = time.monotonic() + DEADLINE
        while any(p.poll() is None for p in processes.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
            process.wait()
    results = {}
    for fold, handles in outputs.items():
        texts = []
        for handle in handles:
            handle.seek(0)
            texts.append(handle.read())
            handle.close()
        results[fold] = (processes[fold].returncode, *texts)
    return results


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory):
    """(scratch folder, {fold: (code, stdout, stderr)} of the two hosts, the --report_only process)."""
    tmp = tmp_path_factory.mktemp("hosts")
    write_patterned_source(str(tmp / "source"))
    hosts = run_hosts(tmp)
    return tmp, hosts, run_experiment(*host_command(tmp, "--report_only"), timeout=120)


def test_two_hosts_build_the_dataset_once_and_write_only_their_own_folds(two_hosts):
    tmp, hosts, _ = two_hosts
    for fold, (code, _, stderr) in hosts.items():
        assert code == 0, stderr[-3000:]
        assert set(re.findall(r"fold (\d+): GAN training", stderr)) == {str(fold)}
        assert set(re.findall(r"fold (\d+) seed \d+ \S+: test accuracy", stderr)) == {str(fold)}
    logs = "".join(stderr for _, _, stderr in hosts.values())
    assert logs.count("dataset: building") == 1 and logs.count("dataset: reusing") == 1
    output = tmp / "out"
    for fold in FOLDS:
        assert (output / "gan" / f"fold{fold}" / "export" / "generator" / "saved_model.pb").is_file()
        assert (output / "quality" / f"fold{fold}" / "quality.json").is_file()
        assert (output / "samples" / f"fold{fold}.png").is_file()
        for regime in REGIMES:
            assert (output / "evaluation" / "runs" / regime / f"fold{fold}" / "seed0" / "result.json").is_file()
    assert not [name for name in os.listdir(output) if ".tmp-" in name]  # no half-written folder left


def test_report_only_merges_both_folds_into_one_report(two_hosts):
    tmp, _, merged = two_hosts
    assert merged.returncode == 0, merged.stderr[-3000:]
    assert "GAN training" not in merged.stderr and "missing folds" not in merged.stdout
    assert "| Regime |" in merged.stdout
    output = tmp / "out"
    report = json.loads((output / "evaluation" / "report.json").read_text())
    assert report["folds"] == list(FOLDS) and report["missing_folds"] == []
    for regime in REGIMES:
        for fold in FOLDS:
            run = output / "evaluation" / "runs" / regime / f"fold{fold}" / "seed0"
            result = json.loads((run / "result.json").read_text())
            assert report["regimes"][regime]["folds"][str(fold)] == result["metrics"]
    summary = (output / "report.md").read_text()
    assert "Incomplete" not in summary
    for fold in FOLDS:
        assert f"![fold {fold}](samples/fold{fold}.png)" in summary
        assert any(line.startswith(f"| {fold} |") for line in summary.splitlines())  # its quality row


def parse_experiment(*args: str) -> ExperimentOptions:
    values = flags.FlagValues()
    tfpgan_flags.define_options_flags(ExperimentOptions, flag_values=values)
    values(["tools.experiment", *args])
    return tfpgan_flags.options_from_flags(ExperimentOptions, values)


def test_a_merge_with_an_unfinished_fold_reports_the_others_and_names_it(two_hosts, tmp_path):
    tmp, _, _ = two_hosts
    shutil.copytree(tmp / "out", tmp_path / "out", ignore=shutil.ignore_patterns("gan"))
    os.remove(tmp_path / "out" / "evaluation" / "runs" / "classic" / "fold1" / "seed0" / "result.json")
    report, summary = merge(parse_experiment(*host_command(tmp_path, "--report_only")))
    assert report["folds"] == [0] and report["missing_folds"] == [1]
    with open(summary, encoding="utf-8") as handle:
        assert "**Incomplete:** test fold(s) 1 have not finished yet" in handle.read()


def test_report_only_refuses_folds():
    with pytest.raises(OptionsError, match="--report_only merges every finished fold: drop --folds=1"):
        parse_experiment("--output=o", "--report_only", "--folds=1")
