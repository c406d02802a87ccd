"""Compiling the demo's kernels ahead of the sections that use them.

A fresh install spends most of its first ``snn demo`` compiling numba kernels.  While the
first section runs, a background process calls the kernels of the later sections on tiny
inputs of the same types (dtypes, dimensions, layouts), which fills the compiled-code cache;
the later sections then load those entries instead of compiling.  The total compile work is
unchanged (it is split between two processes); what shrinks is the time the user waits,
where a second core is free.

Each kernel group below calls exactly the compiled functions, with the argument types, that
a section calls; :data:`GROUPS` says which groups each section uses.  numba writes a cache
entry to a temporary file and renames it into place, so two processes compiling the same
kernel are safe; a kernel not warmed yet is compiled by the section itself.
"""

from __future__ import annotations

import argparse
import multiprocessing
import time
from collections.abc import Callable, Sequence


def engine(args: argparse.Namespace) -> None:
    """The engine's compiled loop (one signature serves every network)."""
    if args.backend != "numba":
        return
    from ...benchmark_networks import BENCHMARKS, build_benchmark
    from ...engine import run

    run(build_benchmark(BENCHMARKS[args.model], 20, rng=0), 1e-3, backend="numba")


def microcircuit(args: argparse.Namespace) -> None:
    """The engine loop and the synapse-table kernels for the microcircuit's types (int32
    targets, uint8 delays, several projections per population)."""
    if args.backend != "numba":
        return
    from ...engine import run
    from ...microcircuit import potjans_diesmann

    run(potjans_diesmann(0.002, rng=0), 1e-3, backend="numba")


def lif_layers(args: argparse.Namespace) -> None:
    """Forward and backward LIF kernels, float32, arctan surrogate."""
    import torch

    from ...layers import LIF, Surrogate

    generator = torch.Generator().manual_seed(0)
    x = torch.rand((3, 2, 4), generator=generator, requires_grad=True)
    lif = LIF(beta=0.9, surrogate=Surrogate("arctan", 2.0))
    (lif(x) * 2.0 + x).sum().backward()


def delay_layers(args: argparse.Namespace) -> None:
    """The binning of the embedded recordings; delayed projection kernels (sparse inputs,
    float32) inside a delay network, forward and backward; the export of a rounded float64
    copy to the engine."""
    import numpy as np
    import torch

    from ...delay_training import load_delay_data
    from ...layers import DelayNetwork, DelayNetworkConfig, run_exported

    load_delay_data("sample")  # the binning kernel
    cfg = DelayNetworkConfig(n_inputs=8, n_outputs=2, n_hidden=5, dt=1e-3, max_delay=3e-3,
                             tau_m=5e-3, delays="learned")
    model = DelayNetwork(cfg, rng=0)
    x = torch.zeros((6, 2, 8))
    x[::2, :, ::3] = 1.0  # sparse: the scatter kernels, as for spikes
    model.set_sigma(1.0)
    model(x).sum().backward()
    model = model.double().eval()
    model.round_delays_()
    run_exported(model, x[:, 0].double().numpy().astype(np.float64))


def reservoir(args: argparse.Namespace) -> None:
    """The echo state network's loop and its gain adaptation."""
    import numpy as np

    from ...reservoir import ESN, ESNConfig, activity_targets, adapt_esn

    esn = ESN(ESNConfig(n_neurons=10, dale=True, activation="rectified_tanh"), rng=0)
    u = np.linspace(-0.5, 0.5, 20)
    adapt_esn(esn, u, activity_targets(10, 0.5, rng=0))
    esn.run(u)


def associative(args: argparse.Namespace) -> None:
    """Glauber dynamics on int8 (patterns, single examples) and int16 (example sums)
    factors."""
    import numpy as np

    from ...associative import MultitaskingConfig, build_network, glauber

    for training in ("hopfield", "supervised"):
        xi, _, couplings = build_network(MultitaskingConfig(
            n_neurons=20, n_patterns=2, training=training, n_examples=2))
        glauber(couplings, np.ones(20, dtype=np.int8), xi, n_sweeps=1)


#: Section -> the kernel groups it calls, in the order it first calls them.
GROUPS: dict[str, tuple[Callable[[argparse.Namespace], None], ...]] = {
    "engine": (engine,),
    "layers": (lif_layers,),
    "delays": (delay_layers, engine),
    "reservoir": (reservoir, engine),
    "associative": (associative, engine),
    "microcircuit": (microcircuit,),
}


def _warm(groups: Sequence[str], args: argparse.Namespace, current, done, lock) -> None:
    """Background process: run each named group unless the demo has got there first."""
    by_name = {g.__name__: g for gs in GROUPS.values() for g in gs}
    for index, name in enumerate(groups):
        with lock:
            if current.value == -2:  # the demo no longer needs it
                return
            current.value = index
        by_name[name](args)
        done.value = index + 1


class WarmUp:
    """A background process warming the kernel groups of ``sections[1:]`` that
    ``sections[0]`` does not use; :meth:`before` makes a section wait for a group the
    background is compiling at that moment (instead of compiling it a second time)."""

    def __init__(self, sections: Sequence[str], args: argparse.Namespace) -> None:
        first = {g.__name__ for g in GROUPS.get(sections[0], ())} if sections else set()
        self.groups: list[str] = []
        for section in sections[1:]:
            for group in GROUPS.get(section, ()):
                if group.__name__ not in first and group.__name__ not in self.groups:
                    self.groups.append(group.__name__)
        self.process = None
        if not self.groups:
            return
        context = multiprocessing.get_context("spawn")
        self.current, self.done = context.Value("i", -1), context.Value("i", 0)
        self.lock = context.Lock()
        self.process = context.Process(target=_warm, daemon=True, name="snn-warm-up",
                                       args=(self.groups, args, self.current, self.done,
                                             self.lock))
        self.process.start()

    def before(self, section: str) -> None:
        """Wait while the background compiles a group ``section`` is about to use."""
        if self.process is None:
            return
        needed = {g.__name__ for g in GROUPS.get(section, ())}
        while self.process.is_alive():
            with self.lock:
                busy = self.current.value
            if busy < 0 or busy < self.done.value or self.groups[busy] not in needed:
                return
            time.sleep(0.02)

    def stop(self) -> None:
        """End the background process (its cache entries are complete files or absent)."""
        if self.process is None:
            return
        with self.lock:
            self.current.value = -2
        self.process.join(timeout=0.1)
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
