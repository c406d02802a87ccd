"""NIR graphs as engine networks (and engine networks as NIR graphs).

Import: ``Input`` nodes become spike sources, neuron and ``Threshold`` nodes populations, and
every chain of linear nodes between them (``Affine``, ``Linear``, ``Scale``, ``Conv``,
pooling, ``Flatten``, ``Delay``) folds into one sparse projection per (source, target) pair
with per-synapse integer delays.  NIR's linear maps act within the step; an engine synapse
delivers a spike one step after it is emitted.  Each population therefore runs ``latency``
steps behind the graph's time (one more than its furthest source, less what delays on the way
already cover), and the synapses get the difference as extra delay, so that every node
computes exactly what :class:`~snn.nir._torch.NIRModule` computes, ``latency`` steps later.
Biases come from a source that fires on every step, delayed to reach each population at its
step 0.

Export: a population becomes its NIR neuron node (``LIF``, ``CubaLIF`` or ``IF``); a
projection becomes one ``Linear`` per distinct delay ``d``, each followed by a
``Delay((d + 1) * dt)``: the engine's spike reaches its target ``d + 1`` steps after it was
emitted.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nir
import numpy as np
import torch

from ..models import (
    ALIFParams,
    ConductanceSynapses,
    CurrentSynapses,
    DeltaSynapses,
    IFParams,
    LIFParams,
    coeffs,
)
from ..network import Network, PoissonSource, SpikeSource
from ._discrete import NEURON_TYPES, DiscreteNeuron, apply_recorded, discretise, time_constant
from ._graph import NAMESPACE, FlatGraph, delay_steps, metadata, node_type
from ._torch import node_module

if TYPE_CHECKING:  # pragma: no cover
    import scipy.sparse as sp

__all__ = ["EngineImport", "build_network", "network_to_graph", "NIRExportWarning"]

CELL_TYPES = NEURON_TYPES + ("Threshold", "Input")
# The threshold written for non-spiking nodes: the engine's parameters must be finite.
_NEVER = 1e30


class NIRExportWarning(UserWarning):
    """Something the NIR standard cannot say was written as ``snnsim`` metadata beside the
    nearest standard node: other tools will ignore it."""


def lossy(message: str, strict: bool) -> None:
    """Warn (or, with ``strict``, raise ``ValueError``) that other tools will ignore
    something."""
    if strict:
        raise ValueError(message + " (strict=True turns this warning into an error)")
    warnings.warn(message, NIRExportWarning, stacklevel=3)


@dataclass
class EngineImport:
    """A graph lowered to the engine: the network, each cell's latency (steps behind the
    graph's time) and, per ``Output`` node, the cell it reports."""

    network: Network
    latency: dict[str, int]
    outputs: dict[str, str]
    spiking: dict[str, bool]
    shapes: dict[str, tuple[int, ...]]


# ---------------------------------------------------------------------- linear maps
def _sparse():
    """scipy.sparse, imported on first use: importing it adds a process-wide warning filter,
    which importing snn.nir must not do."""
    import scipy.sparse

    return scipy.sparse


def _identity(n: int) -> sp.csr_matrix:
    return _sparse().identity(n, dtype=np.float64, format="csr")


def _linear_map(name: str, node: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                dt: float) -> tuple[sp.csr_matrix, np.ndarray]:
    """(matrix ``[n_out, n_in]``, bias ``[n_out]``) of a linear node on flattened vectors."""
    sp = _sparse()
    kind = node_type(node)
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    if kind in ("Affine", "Linear"):
        w = sp.csr_matrix(np.asarray(node.weight, dtype=np.float64))
        bias = (np.asarray(node.bias, dtype=np.float64).reshape(-1) if kind == "Affine"
                else np.zeros(n_out))
        return w, np.broadcast_to(bias, (n_out,)).copy()
    if kind == "Scale":
        return sp.diags(np.asarray(node.scale, np.float64).reshape(-1)).tocsr(), np.zeros(n_out)
    if kind == "Flatten":
        return _identity(n_in), np.zeros(n_out)
    # Convolutions and pooling: the columns of the map are the responses to unit inputs.
    module = node_module(name, node, in_shape, out_shape, dt, "euler")
    with torch.no_grad():
        zero = module(torch.zeros((1, 1, *in_shape), dtype=torch.float64))[0].reshape(-1)
        blocks = []
        for start in range(0, n_in, 256):
            stop = min(start + 256, n_in)
            eye = torch.zeros((1, stop - start, n_in), dtype=torch.float64)
            eye[0, torch.arange(stop - start), torch.arange(start, stop)] = 1.0
            out = module(eye.reshape(1, stop - start, *in_shape))[0].reshape(stop - start, -1)
            blocks.append(sp.csr_matrix((out - zero).numpy().T))
    return sp.hstack(blocks).tocsr(), zero.numpy().copy()


Signal = tuple[dict, dict]  # ({(cell, delay_steps): csr [n, n_cell]}, {delay_steps: bias [n]})


def _add(into: dict, key: Any, value: Any) -> None:
    into[key] = into[key] + value if key in into else value


class _Composer:
    """The signal of every node as a sum of delayed linear maps of cell outputs."""

    def __init__(self, flat: FlatGraph, dt: float) -> None:
        self.flat, self.dt = flat, dt
        self.memo: dict[str, Signal] = {}
        self.busy: set[str] = set()

    def input_of(self, name: str) -> Signal:
        maps: dict = {}
        biases: dict = {}
        sources = [(a, 0) for a in self.flat.predecessors(name)]
        sources += [(a, 1) for a in self.flat.predecessors(name, recurrent=True)]
        for a, extra in sources:
            m, b = self.signal(a)
            for (cell, d), mat in m.items():
                _add(maps, (cell, d + extra), mat)
            # A bias is there from the first step on, also behind a recurrent edge.
            for d, vec in b.items():
                _add(biases, d, vec)
        return maps, biases

    def signal(self, name: str) -> Signal:
        if name in self.memo:
            return self.memo[name]
        node = self.flat.nodes[name]
        kind = node_type(node)
        n = int(np.prod(self.flat.shapes[name]))
        if kind in CELL_TYPES:
            return {(name, 0): _identity(n)}, {}
        if name in self.busy:
            raise ValueError(f"node {name!r} lies on a cycle of linear nodes with no neuron "
                             f"on it; the graph has no step-by-step meaning")
        self.busy.add(name)
        maps, biases = self.input_of(name)
        self.busy.discard(name)
        preds = self.flat.predecessors(name) or self.flat.predecessors(name, recurrent=True)
        in_shape = self.flat.shapes[preds[0]]
        if kind == "Output":
            result = (maps, biases)
        elif kind == "Delay":
            rounded = delay_steps(self.flat, name, self.dt).reshape(-1)
            result = ({}, {})
            for e in np.unique(rounded):
                rows = _sparse().diags((rounded == e).astype(np.float64)).tocsr()
                for (cell, d), mat in maps.items():
                    _add(result[0], (cell, d + int(e)), rows @ mat)
                for d, vec in biases.items():
                    _add(result[1], d + int(e), rows @ vec)
        else:
            mat, bias = _linear_map(name, node, in_shape, self.flat.shapes[name], self.dt)
            out_maps = {key: (mat @ m).tocsr() for key, m in maps.items()}
            out_biases = {d: mat @ vec for d, vec in biases.items()}
            if np.any(bias != 0):
                _add(out_biases, 0, bias)
            result = (out_maps, out_biases)
        self.memo[name] = result
        return result


# ---------------------------------------------------------------------- populations
def _uniform(name: str, field: str, values: np.ndarray | None) -> float | None:
    if values is None:
        return None
    flat = np.unique(values)
    if flat.size != 1:
        raise ValueError(f"node {name!r}: an engine population shares one {field} across its "
                         f"neurons, but the node holds {flat.size} distinct values")
    return float(flat[0])


def _engine_params(name: str, neuron: DiscreteNeuron, meta: dict, dt: float):
    """The engine model of a node and the factor from NIR input to engine weight, per neuron."""
    restored = _restore_params(meta, dt)
    beta = _uniform(name, "membrane decay", neuron.beta)
    v_leak = _uniform(name, "v_leak", neuron.v_leak)
    thr = _uniform(name, "v_threshold", neuron.v_threshold)
    v_reset = _uniform(name, "v_reset", neuron.v_reset)
    alpha = _uniform(name, "synaptic decay", neuron.alpha)
    reset = meta.get("reset", "value")
    refractory = float(meta.get("tau_refractory", 0.0))
    v_threshold = thr if math.isfinite(thr) else _NEVER
    if alpha is None:
        synapses = DeltaSynapses()
    else:
        tau_syn = -dt / math.log(alpha)
        synapses = CurrentSynapses(tau_exc=tau_syn, tau_inh=tau_syn)
    if beta >= 1.0:
        params = IFParams(c_m=1.0, v_threshold=v_threshold, v_reset=v_reset,
                          tau_refractory=refractory, reset=reset, synapses=synapses)
    else:
        common = dict(tau_m=-dt / math.log(beta), v_rest=v_leak, v_threshold=v_threshold,
                      v_reset=v_reset, r_m=1.0, tau_refractory=refractory, reset=reset,
                      synapses=synapses)
        if "decay_adapt" in meta:
            params = ALIFParams(**common, tau_adapt=-dt / math.log(float(meta["decay_adapt"])),
                                threshold_increment=float(meta["threshold_increment"]))
        else:
            params = LIFParams(**common)
    if restored is not None:
        # An snnsim export: its own model, and weights written as the engine holds them.
        return restored, np.ones(neuron.shape).reshape(-1)
    scale = neuron.input_gain.reshape(-1)
    if alpha is not None:
        scale = scale * neuron.syn_gain.reshape(-1) / coeffs(params, dt).gain_exc
    return params, scale


# ---------------------------------------------------------------------- import
def build_network(flat: FlatGraph, dt: float, discretisation: str,
                  integrator_input: str = "per_step") -> EngineImport:
    """Lower a flattened graph to an engine network (see the module docstring).

    Args:
        flat: the flattened, checked graph.
        dt: time step (s).
        discretisation: one of :data:`~snn.nir.DISCRETISATIONS`.
        integrator_input: the reading of ``r`` for ``IF`` and ``I`` nodes (``"per_step"`` or
            ``"continuous"``).

    Returns:
        The :class:`EngineImport`; the network's spike sources (one per ``Input`` node,
        named after it) hold no spikes yet.
    """
    if discretisation == "exact":
        raise ValueError("discretisation='exact' resets a neuron at its threshold crossing "
                         "inside a step; the engine resets at the step's end. Use "
                         "'exponential' (or 'euler') for the engine, or target='torch'")
    composer = _Composer(flat, dt)
    cells = [n for n in flat.order if node_type(flat.nodes[n]) in CELL_TYPES]
    inputs: dict[str, Signal] = {}
    latency: dict[str, int] = {}
    for name in cells:
        if node_type(flat.nodes[name]) == "Input":
            latency[name] = 0
            continue
        maps, biases = inputs[name] = composer.input_of(name)
        need = [latency[c] + 1 - d for (c, d) in maps if c in latency]
        need += [1 - d for d in biases]
        latency[name] = max([0, *need])
    for name in flat.nodes:
        if node_type(flat.nodes[name]) not in CELL_TYPES:
            composer.signal(name)
    spiking: dict[str, bool] = {}
    params: dict[str, Any] = {}
    scales: dict[str, np.ndarray] = {}
    for name in cells:
        node = flat.nodes[name]
        kind = node_type(node)
        n = int(np.prod(flat.shapes[name]))
        if kind == "Input":
            spiking[name] = True
        elif kind == "Threshold":
            thr = _uniform(name, "threshold", np.asarray(node.threshold))
            # No memory: the membrane forgets everything within one step (exp(-800) == 0).
            params[name] = LIFParams(tau_m=dt / 800.0, v_rest=0.0, v_threshold=thr, v_reset=0.0,
                                     r_m=1.0, tau_refractory=0.0, synapses=DeltaSynapses())
            scales[name] = np.ones(n)
            spiking[name] = True
        else:
            neuron = apply_recorded(discretise(node, dt, discretisation, integrator_input),
                                    metadata(node), dt)
            params[name], scales[name] = _engine_params(name, neuron, metadata(node), dt)
            spiking[name] = neuron.spiking
    plans = []
    max_extra = 0
    for name in cells:
        if name not in inputs:
            continue
        maps, biases = inputs[name]
        for (cell, d), mat in maps.items():
            if not spiking[cell]:
                raise ValueError(f"node {cell!r} ({node_type(flat.nodes[cell])}) feeds {name!r}, "
                                 f"but engine synapses carry spikes only: a non-spiking node "
                                 f"can only be an output")
            extra = d + latency[name] - latency[cell] - 1
            if extra < 0:
                raise ValueError(f"the engine cannot run the edge from {cell!r} into {name!r}: "
                                 f"it would need a delay of {extra} steps (a cycle through "
                                 f"several populations with no delay on it)")
            plans.append((cell, name, mat, extra))
            max_extra = max(max_extra, extra)
        for d, vec in biases.items():
            plans.append((None, name, _sparse().csr_matrix(vec.reshape(-1, 1)),
                          latency[name] + d - 1))
            max_extra = max(max_extra, latency[name] + d - 1)
    net = Network(dt=dt, max_delay=max(max_extra, 1) * dt)
    for name in cells:
        n = int(np.prod(flat.shapes[name]))
        if node_type(flat.nodes[name]) == "Input":
            net.add_spike_source(name, n, [], [])
            continue
        p = params[name]
        v0 = 0.0 if isinstance(p, IFParams) or node_type(flat.nodes[name]) == "Threshold" \
            else p.v_rest
        # Held (as if refractory) over the steps before its step 0, so that a neuron at rest
        # above threshold does not fire before the graph's time begins.
        held = {"refractory": latency[name] + 1} if latency[name] else None
        net.add_population(name, n, p, v_init=v0, initial=held)
    bias_rate = 1.0 / dt
    while bias_rate * dt > 1.0:
        bias_rate = math.nextafter(bias_rate, 0.0)
    grouped: dict[tuple, list] = {}
    for cell, name, mat, extra in plans:
        grouped.setdefault((cell, name), []).append((mat, extra))
    for (cell, name), parts in grouped.items():
        pre_idx, post_idx, weights, delays = [], [], [], []
        for mat, extra in parts:
            coo = mat.tocoo()
            keep = coo.data != 0
            pre_idx.append(coo.col[keep])
            post_idx.append(coo.row[keep])
            weights.append(coo.data[keep] * scales[name][coo.row[keep]])
            delays.append(np.full(int(keep.sum()), extra * dt))
        if cell is None:
            cell = f"bias:{name}"
            net.add_poisson_source(cell, 1, bias_rate)
        net.connect(cell, name, np.concatenate(weights), pre_indices=np.concatenate(pre_idx),
                    post_indices=np.concatenate(post_idx), delays=np.concatenate(delays))
    outputs = {}
    for out in flat.outputs:
        maps, biases = composer.signal(out)
        keys = list(maps)
        if biases or len(keys) != 1 or keys[0][1] != 0 or (
                maps[keys[0]] != _identity(maps[keys[0]].shape[1])).nnz:
            raise ValueError(f"Output node {out!r} must be fed by one neuron node directly for "
                             f"the engine (it reports spikes or membrane potentials)")
        outputs[out] = keys[0][0]
    return EngineImport(net, latency, outputs, spiking, dict(flat.shapes))


def simulate_import(imported: EngineImport, inputs: dict[str, np.ndarray], backend: str,
                    membrane: bool = False, rng: int | np.random.Generator | None = 0
                    ) -> dict[str, np.ndarray]:
    """Run an imported network on input spike counts and align every cell with graph time.

    Args:
        imported: what :func:`build_network` returned.
        inputs: spike counts per step by ``Input`` name, each ``[T, *shape]``.
        backend: the engine backend.
        membrane: also return each population's membrane potential after each step, under
            ``"<node>/v"``.
        rng: the engine's generator (only the always-firing bias sources draw from it).

    Returns:
        By node name (every cell and every ``Output``): spikes (spiking nodes) or membrane
        potentials (non-spiking nodes), ``[T, *shape]``.
    """
    from ..engine import run

    net = imported.network
    n_steps = None
    for name, counts in inputs.items():
        arr = np.asarray(counts)
        shape = imported.shapes[name]
        if arr.shape[1:] != shape:
            raise ValueError(f"inputs[{name!r}] must have shape [T, {', '.join(map(str, shape))}],"
                             f" got {arr.shape}")
        if n_steps is not None and arr.shape[0] != n_steps:
            raise ValueError("every input must have the same number of steps")
        n_steps = arr.shape[0]
        flat = arr.reshape(n_steps, -1)
        if np.any(flat < 0) or np.any(flat != np.round(flat)):
            raise ValueError(f"inputs[{name!r}] must hold non-negative whole spike counts")
        steps, idx = np.nonzero(flat)
        repeats = flat[steps, idx].astype(np.int64)
        net.set_spikes(name, np.repeat(idx, repeats), np.repeat(steps, repeats) * net.dt)
    populations = list(net.populations)
    for name in populations:
        if imported.spiking[name]:
            net.monitor_spikes(name)
        if membrane or not imported.spiking[name]:
            net.monitor_state(name, "v")
    longest = max(imported.latency.values())
    result = run(net, (n_steps + longest + 1) * net.dt, backend=backend, rng=rng)
    out: dict[str, np.ndarray] = {}
    for name in populations:
        lag = imported.latency[name]
        shape = imported.shapes[name]
        if imported.spiking[name]:
            trains = result.spikes[name]
            step = np.rint(trains.times / net.dt).astype(np.int64) - lag
            dense = np.zeros((n_steps, int(np.prod(shape))))
            keep = (step >= 0) & (step < n_steps)
            np.add.at(dense, (step[keep], trains.indices[keep]), 1.0)
        if membrane or not imported.spiking[name]:
            # Sample k is the state at the start of step k, i.e. after step k - 1.
            v = result.traces[name]["v"][lag + 1:lag + 1 + n_steps].reshape(n_steps, *shape)
            if membrane:
                out[f"{name}/v"] = v
            if not imported.spiking[name]:
                dense = v
        out[name] = dense.reshape(n_steps, *shape)
    for name, counts in inputs.items():
        out[name] = np.asarray(counts, dtype=np.float64)
    for name, cell in imported.outputs.items():
        out[name] = out[cell]
    return out


# ---------------------------------------------------------------------- export
_PARAM_KEYS = ("tau_m", "v_rest", "v_threshold", "v_reset", "r_m", "c_m", "tau_refractory",
               "tau_adapt", "threshold_increment")


def _restore_params(meta: dict, dt: float):
    """The engine model an snnsim export recorded (None if the node holds none or was
    written for another step)."""
    model = meta.get("engine_model")
    if model is None or not math.isclose(float(meta.get("dt", -1.0)), dt, rel_tol=1e-12):
        return None
    if meta.get("engine_synapses") == "current":
        synapses = CurrentSynapses(tau_exc=float(meta["engine_tau_exc"]),
                                   tau_inh=float(meta["engine_tau_inh"]))
    else:
        synapses = DeltaSynapses()
    fields = {k: float(meta[f"engine_{k}"]) for k in _PARAM_KEYS if f"engine_{k}" in meta}
    cls = {"LIFParams": LIFParams, "ALIFParams": ALIFParams, "IFParams": IFParams}[model]
    return cls(**fields, reset=meta.get("reset", "value"), synapses=synapses)


def _population_node(pop, dt: float, discretisation: str, strict: bool):
    """(NIR node, factor from engine weight to NIR weight) of a population."""
    p = pop.params
    name = pop.name
    shape = (pop.n_neurons,)
    syn = p.synapses
    if isinstance(syn, ConductanceSynapses):
        raise ValueError(f"population {name!r} has conductance synapses, which NIR cannot "
                         f"express (its neurons are current-based); export refused")
    c = coeffs(p, dt)
    meta: dict[str, Any] = {"dt": dt, "discretisation": discretisation,
                            "engine_model": type(p).__name__, "reset": p.reset}
    for key in _PARAM_KEYS:
        if hasattr(p, key):
            meta[f"engine_{key}"] = float(getattr(p, key))
    if p.reset == "subtract":
        lossy(f"population {name!r} resets by subtraction; NIR resets to v_reset, so other "
              f"tools will reset to a value (kept as metadata snnsim.reset)", strict)
    if c.refractory_steps > 0:
        meta["tau_refractory"] = float(p.tau_refractory)
        lossy(f"population {name!r} has a refractory period of {p.tau_refractory:g} s, which "
              f"NIR cannot express (kept as metadata snnsim.tau_refractory)", strict)
    if isinstance(p, ALIFParams):
        meta["decay_adapt"] = c.decay_adapt
        meta["threshold_increment"] = float(p.threshold_increment)
        lossy(f"population {name!r} adapts its threshold (ALIF), which NIR cannot express "
              f"(exported as LIF; adaptation kept as metadata snnsim.decay_adapt, "
              f"snnsim.threshold_increment)", strict)
    ones = np.ones(shape)
    thr, v_reset = np.full(shape, p.v_threshold), np.full(shape, p.v_reset)
    if isinstance(syn, CurrentSynapses):
        if syn.tau_exc != syn.tau_inh:
            raise ValueError(f"population {name!r} has two synaptic time constants "
                             f"(tau_exc={syn.tau_exc:g} s, tau_inh={syn.tau_inh:g} s); NIR's "
                             f"CubaLIF has one; export refused")
        if isinstance(p, IFParams):
            raise ValueError(f"population {name!r} is IF with current synapses; NIR has no "
                             f"current-based IF node; export refused")
        meta.update(engine_synapses="current", engine_tau_exc=syn.tau_exc,
                    engine_tau_inh=syn.tau_inh)
        beta, alpha = c.decay_m, c.decay_exc
        # r and w_in chosen so that one unit of NIR weight is one unit of engine weight.
        node = nir.CubaLIF(tau_syn=time_constant(alpha, dt, discretisation) * ones,
                           tau_mem=time_constant(beta, dt, discretisation) * ones,
                           r=c.gain_exc / (1.0 - beta) * ones, v_leak=p.v_rest * ones,
                           v_threshold=thr, v_reset=v_reset,
                           w_in=1.0 / (1.0 - alpha) * ones, metadata={NAMESPACE: meta})
        return node
    if isinstance(p, IFParams):
        return nir.IF(r=ones.copy(), v_threshold=thr, v_reset=v_reset,
                      metadata={NAMESPACE: meta})
    beta = c.decay_m
    return nir.LIF(tau=time_constant(beta, dt, discretisation) * ones,
                   r=1.0 / (1.0 - beta) * ones, v_leak=p.v_rest * ones, v_threshold=thr,
                   v_reset=v_reset, metadata={NAMESPACE: meta})


def network_to_graph(net: Network, dt: float, discretisation: str, strict: bool
                     ) -> nir.NIRGraph:
    """An engine network as a NIR graph (see the module docstring).

    Args:
        net: the network.
        dt: the step the graph is written for (s); must equal ``net.dt``.
        discretisation: ``"euler"`` or ``"exponential"``: the reading of the time constants
            that reproduces the engine's decays per step.
        strict: refuse (``ValueError``) what would otherwise be a :class:`NIRExportWarning`.

    Returns:
        The graph.
    """
    if not math.isclose(dt, net.dt, rel_tol=1e-12):
        raise ValueError(f"dt must be the network's step {net.dt:g} s, got {dt:g} s")
    if discretisation == "exact":
        raise ValueError("discretisation must be 'euler' or 'exponential' for a network: the "
                         "engine resets at the step's end, not at the threshold crossing")
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    for name, source in net.sources.items():
        meta: dict[str, Any] = {}
        if isinstance(source, PoissonSource):
            meta["poisson_rates"] = source.rates.copy()
            lossy(f"source {name!r} is a Poisson source; NIR holds no input data (rates kept "
                  f"as metadata snnsim.poisson_rates)", strict)
        elif isinstance(source, SpikeSource) and source.indices.size:
            pass  # the spikes are data, not part of the graph
        nodes[name] = nir.Input(input_type={"input": np.array([source.n_neurons])},
                                metadata={NAMESPACE: meta} if meta else {})
    for name, pop in net.populations.items():
        nodes[name] = _population_node(pop, dt, discretisation, strict)
    for index, proj in enumerate(net.projections):
        if proj.plasticity is not None:
            lossy(f"projection {index} ({proj.pre}->{proj.post}) learns by STDP; NIR holds its "
                  f"current weights only", strict)
        n_pre = net.populations[proj.pre].n_neurons if proj.pre in net.populations \
            else net.sources[proj.pre].n_neurons
        n_post = net.populations[proj.post].n_neurons
        pre = np.repeat(np.arange(n_pre), np.diff(proj.indptr))
        for d in np.unique(proj.delay_steps):
            sel = proj.delay_steps == d
            weight = np.zeros((n_post, n_pre))
            np.add.at(weight, (proj.post_indices[sel], pre[sel]), proj.weights[sel])
            lin = f"p{index}_{proj.pre}_{proj.post}_d{int(d)}"
            nodes[lin] = nir.Linear(weight=weight)
            delay = f"{lin}_delay"
            nodes[delay] = nir.Delay(delay=np.full(n_post, (int(d) + 1) * dt))
            edges += [(proj.pre, lin), (lin, delay), (delay, proj.post)]
    monitored = net.spike_monitors or list(net.populations)
    for name in monitored:
        out = f"output_{name}"
        nodes[out] = nir.Output(output_type={"output": np.array([net.populations[name].n_neurons])})
        edges.append((name, out))
    meta = {"dt": dt, "discretisation": discretisation, "origin": "engine",
            "integrator_input": "per_step"}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={NAMESPACE: meta}, type_check=False)

