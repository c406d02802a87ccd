"""Time-stepped simulation: lower a :class:`Network` to flat arrays and run it on a backend.

The lowered form (:class:`Plan`) concatenates all populations into one state matrix
``state[5, N]`` (rows in :data:`snn.models.STATE_VARIABLES` order) and all projections into one
CSR table over presynaptic ids (neurons ``0..N-1``, then input sources ``N..N+S-1``).  Each
backend executes the same algorithm on it, per step:

1. record monitored state (the state at time ``t * dt``);
2. load the external current of step ``t``;
3. advance every population with its model step (integrate, threshold, reset);
4. collect the step's spikes: neurons in id order, then input-source spikes in id order;
5. push every synapse of every spiking id into the ring buffer slot ``t + delay`` (or
   straight into the synaptic variable when no delay exists anywhere);
6. add ring slot ``t`` to the synaptic variables and clear it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .models import STATE_VARIABLES, Coeffs, NeuronState, coeffs
from .network import CHANNELS, Network, PoissonSource, SpikeSource
from .results import SimulationResult, SpikeTrains

if TYPE_CHECKING:  # pragma: no cover
    import torch  # imported by the torch backend only: the other backends run without it

__all__ = ["run", "run_trials", "EngineState", "BACKENDS"]

BACKENDS = ("reference", "numba", "torch")


@dataclass(frozen=True)
class EngineState:
    """Everything a run leaves behind that the next run needs: neuron states, the spikes
    still in flight in the ring buffer, and the absolute step count."""

    neurons: dict[str, NeuronState]
    ring: np.ndarray  # [D, 2, N] pending synaptic input per delay slot, channel, neuron
    step: int


@dataclass
class Plan:
    """A network lowered to flat arrays for one run of ``n_steps`` steps."""

    n_steps: int
    step0: int  # absolute step at which this run starts
    pop_names: list[str]
    pop_start: np.ndarray  # int64 [P]
    pop_stop: np.ndarray  # int64 [P]
    pop_coeffs: tuple[Coeffs, ...]
    state: np.ndarray  # float64 [5, N]
    i_const: np.ndarray  # float64 [N]
    current_table: np.ndarray  # float64 [n_steps, M] time-varying currents
    current_target: np.ndarray  # int64 [M] neuron id of each column
    indptr: np.ndarray  # int64 [N + S + 1]
    targets: np.ndarray  # int64 [n_syn]
    weights: np.ndarray  # float64 [n_syn]
    delays: np.ndarray  # int64 [n_syn] in steps
    channels: np.ndarray  # int64 [n_syn] 0 exc, 1 inh
    ring: np.ndarray  # float64 [D, 2, N]
    input_ptr: np.ndarray  # int64 [n_steps + 1] CSR over steps of input-source spikes
    input_ids: np.ndarray  # int64 global ids of input-source spikes
    spike_mask: np.ndarray  # uint8 [N] 1 for neurons whose spikes are recorded
    probe_var: np.ndarray  # int64 [M2] state row of each recorded column
    probe_idx: np.ndarray  # int64 [M2] neuron id of each recorded column

    @property
    def n_neurons(self) -> int:
        return int(self.state.shape[1])


def _input_schedule(net: Network, n_steps: int, step0: int, offset: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Spikes of all input sources over the run as a CSR over steps of global ids."""
    steps_parts, ids_parts = [], []
    for source in net.sources.values():
        if isinstance(source, SpikeSource):
            st = np.rint(source.times / net.dt).astype(np.int64) - step0
            keep = (st >= 0) & (st < n_steps)
            steps_parts.append(st[keep])
            ids_parts.append(source.indices[keep] + offset)
        elif isinstance(source, PoissonSource):
            p = source.rates * net.dt
            # Draw in chunks of steps to bound memory for long runs.
            chunk = max(1, int(2**22 // max(source.size, 1)))
            for t0 in range(0, n_steps, chunk):
                t1 = min(n_steps, t0 + chunk)
                fired = rng.random((t1 - t0, source.size)) < p
                st, idx = np.nonzero(fired)
                steps_parts.append(st + t0)
                ids_parts.append(idx + offset)
        offset += source.size
    if not steps_parts:
        return np.zeros(n_steps + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    steps = np.concatenate(steps_parts)
    ids = np.concatenate(ids_parts)
    order = np.lexsort((ids, steps))
    steps, ids = steps[order], ids[order]
    ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n_steps), out=ptr[1:])
    return ptr, ids


def build_plan(net: Network, n_steps: int, rng: np.random.Generator,
               state: EngineState | None = None) -> Plan:
    """Lower ``net`` to a :class:`Plan` for ``n_steps`` steps, starting from ``state``."""
    if not net.populations:
        raise ValueError("network must contain at least one population")
    names = list(net.populations)
    sizes = np.array([net.populations[n].size for n in names], dtype=np.int64)
    stops = np.cumsum(sizes)
    starts = stops - sizes
    first = dict(zip(names, starts.tolist()))
    n_neurons = int(stops[-1])
    src_first = {}
    offset = n_neurons
    for name, source in net.sources.items():
        src_first[name] = offset
        offset += source.size
    n_ids = offset

    full = np.empty((len(STATE_VARIABLES), n_neurons))
    for name in names:
        pop = net.populations[name]
        initial = pop.initial
        if state is not None:
            if name not in state.neurons:
                raise ValueError(f"state has no entry for population {name!r}")
            initial = state.neurons[name]
        for row, field in enumerate(STATE_VARIABLES):
            values = np.asarray(getattr(initial, field), dtype=np.float64)
            if values.shape != (pop.size,):
                raise ValueError(f"state of {name!r}.{field} must have shape ({pop.size},), "
                                 f"got {values.shape}")
            full[row, first[name]:first[name] + pop.size] = values

    i_const = np.zeros(n_neurons)
    tables, table_targets = [], []
    step0 = 0 if state is None else state.step
    for name, values in net.currents.items():
        sl = slice(first[name], first[name] + net.populations[name].size)
        if values.ndim == 1:
            i_const[sl] = values
        else:
            if values.shape[0] < step0 + n_steps:
                raise ValueError(
                    f"time-varying current of {name!r} covers {values.shape[0]} steps, the run "
                    f"needs steps up to {step0 + n_steps}"
                )
            tables.append(values[step0:step0 + n_steps])
            table_targets.append(np.arange(sl.start, sl.stop))
    if tables:
        current_table = np.ascontiguousarray(np.concatenate(tables, axis=1))
        current_target = np.concatenate(table_targets).astype(np.int64)
    else:
        current_table = np.zeros((n_steps, 0))
        current_target = np.zeros(0, dtype=np.int64)

    # One CSR over all presynaptic ids, synapses of each id ordered by projection, then by
    # their order within the projection.
    pre_parts, tgt_parts, w_parts, d_parts, ch_parts = [], [], [], [], []
    for proj in net.projections:
        base = first[proj.pre] if proj.pre in first else src_first[proj.pre]
        counts = np.diff(proj.indptr)
        pre_parts.append(np.repeat(np.arange(counts.size, dtype=np.int64), counts) + base)
        tgt_parts.append(proj.post_indices + first[proj.post])
        w_parts.append(proj.weights)
        d_parts.append(proj.delay_steps)
        ch_parts.append(np.full(proj.n_synapses, CHANNELS.index(proj.channel), dtype=np.int64))
    if pre_parts:
        pre = np.concatenate(pre_parts)
        order = np.argsort(pre, kind="stable")
        targets = np.concatenate(tgt_parts)[order]
        weights = np.concatenate(w_parts)[order]
        delays = np.concatenate(d_parts)[order]
        channels = np.concatenate(ch_parts)[order]
        indptr = np.zeros(n_ids + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=n_ids), out=indptr[1:])
    else:
        targets = np.zeros(0, dtype=np.int64)
        weights = np.zeros(0)
        delays = np.zeros(0, dtype=np.int64)
        channels = np.zeros(0, dtype=np.int64)
        indptr = np.zeros(n_ids + 1, dtype=np.int64)

    depth = int(delays.max()) + 1 if delays.size else 1
    if state is not None:
        ring = state.ring
        if ring.shape[1:] != (2, n_neurons) or ring.shape[0] < depth:
            raise ValueError(f"state.ring must have shape (>= {depth}, 2, {n_neurons}), "
                             f"got {ring.shape}")
        ring = ring.copy()
    else:
        ring = np.zeros((depth, 2, n_neurons))

    input_ptr, input_ids = _input_schedule(net, n_steps, step0, n_neurons, rng)

    spike_mask = np.zeros(n_neurons, dtype=np.uint8)
    for name in net.spike_monitors:
        spike_mask[first[name]:first[name] + net.populations[name].size] = 1
    probe_var = [np.full(p.indices.size, STATE_VARIABLES.index(p.variable), dtype=np.int64)
                 for p in net.state_probes]
    probe_idx = [p.indices + first[p.population] for p in net.state_probes]

    return Plan(
        n_steps=n_steps,
        step0=step0,
        pop_names=names,
        pop_start=starts.astype(np.int64),
        pop_stop=stops.astype(np.int64),
        pop_coeffs=tuple(coeffs(net.populations[n].params, net.dt) for n in names),
        state=full,
        i_const=i_const,
        current_table=current_table,
        current_target=current_target,
        indptr=indptr,
        targets=targets.astype(np.int64),
        weights=weights.astype(np.float64),
        delays=delays.astype(np.int64),
        channels=channels,
        ring=ring,
        input_ptr=input_ptr,
        input_ids=input_ids,
        spike_mask=spike_mask,
        probe_var=np.concatenate(probe_var) if probe_var else np.zeros(0, dtype=np.int64),
        probe_idx=np.concatenate(probe_idx) if probe_idx else np.zeros(0, dtype=np.int64),
    )


def _backend_module(backend: str):
    if backend == "reference":
        from .backends import reference

        return reference
    if backend == "numba":
        from .backends import numba_backend

        return numba_backend
    if backend == "torch":
        from .backends import torch_backend

        return torch_backend
    raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")


def _check_run(network: Network, duration: float, backend: str):
    """Validate the arguments every run takes; return the backend module and the step count."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a snn.Network, got {type(network).__name__}")
    module = _backend_module(backend)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise TypeError(f"duration must be a number of seconds, got {type(duration).__name__}")
    if not math.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be a finite time > 0 s, got {duration!r}")
    n_steps = int(round(duration / network.dt))
    if n_steps < 1:
        raise ValueError(f"duration must cover at least one step of dt={network.dt:g} s, "
                         f"got {duration!r}")
    return module, n_steps


def _torch_options(module, backend: str, device, dtype) -> dict:
    """``device`` and ``dtype`` resolved for the torch backend; the others take neither."""
    if backend != "torch":
        for name, value in (("device", device), ("dtype", dtype)):
            if value is not None:
                raise ValueError(f"{name} applies to backend='torch' only, got {name}={value!r} "
                                 f"with backend={backend!r}")
        return {}
    return dict(device=module.resolve_device(device), dtype=module.resolve_dtype(dtype))


def _generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def run(
    network: Network,
    duration: float,
    *,
    backend: str = "numba",
    seed: int | np.random.Generator | None = None,
    state: EngineState | None = None,
    progress: bool = False,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
) -> SimulationResult:
    """Simulate ``network`` for ``duration`` seconds.

    ``backend`` is ``"numba"`` (compiled loop, the default), ``"reference"`` (numpy float64,
    the executable specification) or ``"torch"`` (CPU or CUDA; ``device`` such as ``"cuda"``,
    default CPU, and ``dtype`` ``torch.float32`` or ``torch.float64``, the default).
    ``seed`` (int or ``numpy.random.Generator``) drives the Poisson inputs.  ``state``
    continues from a previous run's ``result.state``.  With ``progress=True`` a progress bar
    reports simulated time.
    """
    module, n_steps = _check_run(network, duration, backend)
    if state is not None and not isinstance(state, EngineState):
        raise TypeError(f"state must be an EngineState from a previous result, "
                        f"got {type(state).__name__}")
    options = _torch_options(module, backend, device, dtype)
    rng = _generator(seed)
    build_start = time.perf_counter()
    plan = build_plan(network, n_steps, rng, state)
    build_time = time.perf_counter() - build_start
    run_start = time.perf_counter()
    out = module.simulate(plan, progress=progress, **options)
    if backend == "torch":  # one trial of a batch
        out = out[0]
    wall = time.perf_counter() - run_start
    return _collect(network, plan, out, build_time, wall, backend, options)


def run_trials(
    network: Network,
    duration: float,
    trials: int,
    *,
    backend: str = "torch",
    seed: int | np.random.Generator | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    progress: bool = False,
) -> list[SimulationResult]:
    """Simulate ``trials`` independent trials of ``network`` for ``duration`` seconds each.

    The network is lowered once; the trials differ only by their Poisson inputs, drawn one
    schedule per trial, in trial order, from the one generator made from ``seed``, so trial 0
    is exactly ``run(network, duration, seed=seed)``.  The ``"torch"`` backend (default)
    runs all trials at once as a batch on ``device`` (default CPU) in ``dtype`` (default
    float64); ``"reference"`` and ``"numba"`` run them one after another, so any two
    backends can be compared trial by trial.  Every trial starts from the network's initial
    state.  Returns one :class:`SimulationResult` per trial (``extra["trial"]`` is its
    index); with the torch backend ``wall_time`` is that of the whole batch.
    """
    module, n_steps = _check_run(network, duration, backend)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)):
        raise TypeError(f"trials must be an int >= 1, got {type(trials).__name__}")
    if trials < 1:
        raise ValueError(f"trials must be an int >= 1, got {trials!r}")
    options = _torch_options(module, backend, device, dtype)
    rng = _generator(seed)
    build_start = time.perf_counter()
    plan = build_plan(network, n_steps, rng)
    schedules = [(plan.input_ptr, plan.input_ids)] + [
        _input_schedule(network, n_steps, plan.step0, plan.n_neurons, rng)
        for _ in range(int(trials) - 1)
    ]
    build_time = time.perf_counter() - build_start
    if backend == "torch":
        run_start = time.perf_counter()
        outs = module.simulate(plan, progress=progress, schedules=schedules, **options)
        walls = [time.perf_counter() - run_start] * len(outs)
    else:
        outs, walls = [], []
        for ptr, ids in schedules:
            run_start = time.perf_counter()
            outs.append(module.simulate(replace(plan, input_ptr=ptr, input_ids=ids),
                                        progress=progress))
            walls.append(time.perf_counter() - run_start)
    results = []
    for b, (out, wall) in enumerate(zip(outs, walls)):
        results.append(_collect(network, plan, out, build_time, wall, backend, options))
        results[-1].extra["trial"] = b
    return results


def _collect(net: Network, plan: Plan, out, build_time: float, wall: float,
             backend: str, options: dict) -> SimulationResult:
    spike_steps, spike_ids, probes, final_state, ring = out
    spikes = {}
    for name, start, stop in zip(plan.pop_names, plan.pop_start, plan.pop_stop):
        if name not in net.spike_monitors:
            continue
        sel = (spike_ids >= start) & (spike_ids < stop)
        spikes[name] = SpikeTrains(
            times=(spike_steps[sel] + plan.step0) * net.dt,
            indices=spike_ids[sel] - start,
            size=int(stop - start),
            duration=plan.n_steps * net.dt,
            t_start=plan.step0 * net.dt,
        )
    traces: dict[str, dict[str, np.ndarray]] = {}
    trace_indices: dict[str, dict[str, np.ndarray]] = {}
    col = 0
    for probe in net.state_probes:
        k = probe.indices.size
        traces.setdefault(probe.population, {})[probe.variable] = probes[:, col:col + k]
        trace_indices.setdefault(probe.population, {})[probe.variable] = probe.indices
        col += k
    neurons = {}
    for name, start, stop in zip(plan.pop_names, plan.pop_start, plan.pop_stop):
        neurons[name] = NeuronState(*(final_state[row, start:stop].copy()
                                      for row in range(len(STATE_VARIABLES))))
    return SimulationResult(
        dt=net.dt,
        t_start=plan.step0 * net.dt,
        n_steps=plan.n_steps,
        spikes=spikes,
        traces=traces,
        trace_indices=trace_indices,
        state=EngineState(neurons=neurons, ring=ring, step=plan.step0 + plan.n_steps),
        backend=backend,
        build_time=build_time,
        wall_time=wall,
        # The torch backend's device and dtype, as strings.
        extra={name: str(value) for name, value in options.items()},
    )
