"""Exchange of spiking networks through NIR, the Neuromorphic Intermediate Representation.

NIR (``pip install nir``) is the graph format that snnTorch, Norse, SpikingJelly, Sinabs,
Rockpool, Lava and the chips behind them share.  Its neurons are differential equations and
a graph stores no time step, so every function here takes ``dt`` (s) explicitly, and a
``discretisation``: ``"euler"`` (forward Euler, ``beta = 1 - dt / tau``, what the NIR paper's
platforms run; the default), ``"exponential"`` (``beta = exp(-dt / tau)``, the closed-form
solution for inputs held over a step, reset at the step's end) or ``"exact"`` (torch target
only: as ``"exponential"``, with the reset at the threshold crossing inside the step).

* :func:`to_nir` / :func:`save`: an engine :class:`snn.Network`, a torch model made of
  :mod:`snn.layers` (or a :class:`NIRModule`) as a ``nir.NIRGraph`` / a ``.nir`` file.
* :func:`from_nir` / :func:`load`: a graph as an engine network (``target="network"``) or a
  time-major torch module (``target="torch"``); :func:`simulate` runs a graph on the engine
  and returns every node's output on the graph's own time axis.

What NIR cannot say (reset by subtraction, refractory periods, threshold adaptation, Poisson
inputs) is written under the ``snnsim`` metadata namespace beside the nearest standard node,
with a :class:`NIRExportWarning` naming what other tools will ignore (``strict=True`` makes it
an error); what has no nearest node (conductance synapses) is refused.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import nir
import numpy as np
from torch import nn

from ..network import Network
from ..validation import check_choice, check_positive
from ._discrete import DISCRETISATIONS, INTEGRATOR_INPUTS
from ._engine import NIRExportWarning, build_network, lossy, network_to_graph, simulate_import
from ._graph import SUPPORTED_NODES, flatten, metadata, node_type, read_graph
from ._torch import NIRModule, build_module
from ._torch_export import module_to_graph

__all__ = [
    "DISCRETISATIONS",
    "INTEGRATOR_INPUTS",
    "NIRExportWarning",
    "NIRModule",
    "SUPPORTED_NODES",
    "TARGETS",
    "from_nir",
    "load",
    "save",
    "simulate",
    "to_nir",
]

#: What :func:`from_nir` can build: an engine network or a torch module.
TARGETS = ("network", "torch")


def _check_common(dt: float, discretisation: str | None) -> float:
    dt = check_positive("dt", dt, unit="s")
    if discretisation is not None:
        check_choice("discretisation", discretisation, DISCRETISATIONS)
    return dt


def _reading(flat, discretisation: str | None, integrator_input: str | None) -> tuple[str, str]:
    """The discretisation and integrator reading: the arguments, else the graph's
    ``snnsim`` metadata, else the defaults."""
    method = discretisation or flat.metadata.get("discretisation", "euler")
    check_choice("discretisation", method, DISCRETISATIONS)
    reading = integrator_input or flat.metadata.get("integrator_input", "per_step")
    check_choice("integrator_input", reading, INTEGRATOR_INPUTS)
    return method, reading


def _nested_node(graph: nir.NIRGraph, name: str) -> Any:
    """The node a flattened name (``outer.inner``) refers to inside a nested graph."""
    if name in graph.nodes:
        return graph.nodes[name]
    for key, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph) and name.startswith(key + "."):
            found = _nested_node(node, name[len(key) + 1:])
            if found is not None:
                return found
    return None


def _module_graph(module: NIRModule) -> nir.NIRGraph:
    """The graph an imported module came from, nesting kept, with the module's current
    linear weights (they may have been trained since)."""
    graph = copy.deepcopy(module.graph)
    for name in module.flat.nodes:
        key = name.replace(".", ":")
        layer = getattr(module.nodes[key], "layer", None) if key in module.nodes else None
        node = _nested_node(graph, name)
        if node_type(node) in ("Affine", "Linear") and isinstance(layer, nn.Linear):
            node.weight = layer.weight.detach().double().cpu().numpy().copy()
            if node_type(node) == "Affine":
                node.bias = layer.bias.detach().double().cpu().numpy().copy()
    return graph


def to_nir(obj: Any, *, dt: float, discretisation: str = "euler", strict: bool = False,
           input_shape: tuple[int, ...] | None = None) -> nir.NIRGraph:
    """Export a network or model as a NIR graph.

    Args:
        obj: an engine :class:`snn.Network`; a torch model of :mod:`snn.layers` (an
            ``nn.Sequential`` of ``nn.Linear``, ``nn.Conv1d/2d``, ``nn.AvgPool2d``,
            ``nn.Flatten``, ``LIF``/``ALIF``/``IF``, ``DelayedLinear``; a ``DelayNetwork``);
            or a :class:`NIRModule`.
        dt: the time step the model runs with (s, > 0); for a network, its ``dt``.
        discretisation: the reading of NIR's time constants that reproduces the model's
            decays per step: ``"euler"`` (default), ``"exponential"`` or ``"exact"`` (the
            last two write the same time constants).
        strict: raise ``ValueError`` where a :class:`NIRExportWarning` would be issued.
        input_shape: feature shape of one step's input, for torch models whose first layer
            does not fix it (e.g. ``(2, 34, 34)`` before a convolution).

    Returns:
        The graph; ``dt``, the discretisation and the reset modes are in its ``snnsim``
        metadata.
    """
    dt = _check_common(dt, discretisation)
    if isinstance(obj, Network):
        return network_to_graph(obj, dt, discretisation, bool(strict))
    if isinstance(obj, NIRModule):
        return _module_graph(obj)
    if isinstance(obj, nn.Module):
        return module_to_graph(obj, dt, discretisation, bool(strict), input_shape)
    raise TypeError(f"obj must be an snn.Network, a torch model of snn.layers or an "
                    f"snn.nir.NIRModule, got {type(obj).__name__}")


def from_nir(graph_or_path: Any, *, dt: float, target: str = "network",
             discretisation: str | None = None, integrator_input: str | None = None,
             strict: bool = False) -> Network | NIRModule:
    """Import a NIR graph.

    Args:
        graph_or_path: a ``nir.NIRGraph`` or the path of a ``.nir`` file.
        dt: the time step to run the graph with (s, > 0).
        target: ``"network"`` (an engine :class:`snn.Network`: one spike source per ``Input``
            node, named after it and without spikes, one population per neuron node) or
            ``"torch"`` (a :class:`NIRModule`, ``[T, B, ...]`` in and out).
        discretisation: ``"euler"``, ``"exponential"`` or ``"exact"`` (torch target only;
            see the module docstring); None: the one the graph's ``snnsim`` metadata names,
            else ``"euler"``.
        integrator_input: how ``IF`` and ``I`` nodes read ``r``: ``"per_step"`` (a spike of
            weight ``w`` adds ``r * w``: Sinabs, snnTorch, the NIR paper's CNN) or
            ``"continuous"`` (adds ``r * w * dt``, the NIR equation: SpikingJelly); None: the
            graph's ``snnsim`` metadata, else ``"per_step"``.
        strict: raise ``ValueError`` where the target must ignore something the graph holds.

    Returns:
        The network or the module.  Engine populations run behind the graph's time by one
        step per neuron layer on the way from the inputs; :func:`simulate` undoes that.
    """
    dt = _check_common(dt, discretisation)
    check_choice("target", target, TARGETS)
    graph = read_graph(graph_or_path)
    flat = flatten(graph)
    method, reading = _reading(flat, discretisation, integrator_input)
    if target == "network":
        return build_network(flat, dt, method, reading).network
    for name, node in flat.nodes.items():
        if metadata(node).get("tau_refractory", 0.0):
            lossy(f"node {name!r} holds a refractory period (snnsim metadata) that the torch "
                  f"layers do not model; it is ignored", bool(strict))
    return build_module(flat, dt, method, graph, reading)


def simulate(graph_or_path: Any, inputs: np.ndarray | dict[str, np.ndarray], *, dt: float,
             discretisation: str | None = None, integrator_input: str | None = None,
             backend: str = "numba", membrane: bool = False) -> dict[str, np.ndarray]:
    """Run a graph on the engine for one sample and return every node's output in the
    graph's time (the engine's per-layer latency removed).

    Args:
        graph_or_path: a ``nir.NIRGraph`` or the path of a ``.nir`` file.
        inputs: spike counts per step, ``[T, *input_shape]`` (one ``Input`` node) or a dict
            by ``Input`` node name.
        dt: time step (s, > 0).
        discretisation: as for :func:`from_nir`.
        integrator_input: as for :func:`from_nir`.
        backend: the engine backend (a name in :data:`snn.BACKENDS`).
        membrane: also return the membrane potential of every neuron node after each step,
            under ``"<node>/v"``.

    Returns:
        By node name (each ``Input``, neuron, ``Threshold`` and ``Output`` node): spikes per
        step (spiking nodes) or membrane potentials after each step (``LI``, ``CubaLI``,
        ``I``), ``[T, *shape]`` float64, equal to what :func:`from_nir`'s torch module
        computes.
    """
    dt = _check_common(dt, discretisation)
    flat = flatten(read_graph(graph_or_path))
    method, reading = _reading(flat, discretisation, integrator_input)
    imported = build_network(flat, dt, method, reading)
    if not isinstance(inputs, dict):
        if len(flat.inputs) != 1:
            raise ValueError(f"inputs must be a dict by Input node name for a graph with "
                             f"inputs {flat.inputs}")
        inputs = {flat.inputs[0]: inputs}
    if set(inputs) != set(flat.inputs):
        raise ValueError(f"inputs must have the keys {flat.inputs}, got {sorted(inputs)}")
    return simulate_import(imported, inputs, backend, bool(membrane))


def save(obj: Any, path: str | os.PathLike, *, dt: float, discretisation: str = "euler",
         strict: bool = False, input_shape: tuple[int, ...] | None = None) -> nir.NIRGraph:
    """Write a network, model or graph to a ``.nir`` file (HDF5).

    Args:
        obj: a ``nir.NIRGraph``, or anything :func:`to_nir` exports.
        path: the file to write.
        dt: as for :func:`to_nir` (s, > 0).
        discretisation: as for :func:`to_nir`.
        strict: as for :func:`to_nir`.
        input_shape: as for :func:`to_nir`.

    Returns:
        The graph written.
    """
    dt = _check_common(dt, discretisation)
    graph = obj if isinstance(obj, nir.NIRGraph) else to_nir(
        obj, dt=dt, discretisation=discretisation, strict=strict, input_shape=input_shape)
    nir.write(os.fspath(path), graph)
    return graph


def load(path: str | os.PathLike, *, dt: float, target: str = "network",
         discretisation: str | None = None, integrator_input: str | None = None,
         strict: bool = False) -> Network | NIRModule:
    """Read a ``.nir`` file into an engine network or a torch module (:func:`from_nir`).

    Args:
        path: the file.
        dt: time step (s, > 0).
        target: ``"network"`` or ``"torch"``.
        discretisation: as for :func:`from_nir`.
        integrator_input: as for :func:`from_nir`.
        strict: as for :func:`from_nir`.

    Returns:
        The network or the module.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return from_nir(path, dt=dt, target=target, discretisation=discretisation,
                    integrator_input=integrator_input, strict=strict)
