"""Local learning rules as pure functions: ``dw = rule(pre, post / weight, ..., eta)``.

Every rule takes numpy arrays or torch tensors (not mixed) and returns the weight change in
the same kind and dtype; nothing is updated in place.  Shapes: ``pre`` (presynaptic activity)
``[B, n_in]`` or ``[n_in]``, ``post`` ``[B, n_out]`` or ``[n_out]``, ``weight`` ``[n_out, n_in]``;
over a batch the change is the batch mean.  ``eta`` is the learning rate (dimensionless per
unit of activity squared).

* :func:`hebbian`: ``dW = eta <y x^T>``.
* :func:`oja`: Oja's rule for each output neuron, ``dw_i = eta <y_i (x - y_i w_i)>``; one
  neuron converges to the first principal component (unit norm) of uncentred data.
* :func:`oja_subspace`: Oja's subspace rule ``dW = eta <y (x - W^T y)^T>``, ``y = W x``; the
  rows converge to an orthonormal basis of the top-k principal subspace.
* :func:`sanger`: the generalized Hebbian algorithm, ``dW = eta <y x^T - LT(y y^T) W>``; row
  ``i`` converges to the ``i``-th principal component, in order.
* :func:`anti_hebbian_lateral`: Foldiak's decorrelating rule for lateral weights
  ``M`` (``y = x + M y``), ``dM = -eta <y y^T>`` off the diagonal.
* :class:`STDPParams`, :func:`stdp_step`, :func:`stdp_window`: pair-based STDP with
  exponential traces (all-to-all pairing) and its analytic window; :func:`stdp_csr`: the
  same rule compiled (numba) over sparse CSR synapses, the layout of the engine's
  projections, driven by spike rasters.

Pair-based STDP is written once, as scalar functions in plain arithmetic in the manner of
:mod:`snn.models`: :func:`stdp_depression` and :func:`stdp_potentiation` (the change, with
the weight dependence), :func:`stdp_depressed` and :func:`stdp_potentiated` (the bounded new
weight) and the two synapse events :func:`stdp_pre_event` and :func:`stdp_post_event`
(decay, change, bounds, trace increment).  They work on Python and numba floats, numpy
arrays and torch tensors; what differs between those (the weight-dependence power, the
elementwise minimum and maximum) is passed in: :func:`weight_dependence_scalar`,
:func:`minimum_scalar` and :func:`maximum_scalar` for scalars, their tensor counterparts in
the torch backend.  :func:`stdp_step`, :func:`stdp_csr` and the engine's three backends all
call them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from .validation import check_nonnegative, check_positive, check_real

__all__ = [
    "STDPParams",
    "STDPTraces",
    "anti_hebbian_lateral",
    "hebbian",
    "oja",
    "oja_subspace",
    "sanger",
    "maximum_scalar",
    "minimum_scalar",
    "stdp_csr",
    "stdp_depressed",
    "stdp_depression",
    "stdp_post_event",
    "stdp_potentiated",
    "stdp_potentiation",
    "stdp_pre_event",
    "stdp_step",
    "stdp_traces",
    "stdp_window",
    "weight_dependence_scalar",
]


def _is_torch(x: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, torch.Tensor)


def _as_batch(name: str, x: Any) -> Any:
    """``x`` as a 2-D batch ``[B, n]`` (a vector becomes a batch of one)."""
    if not (isinstance(x, np.ndarray) or _is_torch(x)):
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got "
                        f"{type(x).__name__}")
    if x.ndim == 1:
        return x[None, :]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape [B, n] or [n], got shape {tuple(x.shape)}")
    return x


def _same_kind(**arrays: Any) -> None:
    kinds = {name: _is_torch(a) for name, a in arrays.items()}
    if len(set(kinds.values())) > 1:
        raise TypeError(f"{', '.join(kinds)} must all be numpy arrays or all torch tensors")


def _check_weight(weight: Any, n_out: int | None, n_in: int) -> None:
    if not (isinstance(weight, np.ndarray) or _is_torch(weight)) or weight.ndim != 2:
        raise ValueError("weight must be a 2-D array [n_out, n_in]")
    if weight.shape[1] != n_in or (n_out is not None and weight.shape[0] != n_out):
        want = f"[{'n_out' if n_out is None else n_out}, {n_in}]"
        raise ValueError(f"weight must have shape {want}, got {tuple(weight.shape)}")


def _batch_outer(post: Any, pre: Any) -> Any:
    """``<post pre^T>`` over the batch: ``[n_out, n_in]``."""
    return post.T @ pre / pre.shape[0]


def hebbian(pre: Any, post: Any, eta: float) -> Any:
    """Plain Hebbian change ``dW = eta <y x^T>``.

    Args:
        pre: presynaptic activity ``x``.
        post: postsynaptic activity ``y`` (same batch size as ``pre``).
        eta: learning rate (>= 0, per unit of activity squared).

    Returns:
        The weight change, numpy or torch as the inputs.

    Shapes:
        ``pre`` ``[B, n_in]`` or ``[n_in]``, ``post`` ``[B, n_out]`` or ``[n_out]`` ->
        ``[n_out, n_in]`` (the batch mean).
    """
    eta = check_nonnegative("eta", eta)
    _same_kind(pre=pre, post=post)
    x, y = _as_batch("pre", pre), _as_batch("post", post)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"pre and post must have the same batch size, got {x.shape[0]} and "
                         f"{y.shape[0]}")
    return eta * _batch_outer(y, x)


def oja(pre: Any, weight: Any, eta: float) -> Any:
    """Oja's rule for each output neuron independently: ``y = W x``,
    ``dW = eta (<y x^T> - diag(<y^2>) W)``.  Every row converges to the first principal
    component of ``x`` (uncentred), with unit norm.

    Args:
        pre: presynaptic activity ``x``.
        weight: the current weights ``W``.
        eta: learning rate (>= 0, per unit of activity squared).

    Returns:
        The weight change, numpy or torch as the inputs.

    Shapes:
        ``pre`` ``[B, n_in]`` or ``[n_in]``, ``weight`` ``[n_out, n_in]`` ->
        ``[n_out, n_in]``.
    """
    eta = check_nonnegative("eta", eta)
    _same_kind(pre=pre, weight=weight)
    x = _as_batch("pre", pre)
    _check_weight(weight, None, x.shape[1])
    y = x @ weight.T
    return eta * (_batch_outer(y, x) - (y * y).mean(0)[:, None] * weight)


def oja_subspace(pre: Any, weight: Any, eta: float, frozen: Any = None) -> Any:
    """Oja's subspace rule: ``y = W x``, ``dW = eta <y (x - W^T y)^T>``.

    The rows of ``W`` converge to an orthonormal basis of the principal subspace of ``x``
    (uncentred) of dimension ``k``.

    Args:
        pre: presynaptic activity ``x``.
        weight: the learning components ``W``.
        eta: learning rate (>= 0, per unit of activity squared).
        frozen: components ``F`` that no longer learn but take part in the reconstruction,
            ``x - F^T F x - W^T W x``; the learning rows then converge to the principal
            subspace of the residual left by ``frozen`` (None: none).

    Returns:
        The change of ``weight``, numpy or torch as the inputs.

    Shapes:
        ``pre`` ``[B, n_in]`` or ``[n_in]``, ``weight`` ``[k, n_in]``, ``frozen``
        ``[m, n_in]`` -> ``[k, n_in]``.
    """
    eta = check_nonnegative("eta", eta)
    _same_kind(pre=pre, weight=weight)
    x = _as_batch("pre", pre)
    _check_weight(weight, None, x.shape[1])
    y = x @ weight.T
    residual = x - y @ weight
    if frozen is not None:
        _same_kind(pre=pre, frozen=frozen)
        _check_weight(frozen, None, x.shape[1])
        residual = residual - (x @ frozen.T) @ frozen
    return eta * _batch_outer(y, residual)


def sanger(pre: Any, weight: Any, eta: float) -> Any:
    """Generalized Hebbian algorithm (Sanger 1989): ``y = W x``,
    ``dW = eta (<y x^T> - LT(<y y^T>) W)`` with ``LT`` the lower triangle (diagonal
    included).  Row ``i`` of ``W`` converges to the ``i``-th principal component.

    Args:
        pre: presynaptic activity ``x``.
        weight: the current components ``W``.
        eta: learning rate (>= 0, per unit of activity squared).

    Returns:
        The weight change, numpy or torch as the inputs.

    Shapes:
        ``pre`` ``[B, n_in]`` or ``[n_in]``, ``weight`` ``[k, n_in]`` -> ``[k, n_in]``.
    """
    eta = check_nonnegative("eta", eta)
    _same_kind(pre=pre, weight=weight)
    x = _as_batch("pre", pre)
    _check_weight(weight, None, x.shape[1])
    y = x @ weight.T
    yy = _batch_outer(y, y)
    if _is_torch(yy):
        import torch
        lower = torch.tril(yy)
    else:
        lower = np.tril(yy)
    return eta * (_batch_outer(y, x) - lower @ weight)


def anti_hebbian_lateral(post: Any, eta: float) -> Any:
    """Anti-Hebbian change of lateral weights ``M`` (Foldiak 1990): with the settled
    responses ``y = x + M y``, ``dM = -eta <y y^T>`` off the diagonal (no
    self-connections).  At the fixed point the responses are decorrelated.

    Args:
        post: the settled responses ``y``.
        eta: learning rate (>= 0, per unit of activity squared).

    Returns:
        The change of ``M``, zero on the diagonal, numpy or torch as ``post``.

    Shapes:
        ``post`` ``[B, n]`` or ``[n]`` -> ``[n, n]``.
    """
    eta = check_nonnegative("eta", eta)
    y = _as_batch("post", post)
    yy = _batch_outer(y, y)
    if _is_torch(yy):
        import torch
        off = yy - torch.diag(torch.diagonal(yy))
    else:
        off = yy - np.diag(np.diagonal(yy))
    return -eta * off


@dataclass(frozen=True)
class STDPParams:
    """Pair-based STDP with exponential traces.

    For a pair with ``dt = t_post - t_pre`` (s) the weight changes by ``a_plus *
    exp(-dt / tau_plus)`` if ``dt >= 0`` and by ``-a_minus * exp(dt / tau_minus)`` if
    ``dt < 0``; contributions of all pairs add (all-to-all).  Weight units are those of the
    projection (A, S or V, see :meth:`snn.Network.connect`).

    Args:
        a_plus: potentiation amplitude (weight units, >= 0).
        a_minus: depression amplitude (weight units, >= 0).
        tau_plus: decay time of the presynaptic trace (s, > 0).
        tau_minus: decay time of the postsynaptic trace (s, > 0).
        w_min: lower hard bound (weight units; default unbounded), applied after every
            change where the rule updates weights in place (the engine's plastic
            projections and :func:`stdp_csr`); :func:`stdp_step` returns the unbounded
            change.
        w_max: upper hard bound (weight units; default unbounded), as ``w_min``.
        mu: weight dependence (>= 0) of Guetig et al. (J. Neurosci. 23:3697, 2003) where
            weights are updated in place: with ``u = (w - w_min) / (w_max - w_min)`` a
            potentiation is scaled by ``(1 - u)^mu`` and a depression by ``u^mu``; 0 is
            additive STDP (bimodal weights, Song et al. 2000), 1 multiplicative (soft
            bounds, unimodal weights, van Rossum et al. 2000).  ``mu > 0`` needs finite
            bounds.
        drift: a steady change of the weight (weight units per second, either sign), taken
            at each event of the synapse for the steps since its last one and held within
            the bounds (the same as step by step, up to rounding: between events nothing
            else moves the weight).  Engine projections only.
        post_offset: a change of the weight (weight units, either sign) at every
            postsynaptic spike, after the potentiation.  Engine projections only.  With
            ``a_plus = a_minus = 0``, ``post_offset = -delta`` and ``drift = delta * rho``
            on inhibitory weights (negative, ``w_max = 0``), an inhibitory synapse grows by
            ``delta`` at each spike of its target and shrinks by ``delta * rho`` per second:
            over a time ``T`` its magnitude changes by ``delta * T * (r - rho)``, ``r`` the
            target's rate: a spiking form of the homeostatic rule of Srinivasan et al.
            (2025).
    """

    a_plus: float = 0.01
    a_minus: float = 0.012
    tau_plus: float = 20e-3
    tau_minus: float = 20e-3
    w_min: float = -math.inf
    w_max: float = math.inf
    mu: float = 0.0
    drift: float = 0.0
    post_offset: float = 0.0

    def __post_init__(self) -> None:
        check_nonnegative("STDPParams.a_plus", self.a_plus)
        check_nonnegative("STDPParams.a_minus", self.a_minus)
        check_positive("STDPParams.tau_plus", self.tau_plus, unit="s")
        check_positive("STDPParams.tau_minus", self.tau_minus, unit="s")
        check_real("STDPParams.w_min", self.w_min, finite=False)
        check_real("STDPParams.w_max", self.w_max, finite=False)
        check_nonnegative("STDPParams.mu", self.mu)
        check_real("STDPParams.drift", self.drift)
        check_real("STDPParams.post_offset", self.post_offset)
        if not self.w_min <= self.w_max:
            raise ValueError(f"STDPParams.w_min must be <= w_max, got w_min={self.w_min}, "
                             f"w_max={self.w_max}")
        if self.mu > 0 and not (math.isfinite(self.w_min) and math.isfinite(self.w_max)
                                and self.w_min < self.w_max):
            raise ValueError(f"STDPParams.mu > 0 needs finite bounds w_min < w_max, got "
                             f"w_min={self.w_min}, w_max={self.w_max}")


class STDPTraces(NamedTuple):
    """Traces of STDP: ``pre`` ``[n_in]`` (decay ``tau_plus``) and ``post`` ``[n_out]``
    (decay ``tau_minus``); each jumps by 1 (dimensionless) at its neuron's spike."""

    pre: Any
    post: Any


# Pair-based STDP, written once.  Plain arithmetic: every function below runs on Python
# floats, inside numba-compiled loops (register_jitable: LLVM inlines them into the engine's
# synapse loop, which runs as fast as with numba's IR inlining and compiles about 4 s
# faster on a first run), on numpy arrays and on torch tensors.  Quantities: weights and
# amplitudes in weight units, traces dimensionless (1 per spike, decaying), decay factors
# in (0, 1].


@register_jitable
def weight_dependence_scalar(distance: float, span: float, mu: float) -> float:
    """``(distance / span) ** mu`` for one float, and exactly 1.0 when ``mu == 0`` without
    computing it (additive STDP: no power, no division; ``span`` may then be 0 or inf)."""
    return 1.0 if mu == 0.0 else math.pow(distance / span, mu)


@register_jitable
def minimum_scalar(a: float, b: float) -> float:
    """The smaller of two floats (the scalar ``minimum`` of the STDP functions)."""
    return min(a, b)


@register_jitable
def maximum_scalar(a: float, b: float) -> float:
    """The larger of two floats (the scalar ``maximum`` of the STDP functions)."""
    return max(a, b)


@register_jitable
def stdp_depression(weight: Any, post_trace: Any, a_minus: Any, w_min: Any, w_max: Any,
                    mu: Any, weight_dependence: Callable[[Any, Any, Any], Any]) -> Any:
    """Decrease of ``weight`` (>= 0, weight units) at a presynaptic spike: ``a_minus`` times
    the postsynaptic trace, scaled by ``u ** mu`` with ``u = (weight - w_min) / (w_max -
    w_min)`` (Guetig et al. 2003; ``mu = 0``: additive).  ``weight_dependence(distance,
    span, mu)`` computes ``(distance / span) ** mu`` for the argument type, e.g.
    :func:`weight_dependence_scalar`.  Arguments broadcast together."""
    return a_minus * post_trace * weight_dependence(weight - w_min, w_max - w_min, mu)


@register_jitable
def stdp_potentiation(weight: Any, pre_trace: Any, a_plus: Any, w_min: Any, w_max: Any,
                      mu: Any, weight_dependence: Callable[[Any, Any, Any], Any]) -> Any:
    """Increase of ``weight`` (>= 0, weight units) at a postsynaptic spike: ``a_plus`` times
    the presynaptic trace, scaled by ``(1 - u) ** mu``; as :func:`stdp_depression`."""
    return a_plus * pre_trace * weight_dependence(w_max - weight, w_max - w_min, mu)


@register_jitable
def stdp_depressed(weight: Any, post_trace: Any, a_minus: Any, w_min: Any, w_max: Any,
                   mu: Any, weight_dependence: Callable[[Any, Any, Any], Any],
                   minimum: Callable[[Any, Any], Any], maximum: Callable[[Any, Any], Any]
                   ) -> Any:
    """``weight`` after a presynaptic spike: lowered by :func:`stdp_depression`, then held
    within ``[w_min, w_max]`` by the elementwise ``minimum`` and ``maximum`` of the argument
    type (:func:`minimum_scalar`, :func:`maximum_scalar` for floats)."""
    change = stdp_depression(weight, post_trace, a_minus, w_min, w_max, mu, weight_dependence)
    return minimum(maximum(weight - change, w_min), w_max)


@register_jitable
def stdp_potentiated(weight: Any, pre_trace: Any, a_plus: Any, w_min: Any, w_max: Any,
                     mu: Any, weight_dependence: Callable[[Any, Any, Any], Any],
                     minimum: Callable[[Any, Any], Any], maximum: Callable[[Any, Any], Any]
                     ) -> Any:
    """``weight`` after a postsynaptic spike: raised by :func:`stdp_potentiation`, then held
    within the bounds; as :func:`stdp_depressed`."""
    change = stdp_potentiation(weight, pre_trace, a_plus, w_min, w_max, mu, weight_dependence)
    return minimum(maximum(weight + change, w_min), w_max)


@register_jitable
def stdp_pre_event(weight: Any, pre_trace: Any, post_trace: Any, decay_pre: Any,
                   decay_post: Any, drift: Any, a_minus: Any, w_min: Any, w_max: Any, mu: Any,
                   weight_dependence: Callable[[Any, Any, Any], Any],
                   minimum: Callable[[Any, Any], Any], maximum: Callable[[Any, Any], Any]
                   ) -> tuple[Any, Any, Any]:
    """A presynaptic spike arriving at a synapse that holds its own traces.

    The traces decay since the synapse's last event (``decay_pre``: ``exp(-gap /
    tau_plus)``, ``decay_post``: ``exp(-gap / tau_minus)``; 1 for no gap), the weight takes
    its ``drift`` over that gap (``gap * drift_per_step``, see :class:`STDPParams`; 0 without)
    within the bounds, is depressed by the postsynaptic trace (:func:`stdp_depressed`), then
    the presynaptic trace grows by 1.  Returns ``(weight, pre_trace, post_trace)``.
    """
    pre_trace = pre_trace * decay_pre
    post_trace = post_trace * decay_post
    weight = minimum(maximum(weight + drift, w_min), w_max)
    weight = stdp_depressed(weight, post_trace, a_minus, w_min, w_max, mu, weight_dependence,
                            minimum, maximum)
    return weight, pre_trace + 1.0, post_trace


@register_jitable
def stdp_post_event(weight: Any, pre_trace: Any, post_trace: Any, decay_pre: Any,
                    decay_post: Any, drift: Any, a_plus: Any, post_offset: Any, w_min: Any,
                    w_max: Any, mu: Any, weight_dependence: Callable[[Any, Any, Any], Any],
                    minimum: Callable[[Any, Any], Any], maximum: Callable[[Any, Any], Any]
                    ) -> tuple[Any, Any, Any]:
    """A postsynaptic spike at a synapse that holds its own traces: the traces decay and the
    weight drifts as in :func:`stdp_pre_event`, the weight is potentiated by the presynaptic
    trace (:func:`stdp_potentiated`), then moved by ``post_offset`` within the bounds, and
    the postsynaptic trace grows by 1.  Returns ``(weight, pre_trace, post_trace)``."""
    pre_trace = pre_trace * decay_pre
    post_trace = post_trace * decay_post
    weight = minimum(maximum(weight + drift, w_min), w_max)
    weight = stdp_potentiated(weight, pre_trace, a_plus, w_min, w_max, mu, weight_dependence,
                              minimum, maximum)
    weight = minimum(maximum(weight + post_offset, w_min), w_max)
    return weight, pre_trace, post_trace + 1.0


def _check_pair_only(params: STDPParams) -> None:
    if params.drift != 0.0 or params.post_offset != 0.0:
        raise ValueError("params.drift and params.post_offset are taken by the engine's plastic "
                         "projections only (snn.Network.connect(..., plasticity=...)); "
                         f"got drift={params.drift!r}, post_offset={params.post_offset!r}")


def stdp_traces(n_in: int, n_out: int, like: Any = None) -> STDPTraces:
    """Zero traces for a start of :func:`stdp_step` or :func:`stdp_csr`.

    Args:
        n_in: number of presynaptic neurons.
        n_out: number of postsynaptic neurons.
        like: a torch tensor whose dtype and device the traces take (None: numpy float64).

    Returns:
        :class:`STDPTraces` with ``pre`` ``[n_in]`` and ``post`` ``[n_out]``.
    """
    if _is_torch(like):
        import torch
        return STDPTraces(torch.zeros(n_in, dtype=like.dtype, device=like.device),
                          torch.zeros(n_out, dtype=like.dtype, device=like.device))
    return STDPTraces(np.zeros(n_in), np.zeros(n_out))


def stdp_step(pre_spikes: Any, post_spikes: Any, traces: STDPTraces, params: STDPParams,
              dt: float) -> tuple[Any, STDPTraces]:
    """One time step of pair-based STDP.

    Order within a step: the traces decay by ``exp(-dt / tau)``; each
    presynaptic spike depresses by ``a_minus`` times the postsynaptic trace (earlier post
    spikes only), then adds to its trace; each postsynaptic spike potentiates by ``a_plus``
    times the presynaptic trace (which includes this step's pre spikes, so a simultaneous
    pair counts as ``dt = 0``: ``+a_plus``), then adds to its trace.  With exact decay the
    change from any pair of spikes on the grid equals :func:`stdp_window` exactly.

    Args:
        pre_spikes: presynaptic spikes of this step (0 or 1).
        post_spikes: postsynaptic spikes of this step (0 or 1).
        traces: the traces after the previous step (:func:`stdp_traces` to start).
        params: the rule.
        dt: the time step (s, > 0).

    Returns:
        ``(dW, new traces)``: the unbounded weight change of this step (weight units) and
        the traces to pass to the next step.

    Shapes:
        ``pre_spikes`` ``[n_in]``, ``post_spikes`` ``[n_out]`` -> ``dW`` ``[n_out, n_in]``.
    """
    if not isinstance(params, STDPParams):
        raise TypeError(f"params must be STDPParams, got {type(params).__name__}")
    _check_pair_only(params)
    dt = check_positive("dt", dt, unit="s")
    _same_kind(pre_spikes=pre_spikes, post_spikes=post_spikes)
    if pre_spikes.ndim != 1 or post_spikes.ndim != 1:
        raise ValueError("pre_spikes and post_spikes must be vectors [n_in] and [n_out]")
    if tuple(traces.pre.shape) != tuple(pre_spikes.shape) or \
            tuple(traces.post.shape) != tuple(post_spikes.shape):
        raise ValueError(f"traces must have shapes [{pre_spikes.shape[0]}] and "
                         f"[{post_spikes.shape[0]}], got {tuple(traces.pre.shape)} and "
                         f"{tuple(traces.post.shape)}")
    pre_trace = traces.pre * math.exp(-dt / params.tau_plus)
    post_trace = traces.post * math.exp(-dt / params.tau_minus)
    # The rule's changes with the postsynaptic (presynaptic) trace of every pair whose
    # presynaptic (postsynaptic) neuron spikes, 0 elsewhere; additive and unbounded here, so
    # the weight and bounds are placeholders (mu = 0 reads neither).
    depression = -stdp_depression(0.0, post_trace[:, None] * pre_spikes[None, :],
                                  params.a_minus, params.w_min, params.w_max, 0.0,
                                  weight_dependence_scalar)
    pre_trace = pre_trace + pre_spikes
    potentiation = stdp_potentiation(0.0, post_spikes[:, None] * pre_trace[None, :],
                                     params.a_plus, params.w_min, params.w_max, 0.0,
                                     weight_dependence_scalar)
    post_trace = post_trace + post_spikes
    return depression + potentiation, STDPTraces(pre_trace, post_trace)


def stdp_window(delta_t: Any, params: STDPParams) -> np.ndarray:
    """Analytic weight change for one pair of spikes:
    ``a_plus exp(-delta_t / tau_plus)`` for ``delta_t >= 0``, else
    ``-a_minus exp(delta_t / tau_minus)``.

    Args:
        delta_t: ``t_post - t_pre`` (s), a number or an array.
        params: the rule.

    Returns:
        The change (weight units), float64 shaped like ``delta_t``.
    """
    d = np.asarray(delta_t, dtype=float)
    return np.where(d >= 0, params.a_plus * np.exp(-np.abs(d) / params.tau_plus),
                    -params.a_minus * np.exp(-np.abs(d) / params.tau_minus))


# Traces here belong to neurons, decayed every step and shared by all their synapses, so the
# kernel calls the bounded weight updates; the engine, whose synapses keep their own traces
# decayed lazily, calls the events.
@njit(cache=True)
def _stdp_csr_kernel(pre_raster, post_raster, indptr, targets, sources, by_post_ptr, by_post,
                     weights, pre_trace, post_trace, decay_pre, decay_post, a_plus,
                     a_minus, w_min, w_max, mu):  # pragma: no cover (compiled)
    n_pre = pre_trace.size
    n_post = post_trace.size
    for t in range(pre_raster.shape[0]):
        for i in range(n_pre):
            pre_trace[i] *= decay_pre
        for j in range(n_post):
            post_trace[j] *= decay_post
        for i in range(n_pre):
            if pre_raster[t, i]:
                for k in range(indptr[i], indptr[i + 1]):
                    weights[k] = stdp_depressed(weights[k], post_trace[targets[k]], a_minus,
                                                w_min, w_max, mu, weight_dependence_scalar,
                                                minimum_scalar, maximum_scalar)
                pre_trace[i] += 1.0
        for j in range(n_post):
            if post_raster[t, j]:
                for m in range(by_post_ptr[j], by_post_ptr[j + 1]):
                    k = by_post[m]
                    weights[k] = stdp_potentiated(weights[k], pre_trace[sources[k]], a_plus,
                                                  w_min, w_max, mu, weight_dependence_scalar,
                                                  minimum_scalar, maximum_scalar)
                post_trace[j] += 1.0


def stdp_csr(pre_raster: np.ndarray, post_raster: np.ndarray, indptr: np.ndarray,
             targets: np.ndarray, weights: np.ndarray, params: STDPParams, dt: float,
             traces: STDPTraces | None = None) -> tuple[np.ndarray, STDPTraces]:
    """Pair-based STDP on sparse synapses, compiled (numba): the rule of :func:`stdp_step`
    applied step by step to a projection stored as CSR over presynaptic neurons (the
    layout of :class:`snn.network.Projection`), with the bounds and weight dependence of
    ``params``.  Synaptic delays are not taken into account: for the rule online inside a
    simulation, with delays, give the projection a ``plasticity`` rule
    (:meth:`snn.Network.connect`).

    Args:
        pre_raster: presynaptic spikes per step (bool or 0/1), e.g. the engine's record.
        post_raster: postsynaptic spikes per step.
        indptr: CSR row pointers over presynaptic neurons.
        targets: postsynaptic index of each synapse.
        weights: initial weights (weight units, within ``[w_min, w_max]``).
        params: the rule.
        dt: the time step of the rasters (s, > 0).
        traces: traces to continue from (None: zeros).

    Returns:
        ``(new weights, traces at the end)``: a copy of the weights, held within
        ``[params.w_min, params.w_max]``, and the traces to pass back to continue.

    Shapes:
        ``pre_raster`` ``[T, n_pre]``, ``post_raster`` ``[T, n_post]``, ``indptr`` int
        ``[n_pre + 1]``, ``targets`` int ``[n_syn]``, ``weights`` ``[n_syn]`` -> weights
        ``[n_syn]``.
    """
    if not isinstance(params, STDPParams):
        raise TypeError(f"params must be STDPParams, got {type(params).__name__}")
    _check_pair_only(params)
    dt = check_positive("dt", dt, unit="s")
    pre = np.ascontiguousarray(pre_raster, dtype=np.bool_)
    post = np.ascontiguousarray(post_raster, dtype=np.bool_)
    if pre.ndim != 2 or post.ndim != 2 or pre.shape[0] != post.shape[0]:
        raise ValueError(f"pre_raster and post_raster must be [T, n_pre] and [T, n_post] with "
                         f"the same T, got {pre.shape} and {post.shape}")
    indptr = np.asarray(indptr, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    new = np.array(weights, dtype=np.float64, copy=True)
    n_pre, n_post = pre.shape[1], post.shape[1]
    if indptr.shape != (n_pre + 1,) or indptr[0] != 0 or indptr[-1] != targets.size or \
            np.any(np.diff(indptr) < 0):
        raise ValueError(f"indptr must be a CSR row pointer [n_pre + 1 = {n_pre + 1}] from 0 to "
                         f"the number of synapses {targets.size}")
    if new.shape != targets.shape:
        raise ValueError(f"weights must have shape {targets.shape} like targets, got "
                         f"{new.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= n_post):
        raise ValueError(f"targets must be postsynaptic indices in [0, {n_post})")
    if traces is None:
        traces = stdp_traces(n_pre, n_post)
    pre_trace = np.array(traces.pre, dtype=np.float64, copy=True)
    post_trace = np.array(traces.post, dtype=np.float64, copy=True)
    if pre_trace.shape != (n_pre,) or post_trace.shape != (n_post,):
        raise ValueError(f"traces must have shapes [{n_pre}] and [{n_post}]")
    by_post = np.argsort(targets, kind="stable").astype(np.int64)
    by_post_ptr = np.zeros(n_post + 1, dtype=np.int64)
    np.cumsum(np.bincount(targets, minlength=n_post), out=by_post_ptr[1:])
    sources = np.repeat(np.arange(n_pre, dtype=np.int64), np.diff(indptr))
    _stdp_csr_kernel(pre, post, indptr, targets, sources, by_post_ptr, by_post, new, pre_trace,
                     post_trace, math.exp(-dt / params.tau_plus),
                     math.exp(-dt / params.tau_minus), params.a_plus, params.a_minus,
                     float(params.w_min), float(params.w_max), float(params.mu))
    return new, STDPTraces(pre_trace, post_trace)
