"""Neuron models of the leaky integrate-and-fire family, written once for every backend.

Each model is

* a frozen ``Params`` dataclass in SI units (seconds, volts, amperes, ohms, farads,
  siemens), validated when constructed;
* the shared :class:`NeuronState` NamedTuple (explicit state, passed in and returned);
* :func:`coeffs`, which turns parameters and a time step into a :class:`Coeffs` tuple of
  plain floats (all exponentials are taken here, once);
* one step function in plain arithmetic (``+ - * /`` and comparisons) that works on Python
  or numba scalars, numpy arrays and torch tensors alike.  The spike nonlinearity is an
  argument: a Heaviside step for simulation, a surrogate-gradient function for training.
  The step functions stay plain Python callables; ``register_jitable`` only lets compiled
  numba code call them too.

Integration is exact for the linear (current-based) models: the membrane potential, the
exponential synaptic currents and the threshold adaptation are advanced with the closed-form
solution over one step, so the only error is that spikes are aligned to the time grid.
Conductance-based synapses make the membrane equation bilinear; there the conductances are
integrated exactly and the membrane potential with the exponential-Euler scheme (exact for
conductances held constant over the step), as Brian2's ``exponential_euler`` method does.

Order of operations inside one step (the same as Brian2's default schedule):
refractory countdown -> integrate -> threshold -> reset.  Synaptic events are added by the
engine after the step, so a spike emitted at step ``t`` with delay ``d`` reaches the
synaptic variable at the end of step ``t + d`` and the membrane from step ``t + d + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Union

import numpy as np
from numba import types
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from .neuron_model import NeuronModel, StateVariable, define_model, register_params
from .synapses import (
    ALPHA_KINDS,
    AlphaConductanceSynapses,
    AlphaCurrentSynapses,
    ConductanceSynapses,
    CurrentSynapses,
    DeltaSynapses,
    SynapseCoeffs,
    Synapses,
    decay_synapses,
    synapse_coeffs,
    synaptic_conductance,
    synaptic_drive,
)
from .validation import check_finite, check_nonnegative, check_positive

__all__ = [
    "CurrentSynapses",
    "ConductanceSynapses",
    "DeltaSynapses",
    "LIFParams",
    "ALIFParams",
    "IFParams",
    "NeuronParams",
    "NeuronState",
    "Coeffs",
    "coeffs",
    "layer_coeffs",
    "pack_coeffs",
    "unpack_coeffs",
    "step",
    "step_current",
    "step_conductance",
    "free_potential_current",
    "leaky_integrate",
    "reset_membrane",
    "fire_and_reset",
    "heaviside",
    "heaviside_scalar",
    "STATE_VARIABLES",
    "RESET_MODES",
]

RESET_MODES = ("value", "subtract")


def _check_positive(owner: str, name: str, value: float) -> None:
    check_positive(f"{owner}.{name}", value)


def _check_nonnegative(owner: str, name: str, value: float) -> None:
    check_nonnegative(f"{owner}.{name}", value)


def _check_finite(owner: str, name: str, value: float) -> None:
    check_finite(f"{owner}.{name}", value)




def _check_common(owner: str, p: Any) -> None:
    _check_finite(owner, "v_threshold", p.v_threshold)
    _check_finite(owner, "v_reset", p.v_reset)
    _check_nonnegative(owner, "tau_refractory", p.tau_refractory)
    if p.reset not in RESET_MODES:
        raise ValueError(f"{owner}.reset must be one of {RESET_MODES}, got {p.reset!r}")
    if not isinstance(p.synapses, (CurrentSynapses, ConductanceSynapses, DeltaSynapses,
                                   AlphaCurrentSynapses, AlphaConductanceSynapses)):
        raise TypeError(
            f"{owner}.synapses must be CurrentSynapses, ConductanceSynapses, DeltaSynapses, "
            f"AlphaCurrentSynapses or AlphaConductanceSynapses, got {type(p.synapses).__name__}"
        )


@dataclass(frozen=True)
class LIFParams:
    """Leaky integrate-and-fire neuron.

    ``tau_m dv/dt = (v_rest - v) + r_m * (I_ext + I_syn)`` for current synapses, and
    ``tau_m dv/dt = (v_rest - v) + r_m * (g_e (E_e - v) + g_i (E_i - v) + I_ext)`` for
    conductance synapses.  A spike is emitted when ``v > v_threshold``; the membrane is then
    set to ``v_reset`` (``reset="value"``) or lowered by ``v_threshold - v_reset``
    (``reset="subtract"``) and held for ``tau_refractory``.
    """

    tau_m: float = 20e-3  #: membrane time constant (s)
    v_rest: float = -65e-3  #: resting (leak reversal) potential (V)
    v_threshold: float = -50e-3  #: firing threshold (V)
    v_reset: float = -65e-3  #: reset potential (V)
    r_m: float = 100e6  #: membrane resistance (ohm); 1 / leak conductance
    tau_refractory: float = 2e-3  #: absolute refractory period (s); v is clamped meanwhile
    reset: str = "value"  #: "value" (v <- v_reset) or "subtract" (v -= v_threshold - v_reset)
    synapses: Synapses = field(default_factory=CurrentSynapses)

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _check_positive(owner, "tau_m", self.tau_m)
        _check_finite(owner, "v_rest", self.v_rest)
        _check_positive(owner, "r_m", self.r_m)
        _check_common(owner, self)


@dataclass(frozen=True)
class ALIFParams(LIFParams):
    """Adaptive-threshold LIF: each spike raises the threshold by ``threshold_increment``.

    The threshold offset ``a`` (V) decays as ``tau_adapt da/dt = -a`` and the neuron fires
    when ``v > v_threshold + a`` (Bellec et al. 2018, "Long short-term memory and
    learning-to-learn in networks of spiking neurons").
    """

    tau_adapt: float = 200e-3  #: decay time constant of the threshold offset (s)
    threshold_increment: float = 1e-3  #: threshold rise per spike (V)

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_positive("ALIFParams", "tau_adapt", self.tau_adapt)
        _check_nonnegative("ALIFParams", "threshold_increment", self.threshold_increment)


@dataclass(frozen=True)
class IFParams:
    """Perfect (non-leaky) integrate-and-fire neuron: ``c_m dv/dt = I_ext + I_syn``.

    Only current-based synapses are accepted: with no leak, a conductance-based membrane
    has no resting conductance to normalise by.
    """

    c_m: float = 200e-12  #: membrane capacitance (F)
    v_threshold: float = -50e-3  #: firing threshold (V)
    v_reset: float = -65e-3  #: reset potential (V)
    tau_refractory: float = 0.0  #: absolute refractory period (s)
    reset: str = "value"  #: "value" or "subtract", as for LIFParams
    synapses: Synapses = field(default_factory=CurrentSynapses)

    def __post_init__(self) -> None:
        _check_positive("IFParams", "c_m", self.c_m)
        _check_common("IFParams", self)
        if isinstance(self.synapses, (ConductanceSynapses, AlphaConductanceSynapses)):
            raise ValueError(
                "IFParams.synapses must be a current kind (CurrentSynapses, "
                "AlphaCurrentSynapses, DeltaSynapses): a non-leaky membrane cannot use "
                "conductance synapses"
            )


NeuronParams = Union[LIFParams, ALIFParams, IFParams]


class NeuronState(NamedTuple):
    """State of a population (or one neuron); every field has the same shape.

    ``adaptation`` stays zero for models without threshold adaptation, and ``refractory``
    counts the steps the membrane remains clamped (a float so that all fields share a dtype).
    """

    v: Any  #: membrane potential (V)
    syn_exc: Any  #: excitatory synaptic current (A) or conductance (S)
    syn_inh: Any  #: inhibitory synaptic current (A) or conductance (S)
    adaptation: Any  #: threshold offset (V)
    refractory: Any  #: remaining refractory steps


STATE_VARIABLES: tuple[str, ...] = NeuronState._fields


class Coeffs(NamedTuple):
    """Per-step coefficients of a model for a fixed ``dt``; all plain floats."""

    conductance: float  #: 1.0 for conductance synapses, 0.0 for current synapses
    decay_m: float  #: exp(-dt / tau_m); 1 for IF
    v_rest: float  #: resting potential (V)
    gain_ext: float  #: V per A of external current held over one step
    decay_exc: float  #: exp(-dt / tau_exc)
    gain_exc: float  #: V per A of excitatory current at step start (current synapses)
    decay_inh: float  #: exp(-dt / tau_inh)
    gain_inh: float  #: V per A of inhibitory current at step start (current synapses)
    v_threshold: float  #: base threshold (V)
    v_reset: float  #: reset potential (V)
    subtract_reset: float  #: 1.0 for reset by subtraction, 0.0 for reset to v_reset
    refractory_steps: float  #: refractory period in whole steps
    decay_adapt: float  #: exp(-dt / tau_adapt); 1 without adaptation
    threshold_increment: float  #: threshold rise per spike (V)
    neg_dt_over_tau_m: float  #: -dt / tau_m (conductance synapses)
    r_m: float  #: membrane resistance (ohm)
    e_exc: float  #: excitatory reversal potential (V)
    e_inh: float  #: inhibitory reversal potential (V)


AlphaCoeffs = NamedTuple("AlphaCoeffs", [(name, float) for name in
                                          Coeffs._fields + SynapseCoeffs._fields])
AlphaCoeffs.__doc__ = """Coefficients of a LIF-family model with alpha synapses: the fields of
:class:`Coeffs` (``gain_exc``/``gain_inh`` unused) followed by those of
:class:`snn.synapses.SynapseCoeffs`."""


# Compiled loops take coefficients as float rows: numba's parallel loops cannot take a tuple
# of named tuples, and one float matrix holds every population's.
_N_COEFFS = len(Coeffs._fields)


def pack_coeffs(c: Coeffs) -> np.ndarray:
    """``c`` as a float64 row ``[len(Coeffs._fields)]`` in field order (see
    :func:`unpack_coeffs`)."""
    if not isinstance(c, Coeffs):
        raise TypeError(f"c must be Coeffs, got {type(c).__name__}")
    return np.array(c, dtype=np.float64)


def unpack_coeffs(row: np.ndarray) -> Coeffs:
    """The :class:`Coeffs` of a row made by :func:`pack_coeffs` (plain Python floats);
    callable from numba-compiled code too, where it is inlined."""
    if len(row) != _N_COEFFS:
        raise ValueError(f"row must hold {_N_COEFFS} coefficients, got {len(row)}")
    return Coeffs(*(float(x) for x in row))


@overload(unpack_coeffs, inline="always")
def _unpack_coeffs_compiled(row):  # pragma: no cover (compiled)
    def impl(row):
        return Coeffs(*to_fixed_tuple(row, _N_COEFFS))
    return impl


def _synaptic_gain(tau_s: float, tau_m: float, dt: float, r_m: float) -> float:
    """Membrane response over one step to a unit exponential current present at its start.

    Solution of ``tau_m du/dt = -u + r_m * exp(-t/tau_s)`` with ``u(0) = 0`` at ``t = dt``.
    """
    decay_m = math.exp(-dt / tau_m)
    decay_s = math.exp(-dt / tau_s)
    if math.isclose(tau_s, tau_m, rel_tol=1e-12):
        return r_m * (dt / tau_m) * decay_m
    return r_m * tau_s / (tau_s - tau_m) * (decay_s - decay_m)


def refractory_steps(tau_refractory: float, dt: float) -> int:
    """Number of clamped steps after a spike (Brian2's ``timestep`` rounding).

    Args:
        tau_refractory: refractory period (s, >= 0).
        dt: time step (s, > 0).

    Returns:
        ``floor(tau_refractory / dt + 1e-3)``: the period in whole steps.
    """
    return int(math.floor(tau_refractory / dt + 1e-3))


@register_jitable(inline="always")
def layer_coeffs(decay_m: Any, gain_ext: Any, v_threshold: Any, v_rest: Any, v_reset: Any,
                 subtract_reset: Any, decay_adapt: Any, threshold_increment: Any) -> Coeffs:
    """Coefficients of the discrete-time LIF of training layers, ``u = v_rest + (v - v_rest)
    decay_m + gain_ext x``: no synaptic filter, no refractory period, current-based.

    Python, numba-compiled code and torch tensors alike (entries may be tensors).

    Args:
        decay_m: membrane decay per step (``beta``).
        gain_ext: input gain (V per unit of input).
        v_threshold: base threshold (V).
        v_rest: resting potential (V).
        v_reset: reset potential (V).
        subtract_reset: 1.0 for reset by subtraction, 0.0 for reset to ``v_reset``.
        decay_adapt: threshold-adaptation decay per step (1.0: none).
        threshold_increment: threshold rise per spike (V).

    Returns:
        The :class:`Coeffs` with every synaptic, refractory and conductance entry 0.
    """
    return Coeffs(0.0, decay_m, v_rest, gain_ext, 0.0, 0.0, 0.0, 0.0, v_threshold, v_reset,
                  subtract_reset, 0.0, decay_adapt, threshold_increment, 0.0, 0.0, 0.0, 0.0)


def coeffs(params: NeuronParams, dt: float) -> Coeffs:
    """Per-step coefficients of a model: every exponential of the step, taken once.

    Args:
        params: a :class:`LIFParams`, :class:`ALIFParams` or :class:`IFParams`.
        dt: time step (s, > 0).

    Returns:
        The :class:`Coeffs` (plain floats; units in its field comments).
    """
    if not isinstance(params, (LIFParams, IFParams)):
        raise TypeError(
            f"params must be LIFParams, ALIFParams or IFParams, got {type(params).__name__}"
        )
    _check_positive("coeffs", "dt", dt)
    syn = params.synapses
    if isinstance(syn, ALPHA_KINDS):
        # The membrane coefficients of the current-based model, and the synapse kind's own.
        base = coeffs(replace(params, synapses=CurrentSynapses(syn.tau_exc, syn.tau_inh)), dt)
        base = base._replace(conductance=float(isinstance(syn, AlphaConductanceSynapses)),
                             gain_exc=0.0, gain_inh=0.0)
        return AlphaCoeffs(*base, *synapse_coeffs(syn, dt))
    delta = isinstance(syn, DeltaSynapses)
    # Delta synapses: the weight reaches the membrane whole (gain 1) and is gone (decay 0).
    decay_exc = 0.0 if delta else math.exp(-dt / syn.tau_exc)
    decay_inh = 0.0 if delta else math.exp(-dt / syn.tau_inh)
    common = dict(
        decay_exc=decay_exc,
        decay_inh=decay_inh,
        v_threshold=float(params.v_threshold),
        v_reset=float(params.v_reset),
        subtract_reset=1.0 if params.reset == "subtract" else 0.0,
        refractory_steps=float(refractory_steps(params.tau_refractory, dt)),
    )
    if isinstance(params, ALIFParams):
        adapt = dict(
            decay_adapt=math.exp(-dt / params.tau_adapt),
            threshold_increment=float(params.threshold_increment),
        )
    else:
        adapt = dict(decay_adapt=1.0, threshold_increment=0.0)
    if isinstance(params, IFParams):
        # No leak: the limit tau_m -> infinity of the LIF solution.
        return Coeffs(
            conductance=0.0,
            decay_m=1.0,
            v_rest=0.0,
            gain_ext=dt / params.c_m,
            gain_exc=1.0 if delta else syn.tau_exc * (1.0 - decay_exc) / params.c_m,
            gain_inh=1.0 if delta else syn.tau_inh * (1.0 - decay_inh) / params.c_m,
            neg_dt_over_tau_m=0.0,
            r_m=0.0,
            e_exc=0.0,
            e_inh=0.0,
            **common,
            **adapt,
        )
    decay_m = math.exp(-dt / params.tau_m)
    conductance = isinstance(syn, ConductanceSynapses)
    return Coeffs(
        conductance=1.0 if conductance else 0.0,
        decay_m=decay_m,
        v_rest=float(params.v_rest),
        gain_ext=params.r_m * (1.0 - decay_m),
        gain_exc=0.0 if conductance else 1.0 if delta else _synaptic_gain(
            syn.tau_exc, params.tau_m, dt, params.r_m),
        gain_inh=0.0 if conductance else 1.0 if delta else _synaptic_gain(
            syn.tau_inh, params.tau_m, dt, params.r_m),
        neg_dt_over_tau_m=-dt / params.tau_m,
        r_m=float(params.r_m),
        e_exc=float(syn.e_exc) if conductance else 0.0,
        e_inh=float(syn.e_inh) if conductance else 0.0,
        **common,
        **adapt,
    )


@register_jitable(inline="always")
def heaviside(x: Any) -> Any:
    """The simulation spike function: 1.0 where ``x > 0``, else 0.0.

    Args:
        x: ``v - threshold`` (V): a finite float, numpy array or torch tensor.

    Returns:
        The spike indicator, shaped like ``x`` and in its dtype.
    """
    # Adding 0 * x keeps the dtype of x: a bare bool * 1.0 is float32 for torch tensors.
    return (x > 0.0) + 0.0 * x


@register_jitable(inline="always")
def heaviside_scalar(x: float) -> float:
    """:func:`heaviside` for one float, as a select: equal to it for finite ``x`` and fewer
    instructions inside compiled loops (not for arrays or tensors).

    Args:
        x: ``v - threshold`` (V), one float.

    Returns:
        1.0 where ``x > 0``, else 0.0.
    """
    return 1.0 if x > 0.0 else 0.0


@register_jitable(inline="always")
def leaky_integrate(v: Any, x: Any, decay: Any, v_rest: Any, gain: Any) -> Any:
    """The leaky membrane over one step, before threshold: ``v_rest + (v - v_rest) * decay +
    x * gain``.  Discrete-time layers use it as ``leaky_integrate(v, x, beta, 0.0, 1.0)``
    (``u = beta * v + x``).

    Args:
        v: membrane potential at the start of the step (V).
        x: input held over the step (A for the engine's external current).
        decay: membrane decay over the step (``exp(-dt / tau_m)``; 1 without leak).
        v_rest: resting potential (V).
        gain: membrane response to a unit input over the step (V per unit of ``x``).

    Returns:
        The free membrane potential (V).

    Shapes:
        Scalars, arrays or tensors that broadcast together; the result has their shape.
    """
    return v_rest + (v - v_rest) * decay + x * gain


@register_jitable(inline="always")
def reset_membrane(v: Any, spike: Any, threshold: Any, v_reset: Any, subtract_reset: Any) -> Any:
    """The membrane after threshold and reset: ``v`` where ``spike`` is 0; where it is 1,
    ``v_reset`` (``subtract_reset = 0``, reset to a value) or ``v - (threshold - v_reset)``
    (``subtract_reset = 1``, reset by subtraction).  Exact for ``spike`` in {0, 1}.

    Args:
        v: membrane potential before reset (V).
        spike: spike indicator (0 or 1).
        threshold: the threshold the membrane was compared with (V).
        v_reset: reset potential (V).
        subtract_reset: 1.0 for reset by subtraction, 0.0 for reset to ``v_reset``.

    Returns:
        The membrane potential after reset (V).

    Shapes:
        Scalars, arrays or tensors that broadcast together.
    """
    v_after_spike = subtract_reset * (v - (threshold - v_reset)) + (1.0 - subtract_reset) * v_reset
    return spike * v_after_spike + (1.0 - spike) * v


@register_jitable(inline="always")
def fire_and_reset(state: NeuronState, v_free: Any, refractory: Any, active: Any, c: Coeffs,
                   spike_fn: Callable[[Any], Any] | None) -> tuple[NeuronState, Any]:
    """Second half of every step: refractory clamp, synapse and adaptation decay, threshold,
    reset.

    Args:
        state: the state at the start of the step.
        v_free: membrane potential integrated over the step as if no threshold existed (V).
        refractory: the refractory count after this step's countdown (steps).
        active: 1 where the neuron is not refractory, 0 where it is.
        c: the model's coefficients.
        spike_fn: maps ``v - threshold`` (V) to the spike indicator.

    Returns:
        ``(new state, spike indicator)``; every field shaped like ``state.v``.
    """
    syn_exc = state.syn_exc * c.decay_exc
    syn_inh = state.syn_inh * c.decay_inh
    v, adaptation, refractory, spike = _threshold_and_reset(state, v_free, refractory, active,
                                                            c, spike_fn)
    return NeuronState(v, syn_exc, syn_inh, adaptation, refractory), spike


@register_jitable(inline="always")
def _threshold_and_reset(state: Any, v_free: Any, refractory: Any, active: Any, c: Any,
                         spike_fn: Callable[[Any], Any]) -> tuple[Any, Any, Any, Any]:
    # Refractory neurons keep their potential; the blends are exact for active in {0, 1}.
    v = active * v_free + (1.0 - active) * state.v
    adaptation = state.adaptation * c.decay_adapt
    threshold = c.v_threshold + adaptation
    spike = spike_fn(v - threshold) * active
    v = reset_membrane(v, spike, threshold, c.v_reset, c.subtract_reset)
    adaptation = adaptation + spike * c.threshold_increment
    refractory = refractory + spike * c.refractory_steps
    return v, adaptation, refractory, spike


@register_jitable(inline="always")
def _refractory_countdown(state: NeuronState) -> tuple[Any, Any]:
    refractory = state.refractory - (state.refractory > 0.0) * 1.0
    active = (refractory <= 0.0) * 1.0
    return refractory, active


@register_jitable(inline="always")
def free_potential_current(state: NeuronState, i_ext: Any, c: Coeffs) -> Any:
    """Membrane potential after one step with current synapses, before threshold and
    reset: the exact solution for ``i_ext`` held over the step and the synaptic currents
    decaying from their values at its start.

    Args:
        state: the state at the start of the step.
        i_ext: external current held over the step (A).
        c: the model's coefficients.

    Returns:
        The free membrane potential (V), shaped like ``state.v``.
    """
    return (
        leaky_integrate(state.v, i_ext, c.decay_m, c.v_rest, c.gain_ext)
        + state.syn_exc * c.gain_exc
        + state.syn_inh * c.gain_inh
    )


@register_jitable(inline="always")
def _step_current(state: NeuronState, i_ext: Any, c: Coeffs, spike_fn: Callable[[Any], Any],
                  exp: Any) -> tuple[NeuronState, Any]:
    # ``exp`` goes unused: the model API's step signature (current synapses need none).
    refractory, active = _refractory_countdown(state)
    v_free = free_potential_current(state, i_ext, c)
    return fire_and_reset(state, v_free, refractory, active, c, spike_fn)


def step_current(state: NeuronState, i_ext: Any, c: Coeffs,
                 spike_fn: Callable[[Any], Any] | None = None) -> tuple[NeuronState, Any]:
    """One step of a LIF/ALIF/IF neuron with current synapses.

    Args:
        state: the state at the start of the step.
        i_ext: external current held over the step (A).
        c: the model's coefficients (:func:`coeffs`).
        spike_fn: maps ``v - threshold`` (V) to the spike indicator (None:
            :func:`heaviside`; a surrogate-gradient spike for training).

    Returns:
        ``(new state, spike indicator)``: the indicator is 1.0 where a spike was emitted.

    Shapes:
        Scalars, numpy arrays or torch tensors; every field of ``state`` and ``i_ext``
        broadcast together (``[n_neurons]`` or ``[B, n_neurons]``), and so do the results.
    """
    return _step_current(state, i_ext, c, heaviside if spike_fn is None else spike_fn, None)


@register_jitable(inline="always")
def _step_conductance(state: NeuronState, i_ext: Any, c: Coeffs, spike_fn: Callable[[Any], Any],
                      exp: Callable[[Any], Any]) -> tuple[NeuronState, Any]:
    refractory, active = _refractory_countdown(state)
    # Total conductance in units of the leak conductance.
    g_total = 1.0 + c.r_m * (state.syn_exc + state.syn_inh)
    v_inf = (
        c.v_rest + c.r_m * (state.syn_exc * c.e_exc + state.syn_inh * c.e_inh + i_ext)
    ) / g_total
    v_free = v_inf + (state.v - v_inf) * exp(c.neg_dt_over_tau_m * g_total)
    return fire_and_reset(state, v_free, refractory, active, c, spike_fn)


def step_conductance(state: NeuronState, i_ext: Any, c: Coeffs,
                     spike_fn: Callable[[Any], Any] | None = None,
                     exp: Callable[[Any], Any] | None = None) -> tuple[NeuronState, Any]:
    """One step of a LIF/ALIF neuron with conductance synapses (exponential Euler for v;
    the conductances are those at the start of the step).

    Args:
        state: the state at the start of the step (``syn_exc``/``syn_inh`` in S).
        i_ext: external current held over the step (A).
        c: the model's coefficients (:func:`coeffs`).
        spike_fn: as for :func:`step_current` (None: :func:`heaviside`).
        exp: the exponential for the argument type (e.g. ``numpy.exp`` for arrays,
            ``torch.exp`` for tensors; None: ``math.exp``, for scalars).

    Returns:
        ``(new state, spike indicator)``, as for :func:`step_current`.

    Shapes:
        As for :func:`step_current`.
    """
    return _step_conductance(state, i_ext, c, heaviside if spike_fn is None else spike_fn,
                             math.exp if exp is None else exp)


# Compiled code calls the same two functions; the defaults are chosen while typing, so the
# compiled step is the one it was before defaults existed.
def _given(arg: Any) -> bool:
    return arg is not None and not isinstance(arg, (types.NoneType, types.Omitted))


@overload(step_current, inline="always")
def _step_current_compiled(state, i_ext, c, spike_fn=None):
    if _given(spike_fn):
        return lambda state, i_ext, c, spike_fn=None: _step_current(state, i_ext, c, spike_fn,
                                                                    None)
    return lambda state, i_ext, c, spike_fn=None: _step_current(state, i_ext, c,
                                                                heaviside_scalar, None)


@overload(step_conductance, inline="always")
def _step_conductance_compiled(state, i_ext, c, spike_fn=None, exp=None):
    if _given(spike_fn) and _given(exp):
        return lambda state, i_ext, c, spike_fn=None, exp=None: _step_conductance(
            state, i_ext, c, spike_fn, exp)
    raise TypeError("compiled code must pass spike_fn and exp to step_conductance")


def step(state: NeuronState, i_ext: Any, c: Coeffs, spike_fn: Callable[[Any], Any] | None = None,
         exp: Callable[[Any], Any] | None = None) -> tuple[NeuronState, Any]:
    """One step of any model: :func:`step_current` or :func:`step_conductance` by
    ``c.conductance``.

    Args:
        state: the state at the start of the step.
        i_ext: external current held over the step (A).
        c: the model's coefficients (:func:`coeffs`).
        spike_fn: maps ``v - threshold`` (V) to the spike indicator (None:
            :func:`heaviside`).
        exp: the exponential for the argument type (conductance synapses only; None:
            ``math.exp``, for scalars).

    Returns:
        ``(new state, spike indicator)``.

    Shapes:
        As for :func:`step_current`.
    """
    if c.conductance:
        return step_conductance(state, i_ext, c, spike_fn, exp)
    return step_current(state, i_ext, c, spike_fn)


@register_jitable(inline="always")
def step_alpha(state: Any, i_ext: Any, c: Any, spike_fn: Callable[[Any], Any],
               exp: Callable[[Any], Any]) -> tuple[tuple, Any]:
    """One step of a LIF/ALIF/IF neuron with alpha synapses (:class:`AlphaCoeffs`).

    The synaptic current or conductance is held at its start-of-step value over the step and
    the membrane integrated exactly for it (exponential Euler; for current synapses this is
    :func:`leaky_integrate` of ``i_ext + I_syn``); the synapses themselves are integrated
    exactly (:func:`snn.synapses.decay_synapses`).

    Args:
        state: the state (``v, syn_exc, syn_inh, adaptation, refractory, rise_exc,
            rise_inh``) at the start of the step.
        i_ext: external current held over the step (A).
        c: the model's :class:`AlphaCoeffs`.
        spike_fn: maps ``v - threshold`` (V) to the spike indicator.
        exp: the exponential for the argument type.

    Returns:
        ``(new state as a tuple, spike indicator)``.
    """
    refractory, active = _refractory_countdown(state)
    drive = synaptic_drive(state, c) + i_ext
    if c.conductance:
        g_total = 1.0 + c.r_m * synaptic_conductance(state, c)
        v_inf = (c.v_rest + c.r_m * drive) / g_total
        v_free = v_inf + (state.v - v_inf) * exp(c.neg_dt_over_tau_m * g_total)
    else:
        v_free = leaky_integrate(state.v, drive, c.decay_m, c.v_rest, c.gain_ext)
    syn_exc, syn_inh, rise_exc, rise_inh = decay_synapses(state, c)
    v, adaptation, refractory, spike = _threshold_and_reset(state, v_free, refractory, active,
                                                            c, spike_fn)
    return (v, syn_exc, syn_inh, adaptation, refractory, rise_exc, rise_inh), spike


def _lif_state(synapse_unit: str, alpha: bool, v_initial: str) -> tuple[StateVariable, ...]:
    variables = (StateVariable("v", "V", v_initial),
                 StateVariable("syn_exc", synapse_unit), StateVariable("syn_inh", synapse_unit),
                 StateVariable("adaptation", "V"), StateVariable("refractory", "steps"))
    if alpha:
        variables += (StateVariable("rise_exc", synapse_unit),
                      StateVariable("rise_inh", synapse_unit))
    return variables


_LIF_SOURCE = ("Leaky integrate-and-fire (Lapicque 1907; Gerstner et al. 2014, ch. 1), "
               "adaptive threshold of Bellec et al. 2018; exact integration for current "
               "synapses, exponential Euler for conductances (Brian2's exponential_euler)")


def _lif_models(params_type: type, v_initial: str) -> dict[str, NeuronModel]:
    name = params_type.__name__.removesuffix("Params")
    declare = lambda suffix, unit, alpha, step, work: define_model(  # noqa: E731
        f"{name}{suffix}", params_type, state=_lif_state(unit, alpha, v_initial),
        coeffs=coeffs, step=step, work=work, source=_LIF_SOURCE, register=False,
        inputs=("rise_exc", "rise_inh") if alpha else ("syn_exc", "syn_inh"))
    return {
        "current": declare("", "A", False, _step_current, 1.0),
        "delta": declare("Delta", "V", False, _step_current, 1.0),
        "conductance": declare("Conductance", "S", False, _step_conductance, 3.0),
        "alpha_current": declare("AlphaCurrent", "A", True, step_alpha, 1.5),
        "alpha_conductance": declare("AlphaConductance", "S", True, step_alpha, 3.5),
    }


_SYNAPSE_KEYS = {CurrentSynapses: "current", DeltaSynapses: "delta",
                 ConductanceSynapses: "conductance", AlphaCurrentSynapses: "alpha_current",
                 AlphaConductanceSynapses: "alpha_conductance"}
LIF_MODELS = {cls: _lif_models(cls, "v_reset" if cls is IFParams else "v_rest")
              for cls in (LIFParams, ALIFParams, IFParams)}
for _cls, _models in LIF_MODELS.items():
    register_params(_cls, lambda params, models=_models: models[
        _SYNAPSE_KEYS[type(params.synapses)]])
