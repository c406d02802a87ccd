"""NeuroBench's metrics by NeuroBench's definitions, computed from arrays.

The NeuroBench harness measures a torch model through forward hooks on its layers.  The
engine's networks and the compiled echo state network run outside torch, so these
functions compute the same quantities from what a run records (weights, inputs of each
connection layer, outputs of each activation layer, membrane potentials), with the
definitions of ``neurobench`` 2.3.0:

* **footprint** (bytes): every stored parameter and buffer, ``numel * itemsize``, zeros
  included (dense storage).
* **connection sparsity**: zero weights / all weights over the connection layers (biases not
  counted), rounded to 4 decimals.
* **activation sparsity**: zero outputs / all outputs over the activation (spiking) layers,
  all steps and samples.
* **synaptic operations** per sample: for each connection layer and each step, *effective*
  operations count the pairs (nonzero input, nonzero weight) it multiplies; they are
  accumulate-only operations (``Effective_ACs``) when every input value is -1, 0 or 1 (a
  spike), else multiply-accumulates (``Effective_MACs``); *dense* operations count every
  pair, zeros included (``Dense``).  Biases are not operations.
* **membrane updates** per sample: for each spiking layer, every neuron at the first step,
  then each step at which a neuron's membrane potential changed.

Results use the harness's keys: ``Footprint``, ``ConnectionSparsity``,
``ActivationSparsity``, ``SynapticOperations`` (a dict with ``Effective_MACs``,
``Effective_ACs``, ``Dense``) and ``MembraneUpdates``.

``smape`` is NeuroBench's symmetric mean absolute percentage error (NaN counts as 200).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..validation import check_array, check_int

#: A numpy array or a torch tensor (or a nested list of numbers).
ArrayLike = Any

__all__ = ["LayerOperations", "footprint", "connection_sparsity", "activation_sparsity",
           "layer_operations", "sparse_layer_operations", "total_operations",
           "membrane_updates", "smape", "is_spiking"]


@dataclass(frozen=True)
class LayerOperations:
    """Synaptic operations of one connection layer over a run (counts, not per sample).

    Args:
        effective: (nonzero input, nonzero weight) pairs multiplied (>= 0).
        dense: all (input, weight) pairs (>= effective).
        spiking: every input value was -1, 0 or 1: the effective operations are
            accumulations (ACs), else multiply-accumulates (MACs).
    """

    effective: int
    dense: int
    spiking: bool

    def __post_init__(self) -> None:
        check_int("LayerOperations.effective", self.effective, minimum=0)
        check_int("LayerOperations.dense", self.dense, minimum=self.effective)
        if not isinstance(self.spiking, bool):
            raise TypeError(f"LayerOperations.spiking must be a bool, got "
                            f"{type(self.spiking).__name__}")


def footprint(arrays: Iterable[ArrayLike]) -> int:
    """Bytes that ``arrays`` take stored densely (``numel * itemsize``, zeros included).

    Args:
        arrays: numpy arrays or torch tensors (a model's parameters and buffers).

    Returns:
        The footprint (bytes).
    """
    total = 0
    for index, a in enumerate(arrays):
        if hasattr(a, "element_size"):  # torch tensor
            total += int(a.numel()) * int(a.element_size())
        elif isinstance(a, np.ndarray):
            total += int(a.nbytes)
        else:
            raise TypeError(f"arrays[{index}] must be a numpy array or a torch tensor, got "
                            f"{type(a).__name__}")
    return total


def connection_sparsity(weights: Iterable) -> float:
    """Zero weights / all weights, rounded to 4 decimals as NeuroBench rounds.

    Args:
        weights: the weight matrices of the connection layers (numpy arrays or torch
            tensors; biases are not passed), or ``(n_zero, n_total)`` pairs for weights
            stored sparsely.

    Returns:
        The sparsity in ``[0, 1]``.
    """
    zeros = total = 0
    for index, w in enumerate(weights):
        if isinstance(w, tuple):
            n_zero = check_int(f"weights[{index}][0]", w[0], minimum=0)
            n_total = check_int(f"weights[{index}][1]", w[1], minimum=n_zero)
        else:
            arr = _numpy(f"weights[{index}]", w)
            n_zero, n_total = int(arr.size - np.count_nonzero(arr)), int(arr.size)
        zeros += n_zero
        total += n_total
    if total == 0:
        raise ValueError("weights must hold at least one weight")
    return round(zeros / total, 4)


def activation_sparsity(activations: Iterable) -> float:
    """Zero outputs / all outputs of the activation layers (0.0 when there are none, as
    NeuroBench returns).

    Args:
        activations: each activation layer's outputs over the run (any shape, e.g. spikes
            ``[T, B, N]``; numpy arrays or torch tensors).

    Returns:
        The sparsity in ``[0, 1]``.
    """
    nonzero = total = 0
    for index, a in enumerate(activations):
        arr = _numpy(f"activations[{index}]", a)
        nonzero += int(np.count_nonzero(arr))
        total += int(arr.size)
    return 0.0 if total == 0 else (total - nonzero) / total


def is_spiking(inputs: ArrayLike) -> bool:
    """Whether every value of ``inputs`` is -1, 0 or 1 (NeuroBench's test for spikes)."""
    arr = _numpy("inputs", inputs)
    return bool(np.all((arr == 0) | (arr == 1) | (arr == -1)))


def layer_operations(weight: ArrayLike, inputs: ArrayLike,
                     delay_steps: ArrayLike | None = None) -> LayerOperations:
    """Operations of a dense connection layer ``y = W x`` over a run.

    Args:
        weight: ``[n_out, n_in]`` (numpy array or torch tensor).
        inputs: the layer's inputs ``[..., n_in]``, every leading index one application of
            the layer (e.g. ``[T, B, n_in]``).
        delay_steps: per-synapse integer delays ``[n_out, n_in]`` (steps) of a delayed
            layer ``y[t] = sum_j W_ij x[t - d_ij]`` whose inputs are ``[T, ..., n_in]``:
            an input only counts for the synapses whose delayed arrival falls within the
            run; None: no delays.

    Returns:
        The layer's :class:`LayerOperations` (not per sample).
    """
    w = _numpy("weight", weight)
    x = _numpy("inputs", inputs)
    if w.ndim != 2 or x.ndim < 1 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"weight must be [n_out, n_in] and inputs [..., n_in]; got weight "
                         f"{w.shape} and inputs {x.shape}")
    nonzero_w = (w != 0).astype(np.int64)
    active = (x != 0).reshape(-1, w.shape[1]).astype(np.int64)
    dense = int(active.shape[0]) * int(w.size)
    if delay_steps is None:
        effective = int((active.sum(0) * nonzero_w.sum(0)).sum())
    else:
        d = _numpy("delay_steps", delay_steps)
        if d.shape != w.shape or x.ndim < 2:
            raise ValueError(f"delay_steps must have the weight's shape {w.shape} and inputs "
                             f"must be [T, ..., n_in]; got {d.shape} and {x.shape}")
        n_steps = x.shape[0]
        per_step = (x != 0).reshape(n_steps, -1, w.shape[1]).sum(1)  # [T, n_in]
        # arrivals within the run: inputs at steps t < T - d_ij
        before = np.concatenate([np.zeros((1, w.shape[1]), np.int64),
                                 np.cumsum(per_step, 0)], 0)  # [T + 1, n_in]
        limit = np.clip(n_steps - d.astype(np.int64), 0, n_steps)
        counts = before[limit, np.arange(w.shape[1])[None, :]]  # [n_out, n_in]
        effective = int((counts * nonzero_w).sum())
    return LayerOperations(effective, dense, is_spiking(x))


def sparse_layer_operations(indptr: ArrayLike, weights: ArrayLike, pre_counts: ArrayLike,
                            n_post: int, n_steps: int,
                            spiking: bool = True) -> LayerOperations:
    """Operations of a projection stored as CSR over presynaptic neurons (the engine's
    layout) from the number of spikes of each presynaptic neuron.

    Args:
        indptr: int ``[n_pre + 1]``: the synapses of neuron ``i`` are
            ``indptr[i]:indptr[i + 1]``.
        weights: ``[n_synapses]`` in CSR order (zeros do no operation).
        pre_counts: spikes of each presynaptic neuron over the run ``[n_pre]`` (summed over
            samples when several were run).
        n_post: postsynaptic neurons (>= 1).
        n_steps: steps simulated, times samples (>= 1): the dense count is
            ``n_steps * n_pre * n_post``.
        spiking: the inputs are spikes (ACs); False for graded inputs (MACs).

    Returns:
        The projection's :class:`LayerOperations` (not per sample).
    """
    indptr = check_array("indptr", indptr, ndim=1, kind="iu", dtype=np.int64)
    w = check_array("weights", weights, ndim=1, kind="biuf")
    counts = check_array("pre_counts", pre_counts, shape=(indptr.size - 1,), kind="iuf",
                         dtype=np.int64)
    n_post = check_int("n_post", n_post, minimum=1)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    if w.size != indptr[-1]:
        raise ValueError(f"weights must hold indptr[-1] = {indptr[-1]} values, got {w.size}")
    nonzero_out = np.add.reduceat(np.append(w != 0, False).astype(np.int64), indptr[:-1]) \
        if indptr.size > 1 else np.zeros(0, np.int64)
    nonzero_out = np.where(np.diff(indptr) > 0, nonzero_out, 0)
    effective = int((counts * nonzero_out).sum())
    return LayerOperations(effective, n_steps * (indptr.size - 1) * n_post, bool(spiking))


def total_operations(layers: Sequence[LayerOperations], n_samples: int) -> dict[str, float]:
    """Per-sample synaptic operations of a model, in the harness's keys.

    Args:
        layers: the operations of each connection layer over the run.
        n_samples: samples the run processed (>= 1).

    Returns:
        ``{"Effective_MACs": ..., "Effective_ACs": ..., "Dense": ...}`` per sample.
    """
    n_samples = check_int("n_samples", n_samples, minimum=1)
    macs = sum(layer.effective for layer in layers if not layer.spiking)
    acs = sum(layer.effective for layer in layers if layer.spiking)
    dense = sum(layer.dense for layer in layers)
    return {"Effective_MACs": macs / n_samples, "Effective_ACs": acs / n_samples,
            "Dense": dense / n_samples}


def membrane_updates(potentials: ArrayLike, n_samples: int) -> float:
    """Membrane updates per sample of one spiking layer.

    Args:
        potentials: the membrane potential after every step ``[T, ...]`` (time first, any
            batch and neuron axes after).
        n_samples: samples in the batch axes (>= 1).

    Returns:
        ``(numel(v[0]) + count_nonzero(v[t] - v[t - 1] for t >= 1)) / n_samples``.
    """
    v = _numpy("potentials", potentials)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    if v.ndim < 1 or v.shape[0] == 0:
        raise ValueError(f"potentials must be [T, ...] with T >= 1, got shape {v.shape}")
    return (v[0].size + int(np.count_nonzero(np.diff(v, axis=0)))) / n_samples


def smape(prediction: ArrayLike, target: ArrayLike) -> float:
    """NeuroBench's symmetric mean absolute percentage error, in percent:
    ``200 mean(|p - y| / (|p| + |y|))``; a NaN result (a 0/0 term or a NaN prediction)
    counts as 200.

    Args:
        prediction: predicted values (any shape).
        target: true values, of the same shape.

    Returns:
        sMAPE in ``[0, 200]``.
    """
    p = np.asarray(_numpy("prediction", prediction), dtype=np.float64)
    y = np.asarray(_numpy("target", target), dtype=np.float64)
    if p.shape != y.shape or p.size == 0:
        raise ValueError(f"prediction and target must have the same non-empty shape, got "
                         f"{p.shape} and {y.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        value = 200.0 * np.mean(np.abs(p - y) / (np.abs(p) + np.abs(y)))
    return 200.0 if np.isnan(value) else float(value)


def _numpy(name: str, value) -> np.ndarray:
    if hasattr(value, "detach"):  # torch tensor
        return value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        return np.asarray(value)
    raise TypeError(f"{name} must be a numpy array or a torch tensor, got "
                    f"{type(value).__name__}")
