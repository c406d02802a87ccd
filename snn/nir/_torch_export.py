"""Torch models built from :mod:`snn.layers` as NIR graphs.

A model is an ``nn.Sequential`` (or a single layer) of ``nn.Linear``, ``nn.Conv1d``,
``nn.Conv2d``, ``nn.AvgPool2d`` (``divisor_override=1``: ``SumPool2d``), ``nn.Flatten``,
``nn.Identity`` / ``nn.Dropout`` (skipped), :class:`snn.layers.LIF` / ``ALIF`` / ``IF`` and
:class:`snn.layers.DelayedLinear` (rounded delays: one ``Linear -> Delay`` branch per distinct
delay); a :class:`snn.layers.DelayNetwork`; or a :class:`~snn.nir.NIRModule`.

A layer ``u = beta * v + gain * x`` is written as ``LIF(tau, r)`` with ``tau`` the time
constant of ``beta`` for the chosen discretisation and ``r = gain / (1 - beta)`` (snnTorch's
``r = tau / dt`` for Euler and ``gain = 1``), so that NIR weights are the layer's weights;
``beta = 1`` is ``IF(r = gain)``.
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np
import torch
from torch import nn

from ..layers import ALIF, LIF, DelayedLinear, DelayNetwork
from ..layers.export import _affine
from ._discrete import time_constant
from ._engine import lossy
from ._graph import NAMESPACE

__all__ = ["module_to_graph"]


def _np(t: torch.Tensor | float) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().to(torch.float64).cpu().numpy().copy()
    return np.asarray(t, dtype=np.float64)


class _Builder:
    def __init__(self, dt: float, discretisation: str, strict: bool) -> None:
        self.dt, self.discretisation, self.strict = dt, discretisation, strict
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.count = 0

    def add(self, kind: str, node: Any, frontier: list[str]) -> list[str]:
        name = f"{self.count}_{kind}"
        self.count += 1
        self.nodes[name] = node
        self.edges += [(f, name) for f in frontier]
        return [name]

    def neuron(self, beta: np.ndarray, threshold: np.ndarray, gain: np.ndarray, reset: str,
               shape: tuple[int, ...], label: str, adaptation: tuple[float, float] | None
               ) -> Any:
        beta = np.broadcast_to(beta, shape).copy()
        thr = np.broadcast_to(threshold, shape).copy()
        gain = np.broadcast_to(gain, shape).copy()
        meta: dict[str, Any] = {"dt": self.dt, "discretisation": self.discretisation,
                                "reset": reset, "layer_beta": beta, "layer_gain": gain}
        if reset == "subtract":
            lossy(f"layer {label} resets by subtraction; NIR resets to v_reset, so other tools "
                  f"will reset to a value (kept as metadata snnsim.reset)", self.strict)
        if adaptation is not None:
            meta["decay_adapt"], meta["threshold_increment"] = adaptation
            lossy(f"layer {label} adapts its threshold (ALIF), which NIR cannot express "
                  f"(exported as LIF; adaptation kept as metadata snnsim.decay_adapt, "
                  f"snnsim.threshold_increment)", self.strict)
        zeros = np.zeros(shape)
        if np.all(beta == 1.0):
            return nir.IF(r=gain, v_threshold=thr, v_reset=zeros, metadata={NAMESPACE: meta})
        if np.any(beta >= 1.0):
            raise ValueError(f"layer {label} mixes leaky and non-leaky neurons; NIR needs one "
                             f"node type per layer")
        return nir.LIF(tau=time_constant(beta, self.dt, self.discretisation),
                       r=gain / (1.0 - beta), v_leak=zeros, v_threshold=thr, v_reset=zeros,
                       metadata={NAMESPACE: meta})

    def delayed(self, weight: np.ndarray, delays: np.ndarray, bias: np.ndarray | None,
                frontier: list[str]) -> list[str]:
        """One ``Linear`` (``Affine`` for the bias, on the undelayed branch) per delay."""
        out = []
        distinct = set(np.unique(delays).tolist())
        if bias is not None and np.any(bias != 0):
            distinct.add(0)
        for d in sorted(distinct):
            w = np.where(delays == d, weight, 0.0)
            if d == 0 and bias is not None and np.any(bias != 0):
                branch = self.add("affine", nir.Affine(weight=w, bias=bias.copy()), frontier)
            else:
                branch = self.add("linear", nir.Linear(weight=w), frontier)
            if d > 0:
                branch = self.add("delay", nir.Delay(delay=np.full(w.shape[0], d * self.dt)),
                                  branch)
            out += branch
        return out


def _layer(b: _Builder, module: nn.Module, shape: tuple[int, ...], frontier: list[str],
           label: str) -> tuple[list[str], tuple[int, ...]]:
    if isinstance(module, (nn.Identity, nn.Dropout)):
        return frontier, shape
    if isinstance(module, nn.Linear):
        weight = _np(module.weight)
        if module.bias is None:
            node = nir.Linear(weight=weight)
        else:
            node = nir.Affine(weight=weight, bias=_np(module.bias))
        return b.add("linear", node, frontier), (weight.shape[0],)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        cls = nir.Conv1d if isinstance(module, nn.Conv1d) else nir.Conv2d
        if isinstance(module.padding, str):
            raise ValueError(f"layer {label}: string padding {module.padding!r} is not supported; "
                             f"give the padding in elements")
        weight = _np(module.weight)
        bias = _np(module.bias) if module.bias is not None else np.zeros(weight.shape[0])
        node = cls(input_shape=np.array(shape[1:]), weight=weight,
                   stride=np.array(module.stride), padding=np.array(module.padding),
                   dilation=np.array(module.dilation), groups=module.groups, bias=bias)
        with torch.no_grad():
            out = module(torch.zeros((1, *shape), dtype=module.weight.dtype))
        return b.add("conv", node, frontier), tuple(out.shape[1:])
    if isinstance(module, nn.AvgPool2d):
        k, s, p = (np.broadcast_to(np.atleast_1d(np.asarray(v)), (2,)).astype(int)
                   for v in (module.kernel_size, module.stride or module.kernel_size,
                             module.padding))
        cls = nir.SumPool2d if module.divisor_override == 1 else nir.AvgPool2d
        with torch.no_grad():
            out = module(torch.zeros((1, *shape)))
        return b.add("pool", cls(kernel_size=k, stride=s, padding=p), frontier), \
            tuple(out.shape[1:])
    if isinstance(module, nn.Flatten):
        nd = len(shape)
        start = (module.start_dim - 1) if module.start_dim > 0 else module.start_dim % (nd + 1) - 1
        end = (module.end_dim - 1) if module.end_dim > 0 else module.end_dim % (nd + 1) - 1
        node = nir.Flatten(start_dim=start, end_dim=end, input_type={"input": np.array(shape)})
        new = (*shape[:start], int(np.prod(shape[start:end + 1])), *shape[end + 1:])
        return b.add("flatten", node, frontier), new
    if isinstance(module, LIF):
        beta = _np(module._decay())
        gain = 1.0 - beta if module.decay_input else np.ones_like(beta)
        adaptation = None
        if isinstance(module, ALIF):
            adaptation = (float(module.decay_adapt), float(module.threshold_increment))
        node = b.neuron(beta, _np(module.threshold), gain, module.reset, shape, label, adaptation)
        return b.add("lif", node, frontier), shape
    if isinstance(module, DelayedLinear):
        if float(module.sigma) != 0.0:
            raise ValueError(f"layer {label}: round the delays first (round_delays_()); NIR "
                             f"delays are whole steps here")
        weight = _np(module.weight)
        delays = module.delay_steps().cpu().numpy()
        bias = None if module.bias is None else _np(module.bias)
        return b.delayed(weight, delays, bias, frontier), (weight.shape[0],)
    raise TypeError(f"layer {label} is a {type(module).__name__}, which snn.nir cannot export; "
                    f"supported: nn.Linear, nn.Conv1d, nn.Conv2d, nn.AvgPool2d, nn.Flatten, "
                    f"nn.Identity, nn.Dropout, snn.layers.LIF/ALIF/IF, "
                    f"snn.layers.DelayedLinear, snn.layers.DelayNetwork, snn.nir.NIRModule")


def _delay_network(b: _Builder, model: DelayNetwork) -> nir.NIRGraph:
    c = model.config
    if model.training:
        raise ValueError("model must be in evaluation mode (model.eval()): batch norm folds "
                         "into the weights with its running statistics")
    b.nodes["input"] = nir.Input(input_type={"input": np.array([c.n_inputs])})
    frontier = ["input"]
    n_layers = len(model.projections)
    for depth, proj in enumerate(model.projections):
        if float(proj.sigma) != 0.0:
            raise ValueError("model delays must be rounded first (model.round_delays_())")
        last = depth == n_layers - 1
        norm = nn.Identity() if last else model.norms[depth]
        scale, shift = _affine(norm, proj.bias, proj.out_features)
        weight = _np(proj.weight) * scale[:, None]
        frontier = b.delayed(weight, proj.delay_steps().cpu().numpy(), shift, frontier)
        shape = (proj.out_features,)
        if last:
            beta = np.full(shape, c.beta)
            meta = {"dt": b.dt, "discretisation": b.discretisation, "layer_beta": beta,
                    "layer_gain": np.ones(shape), "padding_steps": c.padding_steps}
            node = nir.LI(tau=time_constant(beta, b.dt, b.discretisation),
                          r=1.0 / (1.0 - beta), v_leak=np.zeros(shape),
                          metadata={NAMESPACE: meta})
            frontier = b.add("readout", node, frontier)
        else:
            lif = model.neurons[depth]
            node = b.neuron(_np(lif._decay()), _np(lif.threshold), np.ones(shape), lif.reset,
                            shape, f"neurons[{depth}]", None)
            frontier = b.add("lif", node, frontier)
    b.nodes["output"] = nir.Output(output_type={"output": np.array([c.n_outputs])})
    b.edges += [(f, "output") for f in frontier]
    return nir.NIRGraph(nodes=b.nodes, edges=b.edges, type_check=False, metadata={NAMESPACE: {
        "dt": b.dt, "discretisation": b.discretisation, "origin": "DelayNetwork",
        "integrator_input": "per_step",
        "padding_steps": c.padding_steps}})


def module_to_graph(model: nn.Module, dt: float, discretisation: str, strict: bool,
                    input_shape: tuple[int, ...] | None) -> nir.NIRGraph:
    """A torch model as a NIR graph (see the module docstring).

    Args:
        model: the model.
        dt: time step (s).
        discretisation: one of :data:`~snn.nir.DISCRETISATIONS`.
        strict: refuse what would otherwise be a warning.
        input_shape: the feature shape of one step's input (needed for ``nn.Sequential``
            models and single layers; taken from the model otherwise).

    Returns:
        The graph.
    """
    b = _Builder(dt, discretisation, strict)
    if isinstance(model, DelayNetwork):
        return _delay_network(b, model)
    if input_shape is None:
        first = model[0] if isinstance(model, nn.Sequential) and len(model) else model
        if isinstance(first, (nn.Linear, DelayedLinear)):
            input_shape = (first.in_features,)
        else:
            raise ValueError("input_shape must be given: the feature shape of one step's input "
                             "(e.g. (2, 34, 34)); it cannot be read from the first layer")
    shape = tuple(int(s) for s in input_shape)
    b.nodes["input"] = nir.Input(input_type={"input": np.array(shape)})
    frontier = ["input"]
    layers = list(model) if isinstance(model, nn.Sequential) else [model]
    for index, layer in enumerate(layers):
        frontier, shape = _layer(b, layer, shape, frontier, f"[{index}] ({type(layer).__name__})")
    b.nodes["output"] = nir.Output(output_type={"output": np.array(shape)})
    b.edges += [(f, "output") for f in frontier]
    return nir.NIRGraph(nodes=b.nodes, edges=b.edges, type_check=False, metadata={NAMESPACE: {
        "dt": dt, "discretisation": discretisation, "origin": "torch",
        "integrator_input": "per_step"}})
