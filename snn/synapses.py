"""Synapse kinds, written once for every neuron model.

A synapse kind fixes the synaptic state variables a neuron carries, which of them receive the
weights of arriving spikes, how they decay over a step, and the current they drive into the
membrane.  Every kind has two channels, excitatory and inhibitory.

* :class:`CurrentSynapses`, :class:`ConductanceSynapses`: exponential currents (A) or
  conductances (S): a spike adds its weight to ``syn_exc`` / ``syn_inh``, which decay with
  ``tau_exc`` / ``tau_inh``.
* :class:`AlphaCurrentSynapses`, :class:`AlphaConductanceSynapses`: alpha functions,
  ``w * (t / tau) * exp(1 - t / tau)`` after a spike of weight ``w`` (peak ``w`` at
  ``t = tau``).  Two variables per channel: a spike adds its weight to ``rise_exc`` /
  ``rise_inh``, which decays with ``tau`` and feeds ``syn_exc`` / ``syn_inh``:
  ``tau d(syn)/dt = e * rise - syn``, ``tau d(rise)/dt = -rise``.
* :class:`DeltaSynapses`: the weight (V) is added to the membrane at once (LIF family only).

The synaptic variables are integrated exactly over a step (they are linear and do not depend
on the membrane); models read them at the start of the step, so an input at step ``t`` acts on
the membrane from step ``t + 1`` on, whatever the neuron model.

For a model step function, the current into the membrane is
``synaptic_drive(state, c) - synaptic_conductance(state, c) * v`` (A): current synapses have
zero conductance; conductance synapses drive towards their reversal potentials.  These
functions and :func:`decay_synapses` work on Python and numba scalars, numpy arrays and
torch tensors; which kind they apply is read from the state (alpha kinds carry ``rise_exc``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple, Union

from numba import types
from numba.extending import overload, register_jitable

from .validation import check_finite, check_positive

__all__ = [
    "CurrentSynapses",
    "ConductanceSynapses",
    "AlphaCurrentSynapses",
    "AlphaConductanceSynapses",
    "DeltaSynapses",
    "Synapses",
    "SynapseCoeffs",
    "synapse_coeffs",
    "synapse_state",
    "synaptic_drive",
    "synaptic_conductance",
    "synaptic_current",
    "decay_synapses",
]


def _check_taus(owner: str, tau_exc: float, tau_inh: float) -> None:
    check_positive(f"{owner}.tau_exc", tau_exc)
    check_positive(f"{owner}.tau_inh", tau_inh)


@dataclass(frozen=True)
class CurrentSynapses:
    """Current-based exponential synapses (CUBA): two channels, excitatory and inhibitory.

    Each synaptic current (A) jumps by the synaptic weight (A; negative for inhibition by
    convention) on a presynaptic spike and decays with its time constant.
    """

    tau_exc: float = 5e-3  #: decay time constant of the excitatory current (s)
    tau_inh: float = 10e-3  #: decay time constant of the inhibitory current (s)

    def __post_init__(self) -> None:
        _check_taus("CurrentSynapses", self.tau_exc, self.tau_inh)


@dataclass(frozen=True)
class ConductanceSynapses:
    """Conductance-based exponential synapses (COBA).

    Each conductance (S) jumps by the synaptic weight (S, >= 0) on a presynaptic spike and
    decays with its time constant; it drives the membrane towards its reversal potential.
    """

    tau_exc: float = 5e-3  #: decay time constant of the excitatory conductance (s)
    tau_inh: float = 10e-3  #: decay time constant of the inhibitory conductance (s)
    e_exc: float = 0.0  #: excitatory reversal potential (V)
    e_inh: float = -80e-3  #: inhibitory reversal potential (V)

    def __post_init__(self) -> None:
        _check_taus("ConductanceSynapses", self.tau_exc, self.tau_inh)
        check_finite("ConductanceSynapses.e_exc", self.e_exc)
        check_finite("ConductanceSynapses.e_inh", self.e_inh)


@dataclass(frozen=True)
class AlphaCurrentSynapses:
    """Current-based alpha synapses: a spike of weight ``w`` (A; negative inhibits) gives the
    current ``w * (t / tau) * exp(1 - t / tau)``, rising to ``w`` at ``t = tau``."""

    tau_exc: float = 5e-3  #: time to peak of the excitatory current (s)
    tau_inh: float = 10e-3  #: time to peak of the inhibitory current (s)

    def __post_init__(self) -> None:
        _check_taus("AlphaCurrentSynapses", self.tau_exc, self.tau_inh)


@dataclass(frozen=True)
class AlphaConductanceSynapses:
    """Conductance-based alpha synapses: a spike of weight ``w`` (S, >= 0) gives the
    conductance ``w * (t / tau) * exp(1 - t / tau)`` towards the channel's reversal
    potential."""

    tau_exc: float = 5e-3  #: time to peak of the excitatory conductance (s)
    tau_inh: float = 10e-3  #: time to peak of the inhibitory conductance (s)
    e_exc: float = 0.0  #: excitatory reversal potential (V)
    e_inh: float = -80e-3  #: inhibitory reversal potential (V)

    def __post_init__(self) -> None:
        _check_taus("AlphaConductanceSynapses", self.tau_exc, self.tau_inh)
        check_finite("AlphaConductanceSynapses.e_exc", self.e_exc)
        check_finite("AlphaConductanceSynapses.e_inh", self.e_inh)


@dataclass(frozen=True)
class DeltaSynapses:
    """Instantaneous (delta) synapses: an arriving spike adds its weight (V; negative
    inhibits) to the membrane potential at the start of the step it arrives in, undecayed,
    and nothing remains for later steps.

    This is the synapse of discrete-time training layers (``u_t = beta * v_{t-1} + W s``):
    networks trained with :mod:`snn.layers` export to populations with these synapses.
    Both channels act alike.  (Brian2's ``on_pre="v_post += w"`` adds the weight at the end
    of the arrival step, so the membrane sees it decayed once by ``exp(-dt / tau_m)``.)
    Only the LIF family (:mod:`snn.models`) accepts them.
    """


Synapses = Union[CurrentSynapses, ConductanceSynapses, AlphaCurrentSynapses,
                 AlphaConductanceSynapses, DeltaSynapses]
SYNAPSE_KINDS = (CurrentSynapses, ConductanceSynapses, AlphaCurrentSynapses,
                 AlphaConductanceSynapses, DeltaSynapses)
CONDUCTANCE_KINDS = (ConductanceSynapses, AlphaConductanceSynapses)
ALPHA_KINDS = (AlphaCurrentSynapses, AlphaConductanceSynapses)


class SynapseCoeffs(NamedTuple):
    """Per-step coefficients of a synapse kind (plain floats); a model's own coefficient
    tuple carries these fields under the same names."""

    syn_decay_exc: float  #: exp(-dt / tau_exc)
    syn_decay_inh: float  #: exp(-dt / tau_inh)
    syn_rise_exc: float  #: e * dt / tau_exc: rise -> syn over a step (alpha kinds; else 0)
    syn_rise_inh: float  #: e * dt / tau_inh (alpha kinds; else 0)
    syn_drive_exc: float  #: 1 for currents, e_exc (V) for conductances
    syn_drive_inh: float  #: 1 for currents, e_inh (V) for conductances
    syn_conductance: float  #: 1.0 for conductance kinds, 0.0 for current kinds


def check_synapses(owner: str, synapses: Any, allowed: tuple[type, ...] = SYNAPSE_KINDS) -> None:
    """TypeError naming ``owner.synapses`` unless ``synapses`` is one of ``allowed``."""
    if not isinstance(synapses, allowed):
        names = ", ".join(kind.__name__ for kind in allowed)
        raise TypeError(f"{owner}.synapses must be one of {names}, "
                        f"got {type(synapses).__name__}")


def synapse_state(synapses: Synapses) -> tuple[tuple[str, str], ...]:
    """The synaptic state variables of a kind: ``((name, unit), ...)`` in declaration
    order; the first two (``syn_exc``, ``syn_inh``) act on the membrane, and the spikes
    arrive at the last two (the same two for exponential kinds)."""
    check_synapses("synapse_state", synapses, SYNAPSE_KINDS[:4])
    unit = "S" if isinstance(synapses, CONDUCTANCE_KINDS) else "A"
    variables = (("syn_exc", unit), ("syn_inh", unit))
    if isinstance(synapses, ALPHA_KINDS):
        variables += (("rise_exc", unit), ("rise_inh", unit))
    return variables


def synapse_inputs(synapses: Synapses) -> tuple[str, str]:
    """The state variables that receive the weights of excitatory and inhibitory spikes."""
    if isinstance(synapses, ALPHA_KINDS):
        return ("rise_exc", "rise_inh")
    return ("syn_exc", "syn_inh")


def synapse_coeffs(synapses: Synapses, dt: float) -> SynapseCoeffs:
    """The per-step coefficients of a synapse kind (exact integration over ``dt``).

    Args:
        synapses: an exponential or alpha kind.
        dt: time step (s, > 0).

    Returns:
        The :class:`SynapseCoeffs`.
    """
    check_synapses("synapse_coeffs", synapses, SYNAPSE_KINDS[:4])
    check_positive("dt", dt)
    conductance = isinstance(synapses, CONDUCTANCE_KINDS)
    alpha = isinstance(synapses, ALPHA_KINDS)
    return SynapseCoeffs(
        syn_decay_exc=math.exp(-dt / synapses.tau_exc),
        syn_decay_inh=math.exp(-dt / synapses.tau_inh),
        syn_rise_exc=math.e * dt / synapses.tau_exc if alpha else 0.0,
        syn_rise_inh=math.e * dt / synapses.tau_inh if alpha else 0.0,
        syn_drive_exc=float(synapses.e_exc) if conductance else 1.0,
        syn_drive_inh=float(synapses.e_inh) if conductance else 1.0,
        syn_conductance=1.0 if conductance else 0.0,
    )


@register_jitable(inline="always")
def synaptic_drive(state: Any, c: Any) -> Any:
    """The synaptic current at zero membrane potential (A): ``syn_exc + syn_inh`` for current
    kinds, ``g_exc e_exc + g_inh e_inh`` for conductance kinds.

    Args:
        state: a model state with ``syn_exc`` and ``syn_inh``.
        c: the model's coefficients (with the :class:`SynapseCoeffs` fields).

    Returns:
        Shaped like ``state.syn_exc``.
    """
    return state.syn_exc * c.syn_drive_exc + state.syn_inh * c.syn_drive_inh


@register_jitable(inline="always")
def synaptic_conductance(state: Any, c: Any) -> Any:
    """The total synaptic conductance (S): ``g_exc + g_inh`` for conductance kinds, 0 for
    current kinds.  The synaptic current is ``synaptic_drive - synaptic_conductance * v``.

    Args:
        state: a model state with ``syn_exc`` and ``syn_inh``.
        c: the model's coefficients.

    Returns:
        Shaped like ``state.syn_exc``.
    """
    return (state.syn_exc + state.syn_inh) * c.syn_conductance


@register_jitable(inline="always")
def synaptic_current(state: Any, v: Any, c: Any) -> Any:
    """The synaptic current into the membrane at potential ``v`` (A).

    Args:
        state: a model state with ``syn_exc`` and ``syn_inh``.
        v: membrane potential (V).
        c: the model's coefficients.

    Returns:
        ``synaptic_drive(state, c) - synaptic_conductance(state, c) * v``.
    """
    return synaptic_drive(state, c) - synaptic_conductance(state, c) * v


@register_jitable(inline="always")
def _decay_exponential(state: Any, c: Any) -> tuple:
    return (state.syn_exc * c.syn_decay_exc, state.syn_inh * c.syn_decay_inh)


@register_jitable(inline="always")
def _decay_alpha(state: Any, c: Any) -> tuple:
    # Exact over the step: rise decays; syn(t) = (syn0 + e rise0 t / tau) exp(-t / tau).
    return (
        (state.syn_exc + state.rise_exc * c.syn_rise_exc) * c.syn_decay_exc,
        (state.syn_inh + state.rise_inh * c.syn_rise_inh) * c.syn_decay_inh,
        state.rise_exc * c.syn_decay_exc,
        state.rise_inh * c.syn_decay_inh,
    )


def decay_synapses(state: Any, c: Any) -> tuple:
    """The synaptic variables one step later, without new spikes (exact): ``(syn_exc,
    syn_inh)`` for exponential kinds, ``(syn_exc, syn_inh, rise_exc, rise_inh)`` for alpha
    kinds (a state with ``rise_exc``).

    Args:
        state: a model state.
        c: the model's coefficients.

    Returns:
        The new values, in the order of :func:`synapse_state`.
    """
    if hasattr(state, "rise_exc"):
        return _decay_alpha(state, c)
    return _decay_exponential(state, c)


# Compiled code chooses the kind from the state's type while typing.
@overload(decay_synapses, inline="always")
def _decay_synapses_compiled(state, c):  # pragma: no cover (compiled)
    if not isinstance(state, types.BaseNamedTuple):
        raise TypeError("decay_synapses takes a named-tuple state in compiled code")
    if "rise_exc" in tuple(state.fields):
        return lambda state, c: _decay_alpha(state, c)
    return lambda state, c: _decay_exponential(state, c)
