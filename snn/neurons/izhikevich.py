"""Izhikevich neuron.

Izhikevich EM (2003), "Simple model of spiking neurons", IEEE Trans Neural Netw
14:1569-1572, in the paper's units (v in mV, t in ms, u and I in mV/ms):

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I,    du/dt = a (b v - u),
    if v >= 30 mV: v <- c, u <- u + d.

Here in SI units (v in V, t in s, u in V/s): ``dv/dt = k v^2 + p v + q - u + I / c_m`` with
``k = 4e4 /(V s)``, ``p = 5e3 /s``, ``q = 140 V/s``; ``a`` and ``b`` in 1/s (0.02/ms = 20/s),
``c`` in V, ``d`` in V/s.  An external or synaptic current ``I`` (A) enters as ``I / c_m``;
with the default ``c_m = 1 pF``, 1 pA is one unit of the paper's ``I`` (1 mV/ms).
Integration: forward Euler on ``v`` and ``u`` from their start-of-step values (Brian2's
``euler``); a spike is ``v > v_peak`` after the step (the paper's ``>=`` differs only on a
set of measure zero).  The paper integrates ``v`` in two half steps of 0.5 ms; use
``dt <= 0.1 ms`` here.

The presets are the paper's Fig. 2 classes (a, b, c, d): regular spiking, intrinsically
bursting, chattering, fast spiking, low-threshold spiking, thalamo-cortical and resonator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from numba.extending import register_jitable

from ..neuron_model import StateVariable
from ..synapses import CurrentSynapses, Synapses, check_synapses, decay_synapses, synaptic_current
from ..validation import check_choice, check_finite, check_positive
from ._family import KINDS, coeff_type, declare_family, with_synapses

__all__ = ["IzhikevichParams", "IzhikevichCoeffs", "izhikevich_coeffs", "izhikevich_step",
           "IZHIKEVICH_PRESETS", "izhikevich_preset", "IZHIKEVICH_MODELS"]


@dataclass(frozen=True)
class IzhikevichParams:
    """Parameters of the Izhikevich neuron in SI units (defaults: regular spiking)."""

    a: float = 20.0  #: recovery rate (1/s; the paper's 0.02/ms)
    b: float = 200.0  #: recovery sensitivity (1/s; the paper's 0.2/ms)
    c: float = -65e-3  #: reset potential (V)
    d: float = 8.0  #: recovery increment per spike (V/s; the paper's 8 mV/ms)
    v_peak: float = 30e-3  #: spike cut-off (V)
    k: float = 4e4  #: quadratic coefficient (1/(V s); the paper's 0.04 /(mV ms))
    p: float = 5e3  #: linear coefficient (1/s)
    q: float = 140.0  #: constant drive (V/s)
    c_m: float = 1e-12  #: input capacitance: a current I (A) adds I / c_m (V/s) to dv/dt
    synapses: Synapses = field(default_factory=CurrentSynapses)

    def __post_init__(self) -> None:
        for name in ("a", "b", "d", "k", "p", "q"):
            check_finite(f"IzhikevichParams.{name}", getattr(self, name))
        check_finite("IzhikevichParams.c", self.c)
        check_finite("IzhikevichParams.v_peak", self.v_peak)
        check_positive("IzhikevichParams.c_m", self.c_m)
        check_synapses("IzhikevichParams", self.synapses, KINDS)


IzhikevichCoeffs = coeff_type("IzhikevichCoeffs",
                              ("dt", "a", "b", "c", "d", "v_peak", "k", "p", "q", "inv_c_m"))


def izhikevich_coeffs(params: IzhikevichParams, dt: float) -> tuple:
    """Per-step coefficients of the Izhikevich model (an ``IzhikevichCoeffs``)."""
    membrane = (dt, params.a, params.b, params.c, params.d, params.v_peak, params.k, params.p,
                params.q, 1.0 / params.c_m)
    return with_synapses(IzhikevichCoeffs, membrane, params.synapses, dt)


@register_jitable(inline="always")
def izhikevich_step(state: Any, i_ext: Any, c: Any, spike_fn: Any, exp: Any) -> tuple:
    """One forward-Euler step of the Izhikevich neuron (state ``v, u`` and the synapse
    kind's variables).  Returns ``(new state, spike)``."""
    v, u = state.v, state.u
    drive = (synaptic_current(state, v, c) + i_ext) * c.inv_c_m
    v_new = v + c.dt * (c.k * v * v + c.p * v + c.q - u + drive)
    u_new = u + c.dt * (c.a * (c.b * v - u))
    spike = spike_fn(v_new - c.v_peak)
    v_new = spike * c.c + (1.0 - spike) * v_new
    u_new = u_new + spike * c.d
    return (v_new, u_new) + decay_synapses(state, c), spike


IZHIKEVICH_MODELS = declare_family(
    "Izhikevich", IzhikevichParams,
    (StateVariable("v", "V", "c"), StateVariable("u", "V/s", lambda p: p.b * p.c)),
    izhikevich_coeffs, izhikevich_step, work=2.0,
    source="Izhikevich 2003; forward Euler (Brian2's euler)")


def _preset(a, b, c, d):
    return IzhikevichParams(a=a * 1e3, b=b * 1e3, c=c * 1e-3, d=d)


#: Izhikevich (2003), Fig. 2: (a /ms, b /ms, c mV, d mV/ms) of each class.
IZHIKEVICH_PRESETS: dict[str, IzhikevichParams] = {
    "regular_spiking": _preset(0.02, 0.2, -65, 8),
    "intrinsically_bursting": _preset(0.02, 0.2, -55, 4),
    "chattering": _preset(0.02, 0.2, -50, 2),
    "fast_spiking": _preset(0.1, 0.2, -65, 2),
    "low_threshold_spiking": _preset(0.02, 0.25, -65, 2),
    "thalamo_cortical": _preset(0.02, 0.25, -65, 0.05),
    "resonator": _preset(0.1, 0.26, -65, 2),
}


def izhikevich_preset(name: str, synapses: Synapses | None = None) -> IzhikevichParams:
    """A class of Izhikevich (2003), Fig. 2.

    Args:
        name: one of :data:`IZHIKEVICH_PRESETS`.
        synapses: the synapse kind (None: current-based exponential).
    """
    check_choice("name", name, tuple(IZHIKEVICH_PRESETS))
    params = IZHIKEVICH_PRESETS[name]
    return params if synapses is None else replace(params, synapses=synapses)
