"""One network over several MPI processes: bitwise the one-process run for any number of
ranks, clear errors, and every rank stopped when one fails."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snn
from snn.distributed import mpi_launcher, neuron_owner

from .distributed_script import network

SCRIPT = Path(__file__).with_name("distributed_script.py")
ROOT = Path(__file__).resolve().parents[1]


def mpiexec() -> str:
    """The MPI launcher of this environment (the MPICH wheel installs it beside python)."""
    found = mpi_launcher()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs an MPI launcher ('pip install .[mpi]'); none was found")
        pytest.skip("no mpiexec: pip install 'snnsim[mpi]' installs mpi4py and MPICH")
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'snnsim[mpi]')")
    return found


def launch(args: list[str], timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          env=environment, cwd=ROOT)


def launch_second_rank_with(out: Path, name: str, value: str) -> subprocess.CompletedProcess:
    """The script on 2 ranks, the environment variable ``name`` set on rank 1 only."""
    script = [sys.executable, str(SCRIPT), str(out)]
    return launch([mpiexec(), "-n", "1", *script, ":", "-n", "1", "-env", name, value,
                   *script], timeout=120)


@pytest.fixture(scope="module")
def one_process(tmp_path_factory) -> dict[str, np.ndarray]:
    out = tmp_path_factory.mktemp("plain")
    done = launch([sys.executable, str(SCRIPT), str(out), "plain"])
    assert done.returncode == 0, done.stderr
    with np.load(out / "rank0.npz") as arrays:
        return dict(arrays)


@pytest.mark.slow
@pytest.mark.parametrize("ranks", [1, 2, 3])
def test_every_rank_count_gives_the_one_process_run_bitwise(ranks, one_process, tmp_path):
    """Delays, spike and Poisson sources, Poisson drive, STDP on recurrent and input
    synapses, two models, currents, probes; two runs, the second continuing the first."""
    done = launch([mpiexec(), "-n", str(ranks), sys.executable, str(SCRIPT), str(tmp_path)])
    assert done.returncode == 0, done.stderr
    files = sorted(tmp_path.glob("rank*.npz"))
    assert len(files) == ranks  # every rank holds the whole result
    for file in files:
        with np.load(file) as arrays:
            assert int(arrays["ranks"]) == ranks
            for name, expected in one_process.items():
                if name != "ranks":
                    np.testing.assert_array_equal(arrays[name], expected, err_msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("ranks", [2, 3])
def test_a_network_of_shared_synapses_runs_alike_with_a_share_of_the_memory(
        ranks, one_process, tmp_path):
    """Network(distributed="mpi"): each rank keeps the synapses onto its own neurons, and
    the run is still bitwise the one-process run; each rank's learning state is the
    one-process learning state of its own synapses."""
    done = launch([mpiexec(), "-n", str(ranks), sys.executable, str(SCRIPT), str(tmp_path),
                   "shared"])
    assert done.returncode == 0, done.stderr
    total = 0
    for rank, file in enumerate(sorted(tmp_path.glob("rank*.npz"))):
        with np.load(file) as arrays:
            total += int(arrays["n_synapses"])
            for name, expected in one_process.items():
                kind = name.split("/")[1] if name.startswith(("first/", "second/")) else ""
                if kind in ("spikes", "traces", "neurons", "ring"):
                    np.testing.assert_array_equal(arrays[name], expected, err_msg=name)
                elif "/synapses/" in name:
                    index = name.split("/")[2]
                    own = one_process[f"targets/{index}"] % ranks == rank
                    np.testing.assert_array_equal(arrays[name], expected[own], err_msg=name)
            for index in (1, 5, 7):
                assert np.all(arrays[f"targets/{index}"] % ranks == rank)
    assert total == int(one_process["n_synapses"])  # every synapse on exactly one rank


def test_a_network_of_shared_synapses_runs_only_distributed():
    net = snn.Network(dt=1e-4, max_delay=1e-3)
    net.rank, net.ranks = 0, 2  # as Network(distributed="mpi") under mpirun -n 2 sets them
    net.add_population("a", 3, snn.LIFParams())
    with pytest.raises(ValueError, match="holds only the synapses of this process"):
        snn.run(net, 0.001)


def test_the_compared_run_spikes_and_learns(one_process):
    """What the rank-count test compares is not trivial: neurons fire on every side of
    the partition, weights move, spikes are still in flight at the end."""
    for run in ("first/", "second/"):
        indices = one_process[run + "spikes/a/indices"]
        assert indices.size > 200
        assert set(neuron_owner(np.array([0]), np.array([500]), 3)[indices]) == {0, 1, 2}
        assert one_process[run + "spikes/c/indices"].size > 20
        assert one_process[run + "pending"].shape[0] > 0
        assert np.abs(one_process[run + "ring"]).sum() > 0
    net = network()
    for index in (1, 5, 7):  # STDP (recurrent, input) and homeostatic
        moved = one_process[f"second/synapses/{index}/weights"] - net.projections[index].weights
        assert np.count_nonzero(moved) > 100


def test_without_mpirun_the_script_runs_as_one_process(one_process, tmp_path):
    mpiexec()
    done = launch([sys.executable, str(SCRIPT), str(tmp_path)])
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "rank0.npz") as arrays:
        assert int(arrays["ranks"]) == 1
        for name, expected in one_process.items():
            if name != "ranks":
                np.testing.assert_array_equal(arrays[name], expected, err_msg=name)


def test_a_failing_rank_stops_every_rank_with_its_error(tmp_path):
    """Rank 1 alone has too little memory for the run: it raises before any collective,
    while rank 0 waits in one; both must stop, with rank 1's error shown."""
    done = launch_second_rank_with(tmp_path, "SNNSIM_MEMORY_LIMIT", "1000")
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "rank 1 of 2 failed; aborting all ranks" in output
    assert "GiB are available" in output
    assert not list(tmp_path.glob("rank*.npz"))


def test_ranks_that_drew_different_inputs_are_refused(tmp_path):
    done = launch_second_rank_with(tmp_path, "SNNSIM_TEST_SEED", "4")
    assert done.returncode != 0
    assert "the ranks built different networks or drew different inputs" in done.stderr


class TwoRanks:
    """A stand-in communicator of two ranks; the other rank sends ``other`` (codes)."""

    def __init__(self, other: np.ndarray):
        self.other = other
        self.calls = 0

    def Get_size(self) -> int:  # noqa: N802 (mpi4py's name)
        return 2

    def Allgather(self, send: np.ndarray, received: np.ndarray) -> None:  # noqa: N802
        self.calls += 1
        width = send.size
        received[:width] = send
        received[width] = self.other.size
        if self.other.size < width:
            received[width + 1:width + 1 + self.other.size] = self.other


def test_a_window_busier_than_the_buffers_grows_them_and_loses_nothing():
    from snn.distributed import _FIRST_CAPACITY, ExchangeStats, _SpikeExchange

    n_ids = 1000 + 4  # 1000 neurons, 4 input sources
    # The other rank's neurons (odd ids) fire at step 0, more than a buffer holds.
    other = np.arange(1, 2 * (_FIRST_CAPACITY + 50), 2)
    comm = TwoRanks(other)
    stats = ExchangeStats(rank=0, ranks=2, window_steps=2)
    neuron_ids = np.arange(0, 1000, 2)  # this rank's neurons: the even ids
    input_ptr = np.array([0, 1, 2])
    input_ids = np.array([1002, 1001])  # one source spike per step
    exchange = _SpikeExchange(comm, neuron_ids, n_ids, input_ptr, input_ids, stats)
    steps = np.array([0, 1, 1])
    local = np.array([5, 0, 7])  # global ids 10, 0, 14
    ptr, ids = exchange(0, 2, steps, local)
    assert comm.calls == 2 and stats.rounds == 2  # a second round, with larger buffers
    step0 = np.sort(np.concatenate([other, [10, 1002]]))
    step1 = np.array([0, 14, 1001])
    np.testing.assert_array_equal(ptr, [0, step0.size, step0.size + 3])
    np.testing.assert_array_equal(ids, np.concatenate([step0, step1]))
    assert stats.spikes == other.size + 3
    ptr, ids = exchange(0, 2, steps, local)  # the grown buffers hold it in one round
    assert comm.calls == 3 and stats.rounds == 3


def test_a_ring_deepened_keeps_every_input_at_its_step():
    from snn.distributed import _deepen

    ring = np.arange(3 * 2 * 4, dtype=float).reshape(3, 2, 4)  # slot a % 3 holds step a
    deeper = _deepen(ring, 5, step0=7)  # steps 7, 8, 9 live in slots 1, 2, 0
    for step in (7, 8, 9):
        np.testing.assert_array_equal(deeper[step % 5], ring[step % 3])
    assert not deeper[10 % 5].any() and not deeper[11 % 5].any()


def test_neuron_owner_shares_every_population_round_robin():
    owner = neuron_owner(np.array([0, 5]), np.array([5, 12]), 3)
    np.testing.assert_array_equal(owner, [0, 1, 2, 0, 1, 0, 1, 2, 0, 1, 2, 0])
    counts = np.bincount(neuron_owner(np.array([0, 1000]), np.array([1000, 1250]), 4))
    np.testing.assert_array_equal(counts, [313, 313, 312, 312])


def test_distributed_arguments_are_validated():
    net = snn.Network(dt=1e-4, max_delay=1e-3)
    net.add_population("a", 3, snn.LIFParams())
    net.connect("a", "a", 1e-12, pre_indices=[0], post_indices=[1], delays=1e-3)
    with pytest.raises(ValueError, match="distributed must be one of 'mpi'"):
        snn.run(net, 0.001, distributed="dask")
    with pytest.raises(ValueError, match="runs on the numba backend"):
        snn.run(net, 0.001, distributed="mpi", backend="reference")
    with pytest.raises(ValueError, match="threads: a distributed run takes one thread"):
        snn.run(net, 0.001, distributed="mpi", threads=2)
    net.connect("a", "a", 1e-12, pre_indices=[1], post_indices=[2], delays=0.0)
    with pytest.raises(ValueError, match="every synaptic delay to be at least one time step"):
        snn.run(net, 0.001, distributed="mpi")
