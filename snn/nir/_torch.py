"""NIR graphs as time-major torch modules built from :mod:`snn.layers` (and back).

:class:`NIRModule` runs a flattened graph over ``[T, B, *shape]`` sequences: linear nodes are
torch layers applied to every step, spiking nodes are :class:`snn.layers.LIF` /
:class:`~snn.layers.ALIF` layers, non-spiking integrators (``LI``, ``CubaLI``, ``I``) and
synaptic currents are linear recursions.  A graph without recurrent edges runs node by node
over the whole sequence; one with recurrent edges runs step by step (a recurrent edge carries
the previous step's value).
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from ..layers import ALIF, LIF, LayerState
from ..models import leaky_integrate
from ._discrete import DiscreteNeuron, apply_recorded, discretise
from ._graph import FlatGraph, delay_steps, metadata, node_type

__all__ = ["NIRModule", "build_module", "node_module"]


def _tensor(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.array(value, dtype=np.float64))


class _Timewise(nn.Module):
    """A stateless layer applied to every step: ``[T, B, *in]`` -> ``[T, B, *out]``."""

    def __init__(self, layer: nn.Module, in_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.layer = layer
        self.in_shape = tuple(in_shape)

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        steps, batch = x.shape[:2]
        y = self.layer(x.reshape(steps * batch, *self.in_shape))
        return y.reshape(steps, batch, *y.shape[1:]), None


class _Scale(nn.Module):
    def __init__(self, scale: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("scale", _tensor(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.to(x.dtype)


class _Threshold(nn.Module):
    def __init__(self, threshold: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("threshold", _tensor(threshold))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > self.threshold.to(x.dtype)).to(x.dtype)


class _Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class _Delay(nn.Module):
    """``y[t] = x[t - d]`` per element, ``d`` in whole steps (``x`` before 0 is 0); the state is
    the last ``max(d)`` steps of input."""

    def __init__(self, delay_steps: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("delay_steps", torch.as_tensor(np.asarray(delay_steps, np.int64)))
        self.max_steps = int(self.delay_steps.max()) if self.delay_steps.numel() else 0

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        steps = x.shape[0]
        if state is None:
            state = x.new_zeros((self.max_steps, *x.shape[1:]))
        history = torch.cat([state, x])  # row max_steps + t is step t
        index = (torch.arange(steps, device=x.device).view(-1, *[1] * (x.dim() - 1))
                 + self.max_steps - self.delay_steps.view(1, 1, *self.delay_steps.shape))
        index = index.expand(steps, *x.shape[1:])
        y = torch.gather(history, 0, index)
        return y, history[history.shape[0] - self.max_steps:]


class _Neuron(nn.Module):
    """A NIR neuron node at a fixed step (:class:`~snn.nir._discrete.DiscreteNeuron`).

    Spiking nodes run an :class:`snn.layers.LIF` (or ``ALIF``) in coordinates shifted by
    ``v_reset`` (the layers reset to 0): ``u = v - v_reset`` with the leak and input folded
    into the layer's input.  Non-spiking nodes return their membrane potential.
    """

    def __init__(self, neuron: DiscreteNeuron, reset: str = "value",
                 adaptation: tuple[float, float] | None = None, exact: bool = False) -> None:
        super().__init__()
        self.exact = bool(exact) and neuron.spiking
        self.kind = neuron.kind
        self.spiking = neuron.spiking
        self.shape = neuron.shape
        for name in ("beta", "v_leak", "input_gain", "v_threshold", "v_reset"):
            self.register_buffer(name, _tensor(getattr(neuron, name)))
        self.cuba = neuron.alpha is not None
        if self.cuba:
            self.register_buffer("alpha", _tensor(neuron.alpha))
            self.register_buffer("syn_gain", _tensor(neuron.syn_gain))
        self.layer = None
        if self.spiking:
            if adaptation is None:
                layer = LIF(self.shape, beta=0.5, threshold=1.0, reset=reset)
            else:
                layer = ALIF(self.shape, beta=0.5, threshold=1.0, reset=reset,
                             decay_adapt=adaptation[0], threshold_increment=adaptation[1])
            layer.beta.copy_(self.beta)
            layer.threshold.copy_(self.v_threshold - self.v_reset)
            self.layer = layer

    def _initial(self, x: torch.Tensor) -> tuple:
        batch = x.shape[1]
        zeros = x.new_zeros((batch, *self.shape))
        if self.spiking:
            v0 = (self.v_leak - self.v_reset).to(x.dtype).expand(batch, *self.shape).clone()
            return zeros, LayerState(v0, zeros.clone())
        return zeros, self.v_leak.to(x.dtype).expand(batch, *self.shape).clone()

    def membrane(self, state: tuple) -> torch.Tensor:
        """The membrane potential ``v`` held in a state this module returned."""
        inner = state[1]
        if self.spiking and not self.exact:
            return inner.v + self.v_reset.to(inner.v.dtype)
        return inner

    def _exact(self, drive: torch.Tensor, current: torch.Tensor, v: torch.Tensor | LayerState
               ) -> tuple[torch.Tensor, tuple]:
        if isinstance(v, LayerState):  # the initial state is in shifted coordinates
            v = v.v + self.v_reset.to(v.v.dtype)
        coeffs = [t.to(drive.dtype) for t in (self.beta, self.v_leak, self.input_gain,
                                              self.v_threshold, self.v_reset)]
        spikes = []
        for t in range(drive.shape[0]):
            s, v = _exact_step(v, drive[t], *coeffs)
            spikes.append(s)
        return torch.stack(spikes), (current, v)

    def forward(self, x: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        if state is None:
            state = self._initial(x)
        current, inner = state
        if self.cuba:
            alpha, gain = self.alpha.to(x.dtype), self.syn_gain.to(x.dtype)
            currents = []
            for t in range(x.shape[0]):
                current = alpha * current + gain * x[t]
                currents.append(current)
            drive = torch.stack(currents)
        else:
            drive = x
        beta = self.beta.to(x.dtype)
        if self.exact:
            return self._exact(drive, current, inner)
        if self.spiking:
            drive = (1.0 - beta) * (self.v_leak - self.v_reset).to(x.dtype) \
                + self.input_gain.to(x.dtype) * drive
            spikes, inner = self.layer(drive, state=inner, return_state=True)
            return spikes, (current, inner)
        v, trace = inner, []
        gain, v_leak = self.input_gain.to(x.dtype), self.v_leak.to(x.dtype)
        for t in range(x.shape[0]):
            v = leaky_integrate(v, drive[t], beta, v_leak, gain)
            trace.append(v)
        return torch.stack(trace), (current, v)


def _exact_step(v: torch.Tensor, drive: torch.Tensor, beta: torch.Tensor, v_leak: torch.Tensor,
                gain: torch.Tensor, v_threshold: torch.Tensor, v_reset: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the event-driven solution for an input held over the step: a neuron that
    crosses its threshold at ``t*`` inside the step restarts from ``v_reset`` there.

    With ``A = v_leak + r * I`` the potential the input drives towards,
    ``v(t) = A + (v - A) exp(-t / tau)``; the crossing gives ``exp(t* / tau) = (v - A) /
    (v_threshold - A)``, so the end of the step is ``A + (v_reset - A) * beta * (v - A) /
    (v_threshold - A)`` (``t* = 0`` for a neuron already above threshold).  Without leak
    (``beta = 1``) the potential rises linearly and ends at ``v_reset + v_free - max(v,
    v_threshold)``.  Reset to a value and by subtraction agree in continuous time.

    Returns:
        ``(spikes, v)`` after the step.
    """
    v_free = leaky_integrate(v, drive, beta, v_leak, gain)
    spikes = (v_free > v_threshold).to(v.dtype)
    leaky = beta < 1.0
    target = v_leak + gain * drive / torch.where(leaky, 1.0 - beta, torch.ones_like(beta))
    denominator = v_threshold - target
    safe = torch.where(denominator == 0.0, torch.ones_like(denominator), denominator)
    ratio = torch.clamp((v - target) / safe, min=1.0)
    after_leaky = target + (v_reset - target) * beta * ratio
    after_flat = v_reset + v_free - torch.maximum(v, v_threshold)
    after = torch.where(leaky, after_leaky, after_flat)
    return spikes, torch.where(spikes > 0, after, v_free)


def _conv(node: Any, kind: str) -> nn.Module:
    weight = np.asarray(node.weight, dtype=np.float64)
    nd = 1 if kind == "Conv1d" else 2
    cls = nn.Conv1d if nd == 1 else nn.Conv2d
    pair = [tuple(int(v) for v in np.broadcast_to(np.atleast_1d(np.asarray(p)), (nd,)))
            for p in (node.stride, node.padding, node.dilation)]
    layer = cls(weight.shape[1] * int(np.asarray(node.groups)), weight.shape[0],
                tuple(weight.shape[2:]), stride=pair[0], padding=pair[1], dilation=pair[2],
                groups=int(np.asarray(node.groups)), bias=True, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(_tensor(weight))
        layer.bias.copy_(_tensor(np.broadcast_to(np.asarray(node.bias, np.float64),
                                                 (weight.shape[0],))))
    return layer


def node_module(name: str, node: Any, in_shape: tuple[int, ...], out_shape: tuple[int, ...],
                dt: float, discretisation: str, integrator_input: str = "per_step"
                ) -> nn.Module | None:
    """The torch module of one flattened node (None for ``Input``/``Output``).

    Args:
        name: the node's name (for messages).
        node: the NIR node.
        in_shape: its input shape (features).
        out_shape: its output shape (features).
        dt: time step (s).
        discretisation: one of :data:`~snn.nir.DISCRETISATIONS`.
        integrator_input: the reading of ``r`` for ``IF`` and ``I`` nodes.

    Returns:
        A module with ``forward(x [T, B, *in_shape], state) -> (y [T, B, *out_shape], state)``.
    """
    kind = node_type(node)
    meta = metadata(node)
    if kind in ("Input", "Output"):
        return None
    if kind in ("Affine", "Linear"):
        weight = np.asarray(node.weight, dtype=np.float64)
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=kind == "Affine",
                          dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(_tensor(weight))
            if kind == "Affine":
                layer.bias.copy_(_tensor(node.bias))
        return _Timewise(layer, (int(np.prod(in_shape)),))
    if kind == "Scale":
        return _Timewise(_Scale(node.scale), in_shape)
    if kind == "Threshold":
        return _Timewise(_Threshold(node.threshold), in_shape)
    if kind in ("Conv1d", "Conv2d"):
        return _Timewise(_conv(node, kind), in_shape)
    if kind in ("SumPool2d", "AvgPool2d"):
        k, s, p = (tuple(int(v) for v in np.broadcast_to(np.atleast_1d(np.asarray(x)), (2,)))
                   for x in (node.kernel_size, node.stride, node.padding))
        layer = nn.AvgPool2d(k, s, p, divisor_override=1 if kind == "SumPool2d" else None)
        return _Timewise(layer, in_shape)
    if kind == "Flatten":
        return _Timewise(_Reshape(out_shape), in_shape)
    if kind == "Delay":
        return _Delay(np.rint(np.asarray(node.delay, dtype=np.float64) / dt).astype(np.int64))
    neuron = apply_recorded(discretise(node, dt, discretisation, integrator_input), meta, dt)
    adaptation = None
    if "decay_adapt" in meta:
        adaptation = (float(meta["decay_adapt"]), float(meta["threshold_increment"]))
    exact = discretisation == "exact"
    if exact and neuron.spiking and (neuron.alpha is not None or adaptation is not None):
        raise ValueError(f"node {name!r} ({kind}{', adaptive' if adaptation else ''}): "
                         f"discretisation='exact' needs a closed-form threshold crossing, which "
                         f"only LIF and IF nodes have; use 'exponential'")
    return _Neuron(neuron, meta.get("reset", "value"), adaptation, exact)


def _module_key(name: str) -> str:
    # ModuleDict keys may not contain dots; nested names are joined with a character that
    # NIR names (Python identifiers or numbers joined by dots) do not use.
    return name.replace(".", ":")


class NIRModule(nn.Module):
    """A NIR graph as one time-major torch module (made by :func:`snn.nir.from_nir` with
    ``target="torch"``).

    Args:
        flat: the flattened, checked graph.
        modules: the module of each node that computes (not ``Input``/``Output``).
        dt: the time step the graph was read with (s).
        discretisation: one of :data:`~snn.nir.DISCRETISATIONS`.
        graph: the graph the module was made from (kept for export).

    Parameters are float64 (exact comparisons with the engine); ``module.float()`` runs it
    in float32.

    Shapes:
        ``forward(x)``: ``x`` ``[T, B, *input_shape]`` (one ``Input`` node) or a dict by
        ``Input`` name -> ``[T, B, *output_shape]`` (one ``Output`` node) or a dict by
        ``Output`` name.
    """

    def __init__(self, flat: FlatGraph, modules: dict[str, nn.Module], dt: float,
                 discretisation: str, graph: nir.NIRGraph) -> None:
        super().__init__()
        self.flat = flat
        self.dt = dt
        self.discretisation = discretisation
        self.graph = graph
        self.nodes = nn.ModuleDict({_module_key(n): m for n, m in modules.items()})

    def _inputs(self, x: Any) -> dict[str, torch.Tensor]:
        names = self.flat.inputs
        if isinstance(x, torch.Tensor):
            if len(names) != 1:
                raise ValueError(f"x must be a dict by Input node name for a graph with inputs "
                                 f"{names}")
            x = {names[0]: x}
        if not isinstance(x, dict) or set(x) != set(names):
            raise ValueError(f"x must be a tensor or a dict with keys {names}")
        for name, value in x.items():
            shape = self.flat.shapes[name]
            if not isinstance(value, torch.Tensor) or value.dim() != 2 + len(shape) \
                    or tuple(value.shape[2:]) != shape:
                dims = ", ".join(map(str, shape))
                raise ValueError(f"input {name!r} must be a tensor [T, B, {dims}], got "
                                 f"{getattr(value, 'shape', type(value).__name__)}")
        return x

    def _run_node(self, name: str, x: torch.Tensor, states: dict) -> torch.Tensor:
        module = self.nodes[_module_key(name)] if _module_key(name) in self.nodes else None
        if module is None:
            return x
        y, states[name] = module(x, states.get(name))
        return y

    def _sum(self, name: str, values: dict, recurrent: dict | None) -> torch.Tensor:
        total = None
        sources = [(a, values) for a in self.flat.predecessors(name)]
        if recurrent is not None:
            sources += [(a, recurrent) for a in self.flat.predecessors(name, recurrent=True)]
        for a, table in sources:
            part = table[a]
            in_shape = self._input_shape(name)
            part = part.reshape(part.shape[0], part.shape[1], *in_shape)
            total = part if total is None else total + part
        if total is None:
            raise ValueError(f"node {name!r} has no input")
        return total

    def _input_shape(self, name: str) -> tuple[int, ...]:
        preds = self.flat.predecessors(name) or self.flat.predecessors(name, recurrent=True)
        return self.flat.shapes[preds[0]]

    def forward(self, x: torch.Tensor | dict[str, torch.Tensor], return_all: bool = False,
                membrane: bool = False) -> torch.Tensor | dict[str, torch.Tensor]:
        """Run the graph over whole sequences.

        Args:
            x: the input sequences (see the class docstring).
            return_all: return the output of every node, by name.
            membrane: also return the membrane potential of every neuron node after each
                step, under the key ``"<node>/v"`` (runs step by step; implies
                ``return_all``).

        Returns:
            The output sequence(s) (spikes of spiking nodes, membrane potentials of
            non-spiking ones).
        """
        inputs = self._inputs(x)
        template = next(iter(inputs.values()))
        if self.flat.recurrent or membrane:
            values = self._run_steps(inputs, template, membrane)
        else:
            values = dict(inputs)
            states: dict = {}
            for name in self.flat.order:
                if name in inputs:
                    continue
                values[name] = self._run_node(name, self._sum(name, values, None), states)
        if return_all or membrane:
            return values
        outs = {name: values[name] for name in self.flat.outputs}
        return next(iter(outs.values())) if len(outs) == 1 else outs

    def _before_start(self, inputs: dict, template: torch.Tensor) -> dict:
        """What the recurrent edges carry into step 0: every node's output on the step before,
        with zero inputs and zero spikes (a recurrent ``Affine`` already adds its bias, as
        snnTorch's recurrent layers do)."""
        batch = template.shape[1]
        zeros = {name: template.new_zeros((1, batch, *shape))
                 for name, shape in self.flat.shapes.items()}
        values: dict = {}
        for name in self.flat.order:
            key = _module_key(name)
            module = self.nodes[key] if key in self.nodes else None
            if name in inputs or isinstance(module, (_Neuron, _Delay)):
                values[name] = zeros[name]
            elif module is None:
                values[name] = self._sum(name, values, zeros)
            else:
                values[name] = module(self._sum(name, values, zeros), None)[0]
        return values

    def _run_steps(self, inputs: dict, template: torch.Tensor, membrane: bool) -> dict:
        steps, batch = template.shape[:2]
        previous = self._before_start(inputs, template)
        states: dict = {}
        trace: dict[str, list] = {name: [] for name in self.flat.shapes}
        neurons = {name: m for name, m in ((n, self.nodes[_module_key(n)])
                                           for n in self.flat.order
                                           if _module_key(n) in self.nodes)
                   if isinstance(m, _Neuron)}
        if membrane:
            trace.update({f"{name}/v": [] for name in neurons})
        for t in range(steps):
            values = {name: value[t:t + 1] for name, value in inputs.items()}
            for name in self.flat.order:
                if name in inputs:
                    continue
                values[name] = self._run_node(name, self._sum(name, values, previous), states)
            for name, value in values.items():
                trace[name].append(value)
            if membrane:
                for name, module in neurons.items():
                    trace[f"{name}/v"].append(module.membrane(states[name]).unsqueeze(0))
            previous = values
        return {name: torch.cat(parts) for name, parts in trace.items()}


def build_module(flat: FlatGraph, dt: float, discretisation: str, graph: nir.NIRGraph,
                 integrator_input: str = "per_step") -> NIRModule:
    """The :class:`NIRModule` of a flattened graph.

    Args:
        flat: the flattened, checked graph.
        dt: time step (s).
        discretisation: one of :data:`~snn.nir.DISCRETISATIONS`.
        graph: the original graph.
        integrator_input: the reading of ``r`` for ``IF`` and ``I`` nodes.

    Returns:
        The module (float64 parameters; run it on float64 input for exact comparisons).
    """
    modules = {}
    for name in flat.order:
        preds = flat.predecessors(name) or flat.predecessors(name, recurrent=True)
        in_shape = flat.shapes[preds[0]] if preds else flat.shapes[name]
        node = flat.nodes[name]
        if node_type(node) == "Delay":
            # Checked, and one step less where a recurrent edge already waits one.
            node = nir.Delay(delay=delay_steps(flat, name, dt) * dt)
        module = node_module(name, node, in_shape, flat.shapes[name], dt, discretisation,
                             integrator_input)
        if module is not None:
            modules[name] = module
    return NIRModule(flat, modules, dt, discretisation, graph)

