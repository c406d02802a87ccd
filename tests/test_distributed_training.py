"""Data-parallel training (snn.distributed_training) with real processes: ``python -m
torch.distributed.run --nproc-per-node 2`` on CPU with gloo, against one process on the same
global batches.

Tolerance of 2 processes against 1 after 8 Adam steps: rtol 1e-5, atol 1e-6 on the float32
weights, batch-norm parameters and statistics, and the per-epoch metrics.  The two runs
compute the same quantities, but each process sums its shard's gradients and batch-norm
statistics before they are added across processes, so the float32 sums run in another order
(observed: at most 1.2e-7).  The continuous delays get an absolute tolerance of 1e-4 time steps
instead (observed: up to 8e-6): their Adam step (0.1 steps) does not scale with the gradient,
so where a delay's gradient is close to zero the same rounding noise moves it by a larger
fraction of a step; 1e-4 of a step is still far below the whole steps the trained model
rounds its delays to, and the rounded delays must be equal.  Dropout is on (p = 0.3) and made
rank-aware so that the two processes use exactly the masks one process draws (each draws the
whole batch's mask and keeps its slice).  Ranks among themselves, and a resumed run against an
uninterrupted one, must be bitwise equal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from snn.distributed_training import (
    DistributedBatchNorm,
    DistributedContext,
    check_global_batch,
    init_distributed,
    shard_batches,
    torchrun_environment,
)

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("ddp_worker.py")


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = env["NUMBA_NUM_THREADS"] = "1"
    return env


def _launch(out: Path, *options: str, processes: int = 2, check: bool = True
            ) -> subprocess.CompletedProcess:
    if processes == 1:
        command = [sys.executable, str(WORKER)]
    else:
        # --standalone: a free local port per launch (tests may run beside other launches).
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(processes), str(WORKER)]
    done = subprocess.run([*command, "--out", str(out), *options], env=_environment(),
                          capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"training failed ({done.returncode}):\n{done.stdout}\n"
                             f"{done.stderr[-4000:]}")
    return done


OPTIONS = ("--epochs", "2", "--dropout", "0.3", "--n-train", "27")


def _load(out: Path, rank: int = 0, task: str = "") -> dict:
    name = f"params_{task}_rank{rank}.pt" if task else f"params_rank{rank}.pt"
    return torch.load(out / name, weights_only=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One process and two processes, each training in turn (in one launch, one process
    group) the delay network (2 epochs, dropout 0.3, learned delays; 27 samples in batches of
    8, so that the last batch, 3 samples, splits unevenly 2 + 1), the hardware classifier
    (the same data) and the continual harness (29 samples per task in batches of 8, + 8
    replayed on the second task: the last batches, 5 and 13 samples, split unevenly)."""
    base = tmp_path_factory.mktemp("ddp")
    options = (*OPTIONS, "--task", "delays", "hardware", "continual")
    paths = {"one": base / "one", "two": base / "two"}
    _launch(paths["one"], *options, processes=1)
    _launch(paths["two"], *options, processes=2)
    return paths


def test_two_processes_reach_the_weights_of_one(runs):
    one, two = _load(runs["one"]), _load(runs["two"])
    assert set(one["params"]) == set(two["params"])
    for name, value in one["params"].items():
        if name.endswith(".delay"):
            torch.testing.assert_close(two["params"][name], value, rtol=0, atol=1e-4,
                                       msg=lambda m, name=name: f"{name}: {m}")
            assert torch.equal(two["rounded"][name], one["rounded"][name]), name
        elif value.is_floating_point():
            torch.testing.assert_close(two["params"][name], value, rtol=1e-5, atol=1e-6,
                                       msg=lambda m, name=name: f"{name}: {m}")
        else:
            assert torch.equal(two["params"][name], value), name
    # The training moved the delays (so the comparison covers their optimiser too).
    assert not torch.equal(one["params"]["projections.0.delay"],
                           one["rounded"]["projections.0.delay"].round())
    # Metrics reduced over the processes: the loss and accuracy of the whole epoch.
    for key in ("train_loss", "train_accuracy", "test_accuracy", "test_loss"):
        torch.testing.assert_close(torch.tensor(two["history"][key]),
                                   torch.tensor(one["history"][key]), rtol=1e-5, atol=1e-6)


def test_parameters_identical_across_ranks(runs):
    first, second = _load(runs["two"], 0), _load(runs["two"], 1)
    for part in ("params", "rounded"):
        for name, value in first[part].items():
            assert torch.equal(second[part][name], value), (part, name)
    assert first["history"] == second["history"]


def test_only_rank_zero_writes(runs):
    written = (runs["two"] / "writes_rank0.txt").read_text().split()  # 2 epochs
    assert written == ["checkpoint.pt", "checkpoint.pt", "model.pt"]
    assert not (runs["two"] / "writes_rank1.txt").exists()
    assert (runs["two"] / "results.json").exists()


@pytest.mark.slow
def test_resume_two_processes(runs, tmp_path):
    out = tmp_path / "resumed"
    _launch(out, *OPTIONS, "--stop-after", "1")
    saved = torch.load(out / "checkpoint.pt", weights_only=False)
    assert saved["epoch"] == 0
    assert (out / "writes_rank0.txt").read_text().split() == ["checkpoint.pt", "model.pt"]
    assert not (out / "writes_rank1.txt").exists()
    _launch(out, *OPTIONS, "--resume")
    resumed, straight = _load(out), _load(runs["two"])
    for part in ("params", "rounded"):
        for name, value in straight[part].items():
            assert torch.equal(resumed[part][name], value), (part, name)
    timeless = [{k: v for k, v in run["history"].items() if k != "epoch_time_s"}
                for run in (resumed, straight)]
    assert timeless[0] == timeless[1]
    assert not (out / "writes_rank1.txt").exists()


def _assert_two_match_one(one: dict, two_ranks: list[dict], parts: tuple[str, ...]) -> None:
    for part in parts:
        assert set(one[part]) == set(two_ranks[0][part])
        for name, value in one[part].items():
            torch.testing.assert_close(two_ranks[0][part][name], value, rtol=1e-5, atol=1e-6,
                                       msg=lambda m, name=name, part=part: f"{part} {name}: {m}")
            assert torch.equal(two_ranks[1][part][name], two_ranks[0][part][name]), name
    assert two_ranks[0]["history"] == two_ranks[1]["history"]


def test_hardware_training_two_processes_match_one(runs):
    """hardware_models.experiments.train_classifier (the training behind the hardware demo
    and benchmark): same tolerance as the delay network's weights."""
    one = _load(runs["one"], 0, "hardware")
    two = [_load(runs["two"], r, "hardware") for r in (0, 1)]
    _assert_two_match_one(one, two, ("params",))
    torch.testing.assert_close(torch.tensor(two[0]["history"]["loss"]),
                               torch.tensor(one["history"]["loss"]), rtol=1e-5, atol=1e-6)


def test_continual_training_two_processes_match_one(runs):
    """run_continual with HLOP and replay, subspaces learning every step's activity: the
    weights, the consolidated subspaces and the accuracy matrix of 2 processes are those of
    1 (the subspaces observe the global batch gathered from both)."""
    one = _load(runs["one"], 0, "continual")
    two = [_load(runs["two"], r, "continual") for r in (0, 1)]
    assert one["subspaces"], "the HLOP subspaces were not recorded"
    _assert_two_match_one(one, two, ("params", "subspaces"))
    assert two[0]["history"] == one["history"]  # the accuracy matrix


@pytest.mark.slow
def test_command_line_under_torchrun(tmp_path):
    """``torchrun -m snn train delays`` with the usual options: one table, printed by rank 0,
    and the usual files, written by it."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "snn", "train", "delays", "--data", "sample",
               "--limit", "16", "--epochs", "1", "--batch-size", "8", "--hidden", "8",
               "--out", str(tmp_path / "cli"), "--no-progress"]
    done = subprocess.run(command, env=_environment(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.count("test accuracy (%)") == 1
    assert done.stdout.count("learned delays: ") == 1
    for name in ("checkpoint.pt", "model.pt", "results.json", "delay_histograms.png"):
        assert (tmp_path / "cli" / "learned" / name).exists(), name
    assert (tmp_path / "cli" / "summary.json").exists()


def test_batch_not_divisible_by_processes_is_refused(tmp_path):
    done = _launch(tmp_path / "bad", "--batch-size", "7", "--epochs", "1", check=False)
    assert done.returncode != 0
    assert "batch_size=7 must be divisible by the number of processes (2)" in done.stderr
    assert not (tmp_path / "bad" / "checkpoint.pt").exists()


def test_check_global_batch():
    two = DistributedContext(rank=1, world_size=2, backend="gloo")
    assert check_global_batch(8, 24, two) == 4
    assert check_global_batch(8, 27, two) == 4  # last batch: 3 samples, split 2 + 1
    with pytest.raises(ValueError, match="divisible by the number of processes"):
        check_global_batch(9, 24, two)
    with pytest.raises(ValueError, match="last batch"):
        check_global_batch(8, 25, two)  # last batch: 1 sample for 2 processes
    assert check_global_batch(7, 25, DistributedContext()) == 7


def test_shards_cover_the_global_batch():
    x = torch.arange(3 * 11 * 2, dtype=torch.float32).reshape(3, 11, 2)
    y = torch.arange(11)
    parts = [next(shard_batches([(x, y)], DistributedContext(rank=r, world_size=3,
                                                             backend="gloo")))
             for r in range(3)]
    assert [p.y.numel() for p in parts] == [4, 4, 3]
    assert torch.equal(torch.cat([p.x for p in parts], 1), x)
    assert torch.equal(torch.cat([p.y for p in parts]), y)
    assert [p.start for p in parts] == [0, 4, 8]
    # Local mean losses weighted so that their average is the global mean.
    losses = torch.rand(11, dtype=torch.float64)
    averaged = sum(p.loss_scale * losses[p.start:p.start + p.y.numel()].mean()
                   for p in parts) / 3
    assert float(averaged) == pytest.approx(float(losses.mean()), rel=1e-12)
    single = next(shard_batches([(x, y)], DistributedContext()))
    assert single.x is x and single.loss_scale == 1.0


_TORCHRUN = {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
             "MASTER_PORT": "29999"}


def test_torchrun_environment():
    assert torchrun_environment({}) is None
    launch = torchrun_environment(_TORCHRUN)
    assert launch == {"rank": 0, "world_size": 2, "local_rank": 0,
                      "master_addr": "127.0.0.1", "master_port": 29999}
    with pytest.raises(ValueError, match="RANK must be < WORLD_SIZE=2"):
        torchrun_environment({**_TORCHRUN, "RANK": "2"})
    with pytest.raises(ValueError, match="MASTER_ADDR is not set"):
        torchrun_environment({k: v for k, v in _TORCHRUN.items() if k != "MASTER_ADDR"})
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer"):
        torchrun_environment({**_TORCHRUN, "WORLD_SIZE": "two"})


def test_single_process_initialises_nothing():
    context = init_distributed("cpu", env={})
    assert not context.distributed and context.is_main and context.world_size == 1
    assert not torch.distributed.is_initialized()
    assert context.sum([1, 2.5]) == [1.0, 2.5]
    assert not context.any(False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without "
                                                      "CUDA; this one has it")
def test_nccl_without_cuda_is_refused():
    with pytest.raises(ValueError, match="backend 'nccl' needs CUDA"):
        init_distributed("cpu", backend="nccl", env=_TORCHRUN)
    with pytest.raises(ValueError, match="backend 'nccl' needs CUDA"):
        init_distributed("cuda", env=_TORCHRUN)
    with pytest.raises(ValueError, match="backend must be one of"):
        init_distributed("cpu", backend="mpi", env=_TORCHRUN)
    assert not torch.distributed.is_initialized()


def test_distributed_batch_norm_is_batch_norm_alone():
    """Without a process group it is BatchNorm1d (the same numbers, state-dict keys and
    running statistics), and converting back restores the original class."""
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    state = {k: v.clone() for k, v in plain.state_dict().items()}
    x = torch.randn(10, 3)
    expected = plain(x)
    copy = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    copy.load_state_dict(state)
    converted = DistributedBatchNorm.convert(copy)
    assert isinstance(converted[1], DistributedBatchNorm)
    assert set(converted.state_dict()) == set(state)
    torch.testing.assert_close(converted(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(converted[1].running_var, plain[1].running_var, rtol=0, atol=0)
    back = DistributedBatchNorm.revert(converted)
    assert type(back[1]) is torch.nn.BatchNorm1d
