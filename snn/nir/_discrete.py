"""The discrete-time reading of NIR's continuous neuron nodes, written once for every target.

NIR states neurons as differential equations and stores no time step.  With the step ``dt``
and a discretisation, every neuron node becomes, per step ``t`` (``x_t`` the node's input at
that step, the sum of what its incoming edges carry)::

    I_t = alpha * I_{t-1} + syn_gain * x_t            (CubaLIF / CubaLI only; else I_t = x_t)
    v_t = beta * v_{t-1} + (1 - beta) * v_leak + input_gain * I_t
    z_t = H(v_t - v_threshold)                        (spiking nodes), then reset

``"euler"`` (forward Euler, the paper's platforms): ``beta = 1 - dt / tau``;
``"exponential"``: ``beta = exp(-dt / tau)``, the closed-form solution for an input held over
the step, with threshold and reset at the step's end; ``"exact"``: the same, but a neuron
that crosses its threshold inside the step resets at the crossing time and integrates the
rest of the step from ``v_reset`` (the event-driven solution; torch target, ``LIF`` and
``IF`` nodes, at most one spike per step).  In all three,
``input_gain = r * (1 - beta)`` and ``syn_gain = w_in * (1 - alpha)``, so that an input spike
(1 over one step) means the same under the snnTorch (``r = tau / dt``) and the Norse
(``r = 1``) conventions.  ``IF`` and ``I`` have no time constant, and the tools disagree on
their input: Sinabs and snnTorch add ``r * x`` per step (``integrator_input="per_step"``, the
default: the NIR paper's CNN is written so), SpikingJelly follows the equation
``dv/dt = r * I`` and adds ``r * x * dt`` (``"continuous"``, with ``r = 1 / dt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..validation import check_choice, check_positive

__all__ = ["DISCRETISATIONS", "INTEGRATOR_INPUTS", "DiscreteNeuron", "apply_recorded", "decay",
           "discretise", "time_constant"]

DISCRETISATIONS = ("euler", "exponential", "exact")
INTEGRATOR_INPUTS = ("per_step", "continuous")

# Node types that hold neuron state, and those of them that emit spikes.
NEURON_TYPES = ("LIF", "CubaLIF", "LI", "CubaLI", "IF", "I")
SPIKING_TYPES = ("LIF", "CubaLIF", "IF")


def decay(tau: np.ndarray, dt: float, discretisation: str, name: str = "tau") -> np.ndarray:
    """Decay per step of a time constant.

    Args:
        tau: time constants (s, > 0), any shape.
        dt: time step (s, > 0).
        discretisation: ``"euler"`` (``1 - dt / tau``), ``"exponential"`` or ``"exact"``
            (both ``exp(-dt / tau)``).
        name: the node field, for error messages.

    Returns:
        float64 array shaped like ``tau``.
    """
    tau = np.asarray(tau, dtype=np.float64)
    if np.any(~np.isfinite(tau)) or np.any(tau <= 0):
        raise ValueError(f"{name} must hold finite time constants > 0 s, got {tau.ravel()[:4]}")
    if discretisation == "euler":
        if np.any(tau <= dt):
            raise ValueError(f"forward Euler needs dt < {name}: dt={dt:g} s, smallest {name}="
                             f"{tau.min():g} s; choose a smaller dt or "
                             f"discretisation='exponential'")
        return 1.0 - dt / tau
    return np.exp(-dt / tau)


def time_constant(beta: np.ndarray, dt: float, discretisation: str) -> np.ndarray:
    """The time constant (s) whose decay per step is ``beta`` (the inverse of :func:`decay`).

    Args:
        beta: decays per step in ``(0, 1)``.
        dt: time step (s, > 0).
        discretisation: one of :data:`DISCRETISATIONS`.

    Returns:
        float64 array shaped like ``beta``.
    """
    beta = np.asarray(beta, dtype=np.float64)
    if np.any(beta <= 0) or np.any(beta >= 1):
        raise ValueError(f"a decay per step must lie in (0, 1) to have a time constant, got "
                         f"{beta.ravel()[:4]}")
    if discretisation == "euler":
        return dt / (1.0 - beta)
    return -dt / np.log(beta)


@dataclass(frozen=True)
class DiscreteNeuron:
    """One NIR neuron node read at a fixed step (see the module docstring); every array has
    the node's shape."""

    kind: str  #: the NIR node type
    beta: np.ndarray  #: membrane decay per step (1: no leak)
    v_leak: np.ndarray  #: leak (resting) potential
    input_gain: np.ndarray  #: membrane change per unit of (synaptic) input per step
    alpha: np.ndarray | None  #: synaptic-current decay per step (Cuba nodes), else None
    syn_gain: np.ndarray | None  #: synaptic current per unit of input (Cuba nodes)
    v_threshold: np.ndarray  #: threshold (+inf for non-spiking nodes)
    v_reset: np.ndarray  #: reset potential (0 for non-spiking nodes)

    @property
    def spiking(self) -> bool:
        """Whether the node emits spikes (else its output is its membrane potential)."""
        return self.kind in SPIKING_TYPES

    @property
    def shape(self) -> tuple[int, ...]:
        """The node's neuron shape."""
        return tuple(self.beta.shape)


def _field(node, name: str, shape: tuple[int, ...]) -> np.ndarray:
    value = np.asarray(getattr(node, name), dtype=np.float64)
    try:
        return np.broadcast_to(value, shape).copy()
    except ValueError:
        raise ValueError(f"{type(node).__name__}.{name} has shape {value.shape}, which does "
                         f"not fit the node's shape {shape}") from None


def discretise(node, dt: float, discretisation: str,
               integrator_input: str = "per_step") -> DiscreteNeuron:
    """A NIR neuron node as per-step coefficients.

    Args:
        node: a ``nir.LIF``, ``CubaLIF``, ``LI``, ``CubaLI``, ``IF`` or ``I``.
        dt: time step (s, > 0).
        discretisation: one of :data:`DISCRETISATIONS`.
        integrator_input: the reading of ``r`` for ``IF`` and ``I`` (one of
            :data:`INTEGRATOR_INPUTS`; see the module docstring).

    Returns:
        The :class:`DiscreteNeuron`.
    """
    dt = check_positive("dt", dt, unit="s")
    check_choice("discretisation", discretisation, DISCRETISATIONS)
    check_choice("integrator_input", integrator_input, INTEGRATOR_INPUTS)
    kind = type(node).__name__
    if kind not in NEURON_TYPES:
        raise TypeError(f"node must be one of the NIR neuron types {NEURON_TYPES}, got {kind}")
    shape = tuple(np.shape(node.r))
    alpha = syn_gain = None
    if kind in ("IF", "I"):
        beta = np.ones(shape)
        v_leak = np.zeros(shape)
        input_gain = _field(node, "r", shape) * (dt if integrator_input == "continuous" else 1.0)
    else:
        tau = _field(node, "tau_mem" if kind.startswith("Cuba") else "tau", shape)
        beta = decay(tau, dt, discretisation, "tau_mem" if kind.startswith("Cuba") else "tau")
        v_leak = _field(node, "v_leak", shape)
        input_gain = _field(node, "r", shape) * (1.0 - beta)
    if kind.startswith("Cuba"):
        alpha = decay(_field(node, "tau_syn", shape), dt, discretisation, "tau_syn")
        syn_gain = _field(node, "w_in", shape) * (1.0 - alpha)
    if kind in SPIKING_TYPES:
        v_threshold = _field(node, "v_threshold", shape)
        v_reset = _field(node, "v_reset", shape)
    else:
        v_threshold = np.full(shape, math.inf)
        v_reset = np.zeros(shape)
    return DiscreteNeuron(kind, beta, v_leak, input_gain, alpha, syn_gain, v_threshold, v_reset)


def apply_recorded(neuron: DiscreteNeuron, meta: dict, dt: float) -> DiscreteNeuron:
    """``neuron`` with the per-step decay and input gain an snnsim export recorded (its
    ``snnsim`` metadata ``layer_beta`` / ``layer_gain``), when written for this ``dt``: the
    time constants in the file reproduce them only up to rounding.

    Args:
        neuron: the node read from its NIR parameters.
        meta: the node's ``snnsim`` metadata.
        dt: the step of this import (s).

    Returns:
        The neuron, exact where the metadata allows.
    """
    if "layer_beta" not in meta or not math.isclose(float(meta.get("dt", -1.0)), dt,
                                                    rel_tol=1e-12):
        return neuron
    shape = neuron.shape
    beta = np.broadcast_to(np.asarray(meta["layer_beta"], np.float64), shape).copy()
    gain = np.broadcast_to(np.asarray(meta["layer_gain"], np.float64), shape).copy()
    return DiscreteNeuron(neuron.kind, beta, neuron.v_leak, gain, neuron.alpha, neuron.syn_gain,
                          neuron.v_threshold, neuron.v_reset)
