"""`tools.train --strategy=multi_worker` with two worker processes on 127.0.0.1: training together, preemption
(SIGTERM), a worker lost to SIGKILL; and how the cluster is read from TF_CONFIG or SLURM.

A worker whose peers never come waits forever and ignores SIGTERM: every process runs under a hard deadline and
is SIGKILLed by the `workers` fixture when a test ends, whatever happened.
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from tfpgan.errors import TfpganError
from tfpgan.training.trainer import SLURM_PORT, cluster_resolver

pytest_plugins = ("gan_fixtures",)

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEADLINE = 100  # seconds for one launch of both workers (about 35 s on 2 busy cores)
PER_WORKER_BATCH, WORKERS = 8, 2
GLOBAL_BATCH = PER_WORKER_BATCH * WORKERS
CHECKPOINT_STEPS = 4  # a checkpoint every 4 global batches
TINY = ["--resolution=4", f"--batch_per_resolution=4:{PER_WORKER_BATCH}", "--latent_size=8", "--fmap_base=64",
        "--fmap_max=16", "--image_every_kimg=0", "--images_per_class=2", "--strategy=multi_worker",
        f"--checkpoint_every_kimg={CHECKPOINT_STEPS * GLOBAL_BATCH / 1000}"]
SHORT = ["--kimg_per_phase=0.064", "--tick_kimg=0.032"]  # 4 steps
LONG = ["--kimg_per_phase=1.6", "--tick_kimg=0.32", "--noexport"]  # 100 steps: long enough to interrupt


def free_ports(count: int) -> list[int]:
    """Ports that were free a moment ago on 127.0.0.1."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for handle in sockets:
            handle.bind(("127.0.0.1", 0))
        return [handle.getsockname()[1] for handle in sockets]
    finally:
        for handle in sockets:
            handle.close()


class Workers:
    """Launches of both workers (fresh ports each time, the same command line); logs under `folder`."""

    def __init__(self, folder):
        self.folder, self.launches, self.processes = folder, 0, []

    def start(self, *args: str) -> list[subprocess.Popen]:
        cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(WORKERS)]}
        self.launches += 1
        launched = []
        for index in range(WORKERS):
            config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
            with open(self.log_path(index), "w", encoding="utf-8") as log:
                launched.append(subprocess.Popen(
                    [sys.executable, "-m", "tools.train", *args], cwd=REPOSITORY, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "TF_CONFIG": config, "TF_CPP_MIN_LOG_LEVEL": "2"}))
        self.processes += launched
        return launched

    def log_path(self, index: int, launch: int | None = None) -> str:
        return os.path.join(self.folder, f"launch{launch or self.launches}_worker{index}.log")

    def log(self, index: int, launch: int | None = None) -> str:
        with open(self.log_path(index, launch), encoding="utf-8") as handle:
            return handle.read()

    def wait(self, processes: list[subprocess.Popen]) -> list[int]:
        """Their exit codes; all killed (and the test failed) when one passes DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        if any(p.poll() is None for p in processes):
            self.kill_all()
            pytest.fail(f"workers still running after {DEADLINE} s; last log lines:\n" +
                        "\n".join(self.log(i)[-1500:] for i in range(WORKERS)))
        return [p.returncode for p in processes]

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()


@pytest.fixture
def workers(tmp_path):
    launcher = Workers(str(tmp_path))
    yield launcher
    launcher.kill_all()


def wait_for(path: str, processes: list[subprocess.Popen]) -> None:
    """Until `path` exists; fails if a process exits first or DEADLINE passes."""
    deadline = time.monotonic() + DEADLINE
    while not os.path.exists(path):
        assert all(p.poll() is None for p in processes), "a worker exited before it was interrupted"
        assert time.monotonic() < deadline, f"no {path} after {DEADLINE} s"
        time.sleep(0.02)


def checkpoint_step(directory: str) -> int:
    return int(tf.train.latest_checkpoint(directory).rsplit("-", 1)[1])


def resumed_at(log: str) -> tuple[float, int]:
    """(kimg, step) of the log's "resuming from kimg K, ... (step S)" line."""
    found = re.findall(r"resuming from kimg ([\d.]+), .* \(step (\d+)\)", log)
    assert len(found) == 1, log[-2000:]
    return float(found[0][0]), int(found[0][1])


def scalars(logdir: str, tag: str) -> dict[int, float]:
    """{step: value} of a TensorBoard scalar in LOGDIR's event files."""
    values = {}
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            values.update({event.step: float(tf.make_ndarray(v.tensor)) for v in event.summary.value if v.tag == tag})
    return values


def test_two_workers_train_with_the_global_batch_and_only_the_chief_writes(workers, gan_dataset, tmp_path):
    logdir = str(tmp_path / "run")
    command = [f"--dataset={gan_dataset}", f"--logdir={logdir}", *TINY, *SHORT, "--deterministic"]
    assert workers.wait(workers.start(*command)) == [0, 0]  # determinism.configure does not start TensorFlow

    chief, other = workers.log(0), workers.log(1)
    assert f"global batch 4x4: {GLOBAL_BATCH} ({WORKERS} replica(s)" in chief
    assert "thread pools not fixed" not in chief and "deterministic execution" in chief
    assert f"generator exported to {logdir}/export/generator" in chief
    assert "generator exported to (off)" in other
    events = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    assert len(events) == 1  # the chief's
    assert set(os.listdir(logdir)) - {os.path.basename(events[0])} == {"checkpoints", "config.json", "export",
                                                                        "images", "workers"}
    assert os.listdir(os.path.join(logdir, "workers")) == ["1"]  # worker 1's throw-away checkpoints
    assert checkpoint_step(os.path.join(logdir, "checkpoints")) == 4 == checkpoint_step(f"{logdir}/workers/1")
    assert os.path.isfile(os.path.join(logdir, "export", "generator", "saved_model.pb"))
    with open(os.path.join(logdir, "config.json"), encoding="utf-8") as handle:
        assert json.load(handle)["batch_per_resolution"] == {"4": PER_WORKER_BATCH}
    kimg = scalars(logdir, "progress/kimg")  # kimg counts global images: 16 per step
    assert kimg == pytest.approx({2: 2 * GLOBAL_BATCH / 1000, 4: 4 * GLOBAL_BATCH / 1000})


def test_sigterm_to_one_worker_stops_both_after_the_same_step_with_a_checkpoint(workers, gan_dataset, tmp_path):
    logdir = str(tmp_path / "run")
    processes = workers.start(f"--dataset={gan_dataset}", f"--logdir={logdir}", *TINY, *LONG)
    wait_for(os.path.join(logdir, "checkpoints", "checkpoint"), processes)
    processes[1].send_signal(signal.SIGTERM)  # a scheduler's preemption notice, reaching one worker first
    assert workers.wait(processes) == [130, 130]

    step = checkpoint_step(os.path.join(logdir, "checkpoints"))
    assert CHECKPOINT_STEPS <= step < 100
    assert checkpoint_step(os.path.join(logdir, "workers", "1")) == step
    for index in range(WORKERS):
        assert f"interrupted at kimg {step * GLOBAL_BATCH / 1000:.1f}" in workers.log(index)
        assert "run the same command to resume" in workers.log(index)
    assert "received SIGTERM" in workers.log(1) and "received SIGTERM" not in workers.log(0)


def test_a_worker_lost_to_sigkill_resumes_from_the_last_checkpoint_with_the_same_schedule(workers, gan_dataset,
                                                                                          tmp_path):
    logdir = str(tmp_path / "run")
    command = [f"--dataset={gan_dataset}", f"--logdir={logdir}", *TINY, *LONG]
    processes = workers.start(*command)
    wait_for(os.path.join(logdir, "checkpoints", "checkpoint"), processes)
    processes[1].kill()  # the worker is lost; the chief then waits for it forever: the scheduler ends it too
    processes[0].kill()
    workers.wait(processes)
    saved = checkpoint_step(os.path.join(logdir, "checkpoints"))
    assert saved < 100

    assert workers.wait(workers.start(*command)) == [0, 0]
    resumed = [resumed_at(workers.log(index)) for index in range(WORKERS)]
    assert resumed == [(round(saved * GLOBAL_BATCH / 1000, 1), saved)] * WORKERS  # both from the chief's checkpoint
    assert resumed[0][0] > 0
    schedule = [re.search(r"training 4x4 .*replica", workers.log(0, launch)).group() for launch in (1, 2)]
    assert schedule[0] == schedule[1]
    assert "training complete at kimg 1.6" in workers.log(0)
    assert checkpoint_step(os.path.join(logdir, "checkpoints")) == 100  # 1.6 kimg / 16 images per step
    assert max(scalars(logdir, "progress/kimg").items()) == (100, pytest.approx(1.6))


@pytest.mark.parametrize("environment, cluster, task", [
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}})},
     {"worker": ["a:1", "b:2"]}, ("worker", 1)),
    ({"SLURM_PROCID": "2", "SLURM_STEP_NUM_TASKS": "3", "SLURM_STEP_NODELIST": "gpu[07-08]",
      "SLURM_STEP_TASKS_PER_NODE": "2,1"},
     {"worker": [f"gpu07:{SLURM_PORT}", f"gpu07:{SLURM_PORT + 1}", f"gpu08:{SLURM_PORT}"]}, ("worker", 2)),
])
def test_the_cluster_comes_from_tf_config_or_else_from_slurm(monkeypatch, environment, cluster, task):
    for name in ("TF_CONFIG", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    resolver = cluster_resolver()
    assert resolver.cluster_spec().as_dict() == cluster
    assert (resolver.task_type, resolver.task_id) == task


def test_multi_worker_without_a_cluster_says_how_to_give_one(monkeypatch):
    for name in ("TF_CONFIG", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(TfpganError, match="set TF_CONFIG on every host, or start the workers with srun"):
        cluster_resolver()
