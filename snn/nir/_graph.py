"""Reading, flattening and checking NIR graphs before they are lowered to a target.

A graph is flattened (nested ``NIRGraph`` nodes become ``outer.inner`` names, their ``Input``
and ``Output`` nodes pass-throughs), its node types checked against :data:`SUPPORTED_NODES`,
its shapes propagated from the ``Input`` nodes along every edge, and its edges split into
forward edges (a topological order) and recurrent edges (those closing a cycle: they carry
the previous step's value).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import nir
import numpy as np

from ._discrete import NEURON_TYPES

__all__ = ["SUPPORTED_NODES", "FlatGraph", "flatten", "read_graph", "metadata", "node_type",
           "delay_steps"]

SUPPORTED_NODES = (
    "Input", "Output", "Affine", "Linear", "Scale", "Conv1d", "Conv2d", "SumPool2d",
    "AvgPool2d", "Flatten", "Threshold", "LIF", "CubaLIF", "LI", "CubaLI", "IF", "I", "Delay",
    "NIRGraph",
)
NAMESPACE = "snnsim"


def node_type(node: Any) -> str:
    """The NIR type name of a node (``"LIF"``, ``"Affine"``, ...)."""
    return type(node).__name__


def metadata(node: Any) -> dict:
    """The ``snnsim`` namespace of a node's (or graph's) metadata (empty if absent), with
    strings decoded and 0-d arrays as Python scalars."""
    found = (getattr(node, "metadata", None) or {}).get(NAMESPACE, {})
    out = {}
    for key, value in (found.items() if isinstance(found, dict) else ()):
        if isinstance(value, bytes):
            value = value.decode("utf8")
        elif isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def read_graph(graph_or_path: Any) -> nir.NIRGraph:
    """A ``nir.NIRGraph`` from a graph or the path of a ``.nir`` file.

    Args:
        graph_or_path: a ``nir.NIRGraph``, or a ``str`` / ``os.PathLike`` naming a file.

    Returns:
        The graph.
    """
    if isinstance(graph_or_path, nir.NIRGraph):
        return graph_or_path
    if isinstance(graph_or_path, (str, os.PathLike)):
        path = os.fspath(graph_or_path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"graph_or_path: no NIR file at {path!r}")
        try:
            return nir.read(path, type_check=False)
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f"graph_or_path: {path!r} is not a readable NIR file ({err})") from err
    raise TypeError(f"graph_or_path must be a nir.NIRGraph or the path of a .nir file, got "
                    f"{type(graph_or_path).__name__}")


@dataclass
class FlatGraph:
    """A checked, flattened graph: ``nodes`` by name (no nested graphs, no pass-throughs),
    ``shapes`` the output shape of every node, ``order`` a topological order of the forward
    edges, ``forward``/``recurrent`` the two kinds of edges, ``inputs``/``outputs`` the names
    of the ``Input``/``Output`` nodes, ``metadata`` the graph's ``snnsim`` namespace.

    A recurrent edge carries the previous step's value, so a cycle waits at least one step.
    ``shortened`` names the ``Delay`` nodes whose every outgoing edge is recurrent: they
    already wait, and delay one step less (never below 0), so that the cycle through a
    ``Delay`` of ``d >= 1`` steps takes ``d`` steps, not ``d + 1``."""

    nodes: dict[str, Any]
    shapes: dict[str, tuple[int, ...]]
    order: list[str]
    forward: list[tuple[str, str]]
    recurrent: list[tuple[str, str]]
    inputs: list[str]
    outputs: list[str]
    metadata: dict
    shortened: set[str]

    def predecessors(self, name: str, recurrent: bool = False) -> list[str]:
        """Sources of the forward (or, with ``recurrent``, the recurrent) edges into ``name``."""
        edges = self.recurrent if recurrent else self.forward
        return [a for a, b in edges if b == name]


class _PassThrough:
    """The Input/Output node of a nested graph, removed after flattening."""


def _unsupported(name: str, kind: str) -> ValueError:
    return ValueError(f"node {name!r} has type {kind}, which snn.nir does not support; "
                      f"supported node types: {', '.join(SUPPORTED_NODES)}")


def _flatten_into(graph: nir.NIRGraph, prefix: str, nodes: dict, edges: list,
                  top: bool) -> None:
    for name, node in graph.nodes.items():
        full = prefix + name
        kind = node_type(node)
        if kind not in SUPPORTED_NODES:
            raise _unsupported(full, kind)
        if kind == "NIRGraph":
            _flatten_into(node, full + ".", nodes, edges, top=False)
        elif not top and kind in ("Input", "Output"):
            nodes[full] = _PassThrough()
        else:
            nodes[full] = node

    def resolve(endpoint: str, as_source: bool) -> str:
        full = prefix + endpoint
        sub = graph.nodes.get(endpoint)
        if sub is not None and node_type(sub) == "NIRGraph":
            kinds = [n for n, v in sub.nodes.items()
                     if node_type(v) == ("Output" if as_source else "Input")]
            if len(kinds) != 1:
                raise ValueError(f"edge endpoint {full!r} is a nested graph with {len(kinds)} "
                                 f"{'Output' if as_source else 'Input'} nodes; name one of them")
            return f"{full}.{kinds[0]}"
        return full

    for a, b in graph.edges:
        edges.append((resolve(a, True), resolve(b, False)))


def _remove_pass_throughs(nodes: dict, edges: list) -> list:
    for name in [n for n, v in nodes.items() if isinstance(v, _PassThrough)]:
        preds = [a for a, b in edges if b == name]
        succs = [b for a, b in edges if a == name]
        edges = [(a, b) for a, b in edges if name not in (a, b)]
        edges += [(a, b) for a in preds for b in succs]
        del nodes[name]
    return edges


def _declared_input_shape(node: Any) -> tuple[int, ...] | None:
    """The input shape a node's parameters fix (None where they do not)."""
    kind = node_type(node)
    if kind in ("Affine", "Linear"):
        return (int(np.shape(node.weight)[1]),)
    if kind == "Scale":
        return tuple(np.shape(node.scale))
    if kind == "Threshold":
        return tuple(np.shape(node.threshold))
    if kind == "Delay":
        return tuple(np.shape(node.delay))
    if kind in NEURON_TYPES:
        return tuple(np.shape(node.r))
    if kind in ("Conv1d", "Conv2d"):
        channels = int(np.shape(node.weight)[1]) * int(np.asarray(node.groups))
        if node.input_shape is not None:
            return (channels, *(int(s) for s in np.atleast_1d(node.input_shape)))
        return None
    if kind == "Output":
        shape = node.output_type.get("output")
        return None if shape is None else tuple(int(s) for s in np.atleast_1d(shape))
    if kind == "Flatten":
        shape = (node.input_type or {}).get("input")
        if shape is None or np.size(shape) == 0:
            return None
        return tuple(int(s) for s in np.atleast_1d(shape))
    return None


def _pair(value: Any, n: int) -> tuple[int, ...]:
    arr = np.atleast_1d(np.asarray(value)).astype(int)
    return tuple(int(v) for v in (np.repeat(arr, n) if arr.size == 1 else arr))


def output_shape(name: str, node: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape of ``node`` for an input of ``shape`` (features only, no time or
    batch)."""
    kind = node_type(node)
    if kind in ("Affine", "Linear"):
        return (int(np.shape(node.weight)[0]),)
    if kind in ("Conv1d", "Conv2d"):
        nd = 1 if kind == "Conv1d" else 2
        if len(shape) != nd + 1:
            dims = "L" if nd == 1 else "H, W"
            raise ValueError(f"node {name!r} ({kind}) needs a [channels, {dims}] input, got "
                             f"shape {shape}")
        k = np.shape(node.weight)[2:]
        stride, pad, dil = _pair(node.stride, nd), _pair(node.padding, nd), _pair(node.dilation, nd)
        spatial = tuple((shape[1 + i] + 2 * pad[i] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1
                        for i in range(nd))
        return (int(np.shape(node.weight)[0]), *spatial)
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(shape) != 3:
            raise ValueError(f"node {name!r} ({kind}) needs a [channels, H, W] input, got {shape}")
        k, stride, pad = _pair(node.kernel_size, 2), _pair(node.stride, 2), _pair(node.padding, 2)
        return (shape[0], *((shape[1 + i] + 2 * pad[i] - k[i]) // stride[i] + 1 for i in range(2)))
    if kind == "Flatten":
        nd = len(shape)
        start = int(node.start_dim) % nd
        end = int(node.end_dim) % nd
        return (*shape[:start], int(np.prod(shape[start:end + 1])), *shape[end + 1:])
    return shape


def _order(names: list[str], edges: list[tuple[str, str]], inputs: list[str]
           ) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """Depth-first from the inputs: an edge into a node on the current path closes a cycle."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        succ[a].append(b)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    recurrent: list[tuple[str, str]] = []
    post: list[str] = []
    for root in inputs + sorted(n for n in names if n not in inputs):
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                post.append(node)
                stack.pop()
            elif state.get(nxt) == 1:
                recurrent.append((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    order = post[::-1]
    forward = [e for e in edges if e not in recurrent]
    return order, forward, recurrent


def flatten(graph: nir.NIRGraph) -> FlatGraph:
    """Flatten and check a graph (see the module docstring).

    Args:
        graph: the NIR graph.

    Returns:
        The :class:`FlatGraph`.
    """
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    _flatten_into(graph, "", nodes, edges, top=True)
    edges = _remove_pass_throughs(nodes, edges)
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise ValueError(f"edge ({a!r}, {b!r}) names {end!r}, which is not a node of the "
                                 f"graph")
    edges = list(dict.fromkeys(edges))
    inputs = [n for n, v in nodes.items() if node_type(v) == "Input"]
    outputs = [n for n, v in nodes.items() if node_type(v) == "Output"]
    if not inputs:
        raise ValueError("the graph has no Input node")
    order, forward, recurrent = _order(list(nodes), edges, inputs)
    shapes: dict[str, tuple[int, ...]] = {}
    for name in inputs:
        shape = nodes[name].input_type.get("input")
        shapes[name] = tuple(int(s) for s in np.atleast_1d(shape))
    # Nodes whose shape is fixed by their parameters are known before their inputs are.
    for name in order:
        if name not in shapes and node_type(nodes[name]) in NEURON_TYPES + ("Delay", "Scale",
                                                                            "Threshold"):
            shapes[name] = _declared_input_shape(nodes[name])
    for name in order:
        node = nodes[name]
        incoming = [a for a, b in forward if b == name] + [a for a, b in recurrent if b == name]
        if node_type(node) == "Input":
            continue
        in_shapes = {a: shapes[a] for a in incoming if a in shapes}
        if not in_shapes:
            raise ValueError(f"node {name!r} receives no input from any Input node")
        declared = _declared_input_shape(node)
        first = next(iter(in_shapes.values()))
        for a, s in in_shapes.items():
            want = declared if declared is not None else first
            if int(np.prod(s)) != int(np.prod(want)) or (declared is None and s != want):
                raise ValueError(f"shape mismatch along edge ({a!r} -> {name!r}): {a!r} gives "
                                 f"{s} but {name!r} ({node_type(node)}) expects {want}")
        in_shape = declared if declared is not None else first
        shapes[name] = output_shape(name, node, in_shape)
    shortened = {n for n, v in nodes.items() if node_type(v) == "Delay"
                 and any(a == n for a, _ in recurrent) and not any(a == n for a, _ in forward)}
    return FlatGraph(nodes, shapes, order, forward, recurrent, inputs, outputs,
                     metadata(graph), shortened)


def delay_steps(flat: FlatGraph, name: str, dt: float) -> np.ndarray:
    """The delays of the ``Delay`` node ``name`` in whole steps of ``dt``, one step less for
    a node in ``flat.shortened`` (int64, the node's shape).

    Args:
        flat: the flattened graph.
        name: the name of a ``Delay`` node.
        dt: time step (s).

    Returns:
        The delays (steps).
    """
    node = flat.nodes[name]
    steps = np.asarray(node.delay, dtype=np.float64) / dt
    rounded = np.rint(steps)
    if np.any(rounded < 0) or np.any(np.abs(steps - rounded) > 1e-6):
        raise ValueError(f"node {name!r} (Delay) holds delays {np.unique(node.delay)[:4]} s that "
                         f"are not whole non-negative multiples of dt={dt:g} s")
    rounded = rounded.astype(np.int64)
    if name in flat.shortened:
        rounded = np.maximum(rounded - 1, 0)
    return rounded
