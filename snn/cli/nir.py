"""``snn nir info FILE`` and ``snn nir convert MODEL OUT``: look into a NIR graph, and export
a saved snnsim model as one.

The library (:mod:`snn.nir`, which needs torch and ``nir``) loads only when a command runs.
Bad input (a missing file, an unsupported node type, shapes that do not fit along an edge,
``dt <= 0``) ends with a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run_info", "run_convert", "describe"]


def _shape(shape) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _summary(node) -> str:
    """A few words on a node's parameters (sizes and distinct values)."""
    parts = []
    for key, value in node.to_dict().items():
        if key in ("type", "metadata", "input_type", "output_type", "nodes", "edges"):
            continue
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            continue
        if arr.size > 4:
            distinct = np.unique(arr)
            text = (f"{distinct[0]:g}" if distinct.size == 1
                    else f"{_shape(arr.shape)} in [{arr.min():.3g}, {arr.max():.3g}]")
        else:
            text = np.array2string(arr.reshape(-1), precision=4, separator=", ") \
                if arr.ndim else f"{arr.item():g}"
        parts.append(f"{key}={text}")
    return " ".join(parts)


def describe(graph) -> list[str]:
    """The lines ``snn nir info`` prints for a graph: nodes (type, input and output shapes,
    parameters), edges (recurrent ones marked) and ``snnsim`` metadata.

    Args:
        graph: a ``nir.NIRGraph``.

    Returns:
        The lines.
    """
    from ..nir._graph import flatten, node_type

    flat = flatten(graph)
    lines = [f"{len(flat.nodes)} nodes, {len(flat.forward) + len(flat.recurrent)} edges "
             f"({len(flat.recurrent)} recurrent)"]
    if flat.metadata:
        lines.append("snnsim metadata: " + ", ".join(f"{k}={v}" for k, v in
                                                      sorted(flat.metadata.items())))
    width = max(len(n) for n in flat.nodes)
    lines.append("nodes:")
    for name in flat.order:
        node = flat.nodes[name]
        preds = flat.predecessors(name) or flat.predecessors(name, recurrent=True)
        shape_in = _shape(flat.shapes[preds[0]]) if preds else _shape(flat.shapes[name])
        lines.append(f"  {name:<{width}}  {node_type(node):<9} {shape_in} -> "
                     f"{_shape(flat.shapes[name])}  {_summary(node)}".rstrip())
    lines.append("edges:")
    rank = {name: i for i, name in enumerate(flat.order)}
    for a, b in sorted(flat.forward, key=lambda e: (rank[e[0]], rank[e[1]])):
        lines.append(f"  {a} -> {b}")
    for a, b in flat.recurrent:
        lines.append(f"  {a} -> {b}  (recurrent: carries the previous step)")
    return lines


def run_info(args: argparse.Namespace) -> int:
    """``snn nir info``: print a graph's nodes, shapes and edges."""
    from ..nir._graph import read_graph

    try:
        graph = read_graph(Path(args.file))
        lines = describe(graph)
    except (FileNotFoundError, ValueError, TypeError) as err:
        print(f"snn nir info: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.file}:")
    print("\n".join(lines))
    return 0


def _load_model(path: Path):
    """A saved model: ``torch.save(obj)`` of a model of snn.layers or of an engine
    ``snn.Network`` (its ``dt`` the default), or the ``checkpoint.pt`` that ``snn train
    delays`` writes (delays rounded for export)."""
    import torch

    from ..layers import DelayNetwork, DelayNetworkConfig
    from ..network import Network

    if not path.is_file():
        raise FileNotFoundError(f"MODEL: no file at {str(path)!r}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(saved, Network):
        return saved, saved.dt
    if isinstance(saved, torch.nn.Module):
        return saved, None
    if isinstance(saved, dict) and "model_config" in saved and "model" in saved:
        config = DelayNetworkConfig(**saved["model_config"])
        model = DelayNetwork(config, rng=0)
        model.load_state_dict(saved["model"])
        model.round_delays_()
        return model.eval(), config.dt
    raise ValueError(f"MODEL: {str(path)!r} holds a {type(saved).__name__}; expected a torch "
                     f"model or an snn.Network saved with torch.save, or a checkpoint.pt of "
                     f"'snn train delays'")


def run_convert(args: argparse.Namespace) -> int:
    """``snn nir convert``: export a saved model to a ``.nir`` file."""
    import warnings

    from .. import nir as snn_nir

    try:
        model, config_dt = _load_model(Path(args.model))
        dt = args.dt if args.dt is not None else config_dt
        if dt is None:
            raise ValueError("--dt is required for this model (its time step, in seconds)")
        shape = None
        if args.input_shape:
            shape = tuple(int(s) for s in args.input_shape.split(","))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", snn_nir.NIRExportWarning)
            graph = snn_nir.save(model, Path(args.out), dt=dt, discretisation=args.discretisation,
                                 strict=args.strict, input_shape=shape)
    except (FileNotFoundError, ValueError, TypeError) as err:
        print(f"snn nir convert: error: {err}", file=sys.stderr)
        return 2
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(f"wrote {args.out}: {len(graph.nodes)} nodes, {len(graph.edges)} edges, dt={dt:g} s, "
          f"{args.discretisation}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``snn nir`` (``info`` and ``convert``) under ``sub``.

    Args:
        sub: the sub-command table of ``snn``.

    Returns:
        The ``nir`` parser.
    """
    parser = sub.add_parser("nir", help="NIR graphs: inspect, and export saved models")
    commands = parser.add_subparsers(dest="what", required=True)
    info = commands.add_parser("info", help="print a NIR graph's nodes, shapes and edges")
    info.add_argument("file", help="a .nir file")
    info.set_defaults(func=run_info)
    convert = commands.add_parser(
        "convert", help="export a saved model (torch.save of an snn.layers model or an "
                        "snn.Network, or a checkpoint.pt of 'snn train delays') to a .nir file")
    convert.add_argument("model", help="the saved model")
    convert.add_argument("out", help="the .nir file to write")
    convert.add_argument("--dt", type=float, default=None,
                         help="time step (s, > 0); default: the network's or the checkpoint's")
    convert.add_argument("--discretisation", default="euler",
                         help="euler (default), exponential or exact: the reading of the time "
                              "constants")
    convert.add_argument("--input-shape", default=None,
                         help="feature shape of one step's input, e.g. 2,34,34 (for models "
                              "whose first layer does not fix it)")
    convert.add_argument("--strict", action="store_true",
                         help="refuse what NIR cannot express instead of warning")
    convert.set_defaults(func=run_convert)
    return parser
