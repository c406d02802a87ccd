"""Export of trained layers to the simulation engine.

:func:`to_network` turns a trained :class:`~snn.layers.DelayNetwork` (delays rounded) into an
engine :class:`snn.Network` with integer per-synapse delays and delta synapses;
:func:`run_exported` simulates one sample with it and aligns the result with the model's
steps.  Each projection costs the engine one step of latency (a spike reaches its target's
membrane on the step after it is emitted), so layer ``l`` (1 = first hidden) is ``l`` steps
late; the functions undo that shift.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..engine import run
from ..models import DeltaSynapses, LIFParams
from ..network import Network
from .delay_network import DelayNetwork

__all__ = ["to_network", "run_exported"]


def _affine(norm: nn.Module, bias: torch.Tensor | None, size: int,
            ) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron scale and shift equal to (projection bias, then) batch norm in eval mode."""
    b = np.zeros(size) if bias is None else bias.detach().double().cpu().numpy()
    if isinstance(norm, nn.BatchNorm1d):
        mean = norm.running_mean.detach().double().cpu().numpy()
        var = norm.running_var.detach().double().cpu().numpy()
        gamma = (norm.weight.detach().double().cpu().numpy() if norm.affine
                 else np.ones(size))
        beta = norm.bias.detach().double().cpu().numpy() if norm.affine else np.zeros(size)
        scale = gamma / np.sqrt(var + norm.eps)
        return scale, beta + scale * (b - mean)
    return np.ones(size), b


def to_network(model: DelayNetwork, inputs: np.ndarray) -> Network:
    """An engine :class:`snn.Network` equal to ``model`` (evaluation mode, rounded delays)
    fed with one sample.

    Populations ``hidden0``, ``hidden1``, ... and ``output`` are LIF neurons with delta
    synapses; projections are dense with integer per-synapse delays; batch norm and bias
    fold into the weights and into one always-firing ``bias<l>`` source per layer.  Every
    population's spikes and the readout's membrane ``v`` are monitored.  The network's
    ``dt`` (s) is ``model.config.dt``; membrane quantities keep the model's units.

    Args:
        model: a trained :class:`~snn.layers.DelayNetwork` whose delays were rounded
            (:meth:`~snn.layers.DelayNetwork.round_delays_`).
        inputs: spike counts per step (non-negative whole numbers).

    Returns:
        The network, ready for :func:`snn.run`.

    Shapes:
        ``inputs`` ``[T, n_inputs]``.
    """
    if not isinstance(model, DelayNetwork):
        raise TypeError(f"model must be a DelayNetwork, got {type(model).__name__}")
    for proj in model.projections:
        if float(proj.sigma) != 0.0:
            raise ValueError("model delays must be rounded first (model.round_delays_()): "
                             "the engine runs whole-step delays")
    c = model.config
    arr = np.asarray(inputs)
    if arr.ndim != 2 or arr.shape[1] != c.n_inputs:
        raise ValueError(f"inputs must have shape [T, {c.n_inputs}], got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError("inputs must hold non-negative whole spike counts")
    n_steps = arr.shape[0] + c.padding_steps
    dt = c.dt
    net = Network(dt=dt, max_delay=max(c.max_delay_steps, 1) * dt)
    steps, channels = np.nonzero(arr)
    repeats = arr[steps, channels].astype(np.int64)
    net.add_spike_source("input", c.n_inputs, np.repeat(channels, repeats),
                         np.repeat(steps, repeats) * dt)
    threshold_never = 1e30
    pre = "input"
    n_layers = len(model.projections)
    for depth, proj in enumerate(model.projections, start=1):
        last = depth == n_layers
        name = "output" if last else f"hidden{depth - 1}"
        size = proj.out_features
        if last:
            scale, shift = _affine(nn.Identity(), proj.bias, size)
        else:
            scale, shift = _affine(model.norms[depth - 1], proj.bias, size)
        params = LIFParams(tau_m=-dt / math.log(c.beta), v_rest=0.0,
                               v_threshold=threshold_never if last else c.threshold,
                               v_reset=0.0, r_m=1.0, tau_refractory=0.0, reset="value",
                               synapses=DeltaSynapses())
        net.add_population(name, size, params, v_init=0.0)
        weight = proj.weight.detach().double().cpu().numpy() * scale[:, None]  # [out, in]
        delays = proj.delay_steps().cpu().numpy()
        net.connect(pre, name, weight.T.copy(), delays=delays.T * dt)
        if np.any(shift != 0.0):
            # Fires on the step before each of the layer's model steps reaches it.
            source = f"bias{depth - 1}"
            net.add_spike_source(source, 1, np.zeros(n_steps, dtype=np.int64),
                                 (np.arange(n_steps) + depth - 1) * dt)
            net.connect(source, name, shift[None, :])
        pre = name
    net.monitor_spikes()
    net.monitor_state("output", "v")
    return net


def run_exported(model: DelayNetwork, inputs: np.ndarray, backend: str = "numba") -> dict:
    """Simulate ``model`` on the engine for one sample (:func:`to_network`, then
    :func:`snn.run`), aligned with the model's steps.

    Args:
        model: as for :func:`to_network`.
        inputs: spike counts per step.
        backend: the engine backend (a name in :data:`snn.BACKENDS`).

    Returns:
        ``{"hidden": [spikes per hidden layer], "readout": readout membrane}``, directly
        comparable with ``model(x, return_hidden=True)`` for that sample.

    Shapes:
        ``inputs`` ``[T, n_inputs]`` -> each hidden entry ``[T', n_hidden]`` and
        ``readout`` ``[T', n_outputs]``, with ``T' = T + padding_steps``.
    """
    net = to_network(model, inputs)
    c = model.config
    n_steps = np.asarray(inputs).shape[0] + c.padding_steps
    depth = len(model.projections)
    result = run(net, (n_steps + depth + 1) * c.dt, backend=backend)
    hidden = []
    for layer in range(depth - 1):
        trains = result.spikes[f"hidden{layer}"]
        step = np.rint(trains.times / c.dt).astype(np.int64) - (layer + 1)
        dense = np.zeros((n_steps, c.n_hidden))
        keep = (step >= 0) & (step < n_steps)
        dense[step[keep], trains.indices[keep]] = 1.0
        hidden.append(dense)
    # Sample k is the state at the start of step k, i.e. after step k - 1.
    readout = result.traces["output"]["v"][depth + 1:depth + 1 + n_steps]
    return {"hidden": hidden, "readout": readout}
