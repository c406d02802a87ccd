"""The Potjans & Diesmann (2014) microcircuit built natively in NEST 3.10, from the same
:class:`~snn.microcircuit.MicrocircuitParams` and :func:`~snn.microcircuit.microcircuit_quantities`
as this engine's builder.

NEST draws its own connectivity (its ``fixed_total_number`` rule, weights and delays from
``nest.random.normal`` inside ``nest.math.redraw``), as the reference implementation
INM-6/microcircuit-PD14-model (``PyNEST/src/microcircuit/network.py``) does, so a comparison
with the engine is statistical. NEST is imported only when a run starts.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..microcircuit import (
    DRIVES,
    POTJANS_DIESMANN_2014,
    MicrocircuitParams,
    microcircuit_quantities,
)
from ..results import SpikeTrains
from ..validation import check_choice, check_int, check_nonnegative, check_positive

__all__ = ["NestMicrocircuitResult", "run_nest_microcircuit"]


@dataclass(frozen=True)
class NestMicrocircuitResult:
    """Spikes and timings of one NEST run of the microcircuit."""

    spikes: dict[str, SpikeTrains]  #: spikes after the warm-up, by population
    build_seconds: float  #: creating, connecting and ``nest.Prepare`` (s, wall clock)
    warmup_seconds: float  #: simulating the warm-up (s, wall clock)
    simulate_seconds: float  #: simulating the recorded ``duration`` (s, wall clock)
    n_synapses: int  #: connections NEST holds (devices' included)
    threads: int  #: NEST's ``local_num_threads``
    seed: int  #: NEST's ``rng_seed``


def run_nest_microcircuit(
    scale: float = 1.0,
    k_scale: float = 1.0,
    drive: str = "dc",
    thalamus: bool = False,
    *,
    duration: float = 1.0,
    warmup: float = 0.5,
    seed: int = 55,
    threads: int = 1,
    dt: float = 1e-4,
    params: MicrocircuitParams = POTJANS_DIESMANN_2014,
    isolated: bool = True,
) -> NestMicrocircuitResult:
    """Build the microcircuit in NEST, simulate ``warmup + duration`` and record the spikes
    of each population after the warm-up.

    NEST's kernel is reset first. Its 27-bit connection index limits the connections one
    thread may hold (about 1.3e8); the full-scale model (about 3e8) needs at least 3
    threads.

    Args:
        scale: population sizes relative to full scale, in ``(0, 1]``.
        k_scale: in-degrees relative to full scale, in ``(0, 1]``.
        drive: ``"dc"`` or ``"poisson"``.
        thalamus: add the thalamic population (parrot neurons repeating a pulsed
            ``poisson_generator``) as the reference does.
        duration: recorded simulated time after the warm-up (s, > 0).
        warmup: simulated time before recording (s, >= 0).
        seed: NEST's ``rng_seed`` (an int in ``[1, 2**31)``).
        threads: NEST's ``local_num_threads`` (>= 1).
        dt: time step (s).
        params: the model.
        isolated: run NEST in a fresh process (spawned, so nothing of this one is inherited)
            and return its result here. NEST's OpenMP runtime and numba's ``omp`` threading
            layer, once both have started threads, crash a process that uses them in turn
            (observed with the nest-simulator 3.10 wheel), so a process that also runs the
            engine should keep this True; False runs NEST in this process.

    Returns:
        The :class:`NestMicrocircuitResult`.
    """
    q = microcircuit_quantities(params, scale, k_scale, drive)
    check_choice("drive", drive, DRIVES)
    duration = check_positive("duration", duration, unit="s")
    warmup = check_nonnegative("warmup", warmup, unit="s")
    seed = check_int("seed", seed, minimum=1, maximum=2**31 - 1)
    threads = check_int("threads", threads, minimum=1)
    dt = check_positive("dt", dt, unit="s")
    if not isinstance(thalamus, bool):
        raise TypeError(f"thalamus must be a bool, got {type(thalamus).__name__}")
    if isolated:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(run_nest_microcircuit, scale, k_scale, drive, thalamus,
                               duration=duration, warmup=warmup, seed=seed, threads=threads,
                               dt=dt, params=params, isolated=False).result()
    # Through import_nest: numba's threads must start before NEST's OpenMP runtime loads.
    from .nest import import_nest

    nest = import_nest()

    to_ms, to_pa, to_mv = 1e3, 1e12, 1e3
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.local_num_threads = threads
    nest.resolution = dt * to_ms
    nest.rng_seed = seed
    nest.print_time = False
    start = time.perf_counter()
    pops = []
    for i in range(params.n_populations):
        pop = nest.Create("iaf_psc_exp", int(q.n_neurons[i]))
        pop.set(tau_syn_ex=params.tau_syn * to_ms, tau_syn_in=params.tau_syn * to_ms,
                E_L=params.e_l * to_mv, V_th=params.v_threshold * to_mv,
                V_reset=params.v_reset * to_mv, t_ref=params.tau_refractory * to_ms,
                C_m=params.c_m * to_pa, tau_m=params.tau_m * to_ms, I_e=q.dc[i] * to_pa)
        pop.set(V_m=nest.random.normal(params.v0_mean[i] * to_mv, params.v0_std[i] * to_mv))
        pops.append(pop)
    recorders = nest.Create("spike_recorder", params.n_populations,
                            params={"start": warmup * to_ms})
    min_delay = 0.5 * dt * to_ms  # the reference's bound: no delay rounds below one step

    def normal_delay(mean: float, rel_std: float):
        return nest.math.redraw(
            nest.random.normal(mean=mean * to_ms, std=mean * rel_std * to_ms),
            min=min_delay, max=mean * (1 + params.delay_cutoff_sds * rel_std) * to_ms)

    def normal_weight(mean: float):
        low, high = (0.0, np.inf) if mean >= 0 else (-np.inf, 0.0)
        return nest.math.redraw(
            nest.random.normal(mean=mean * to_pa, std=abs(mean) * params.weight_rel_std * to_pa),
            min=low, max=high)

    for i, target in enumerate(pops):
        for j, source in enumerate(pops):
            n_syn = int(q.n_synapses[i, j])
            if n_syn == 0:
                continue
            nest.Connect(source, target, {"rule": "fixed_total_number", "N": n_syn,
                                          "allow_autapses": True, "allow_multapses": True},
                         {"synapse_model": "static_synapse",
                          "weight": normal_weight(float(q.weight_mean[i, j])),
                          "delay": normal_delay(float(q.delay_mean[i, j]),
                                                params.delay_rel_std)})
    for i, pop in enumerate(pops):
        nest.Connect(pop, recorders[i])
    if drive == "poisson":
        generators = nest.Create("poisson_generator", params.n_populations)
        for i, pop in enumerate(pops):
            generators[i].rate = float(q.poisson_rates[i])
            nest.Connect(generators[i], pop, "all_to_all",
                         {"weight": q.weight_ext * to_pa, "delay": params.delay_exc * to_ms})
    if thalamus:
        parrots = nest.Create("parrot_neuron", params.n_thalamic)
        pulse = nest.Create("poisson_generator", params={
            "rate": params.thalamic_rate, "start": params.thalamic_start * to_ms,
            "stop": (params.thalamic_start + params.thalamic_duration) * to_ms})
        nest.Connect(pulse, parrots, syn_spec={"delay": params.thalamic_relay_delay * to_ms})
        for i, pop in enumerate(pops):
            n_syn = int(q.n_thalamic_synapses[i])
            if n_syn == 0:
                continue
            nest.Connect(parrots, pop, {"rule": "fixed_total_number", "N": n_syn},
                         {"weight": normal_weight(q.weight_thalamic),
                          "delay": normal_delay(params.delay_thalamic,
                                                params.delay_thalamic_rel_std)})
    nest.Prepare()
    nest.Cleanup()
    build_seconds = time.perf_counter() - start
    n_synapses = int(nest.num_connections)
    start = time.perf_counter()
    if warmup > 0:
        nest.Simulate(warmup * to_ms)
    warmup_seconds = time.perf_counter() - start
    start = time.perf_counter()
    nest.Simulate(duration * to_ms)
    simulate_seconds = time.perf_counter() - start
    spikes = {}
    for i, name in enumerate(params.populations):
        events = recorders[i].get("events")
        times = np.asarray(events["times"], dtype=np.float64) / to_ms
        indices = np.asarray(events["senders"], dtype=np.int64) - pops[i][0].global_id
        order = np.lexsort((indices, times))
        spikes[name] = SpikeTrains(times[order], indices[order], int(q.n_neurons[i]),
                                   duration, warmup)
    return NestMicrocircuitResult(spikes, build_seconds, warmup_seconds, simulate_seconds,
                                  n_synapses, threads, seed)
