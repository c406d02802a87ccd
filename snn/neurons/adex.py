"""Adaptive exponential integrate-and-fire neuron (AdEx).

Brette R, Gerstner W (2005), "Adaptive exponential integrate-and-fire model as an effective
description of neuronal activity", J Neurophysiol 94:3637-3642:

    c_m dv/dt = g_l (e_l - v) + g_l delta_t exp((v - v_t) / delta_t) - w + I_syn + I_ext
    tau_w dw/dt = a (v - e_l) - w

and when ``v > v_peak``: ``v <- v_reset``, ``w <- w + b`` (and ``v`` held for
``tau_refractory``).  Integration: forward Euler on ``v`` and ``w`` from their values at the
start of the step (Brian2's ``euler``, as in its AdEx examples); the synapses exactly
(:mod:`snn.synapses`).  Forward Euler needs a step well below the spike's upswing time
``delta_t c_m / g_l``; 0.1 ms is the usual choice.

The presets are the firing patterns of Naud R, Marcille N, Clopath C, Gerstner W (2008),
"Firing patterns in the adaptive exponential integrate-and-fire model", Biol Cybern
99:335-347, Table 1, each with the step current (``i_stim``) that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from numba.extending import register_jitable

from ..models import _refractory_countdown, refractory_steps
from ..neuron_model import StateVariable
from ..synapses import CurrentSynapses, Synapses, check_synapses, decay_synapses, synaptic_current
from ..validation import check_choice, check_finite, check_nonnegative, check_positive
from ._family import KINDS, coeff_type, declare_family, with_synapses

__all__ = ["AdExParams", "AdExCoeffs", "adex_coeffs", "adex_step", "ADEX_PRESETS",
           "adex_preset", "ADEX_MODELS"]


@dataclass(frozen=True)
class AdExParams:
    """Parameters of the AdEx neuron (SI units; defaults: Naud et al. 2008's tonic spiking)."""

    c_m: float = 200e-12  #: membrane capacitance (F)
    g_l: float = 10e-9  #: leak conductance (S)
    e_l: float = -70e-3  #: leak reversal potential (V)
    v_t: float = -50e-3  #: threshold slope factor's centre, the rheobase threshold (V)
    delta_t: float = 2e-3  #: slope factor (V, > 0)
    a: float = 2e-9  #: subthreshold adaptation (S)
    tau_w: float = 30e-3  #: adaptation time constant (s)
    b: float = 0.0  #: spike-triggered adaptation increment (A)
    v_reset: float = -58e-3  #: reset potential (V)
    v_peak: float = 0.0  #: spike detection and cut-off potential (V)
    tau_refractory: float = 0.0  #: refractory period (s); v is held meanwhile
    synapses: Synapses = field(default_factory=CurrentSynapses)

    def __post_init__(self) -> None:
        for name in ("c_m", "g_l", "delta_t", "tau_w"):
            check_positive(f"AdExParams.{name}", getattr(self, name))
        for name in ("e_l", "v_t", "a", "b", "v_reset", "v_peak"):
            check_finite(f"AdExParams.{name}", getattr(self, name))
        check_nonnegative("AdExParams.tau_refractory", self.tau_refractory)
        check_synapses("AdExParams", self.synapses, KINDS)
        if self.v_peak <= self.v_t:
            raise ValueError(f"AdExParams.v_peak must lie above v_t = {self.v_t} V, "
                             f"got {self.v_peak}")


AdExCoeffs = coeff_type("AdExCoeffs", (
    "dt_over_c_m", "g_l", "e_l", "v_t", "delta_t", "a", "dt_over_tau_w", "b", "v_reset",
    "v_peak", "refractory_steps"))


def adex_coeffs(params: AdExParams, dt: float) -> tuple:
    """Per-step coefficients of the AdEx model (an ``AdExCoeffs``)."""
    membrane = (dt / params.c_m, params.g_l, params.e_l, params.v_t, params.delta_t, params.a,
                dt / params.tau_w, params.b, params.v_reset, params.v_peak,
                float(refractory_steps(params.tau_refractory, dt)))
    return with_synapses(AdExCoeffs, membrane, params.synapses, dt)


@register_jitable(inline="always")
def adex_step(state: Any, i_ext: Any, c: Any, spike_fn: Any, exp: Any) -> tuple:
    """One forward-Euler step of the AdEx neuron (state ``v, w, refractory`` and the
    synapse kind's variables).  Returns ``(new state, spike)``."""
    refractory, active = _refractory_countdown(state)
    v, w = state.v, state.w
    current = (c.g_l * (c.e_l - v) + c.g_l * c.delta_t * exp((v - c.v_t) / c.delta_t)
               - w + synaptic_current(state, v, c) + i_ext)
    v_new = v + active * (current * c.dt_over_c_m)
    w_new = w + (c.a * (v - c.e_l) - w) * c.dt_over_tau_w
    spike = spike_fn(v_new - c.v_peak) * active
    v_new = spike * c.v_reset + (1.0 - spike) * v_new
    w_new = w_new + spike * c.b
    refractory = refractory + spike * c.refractory_steps
    return (v_new, w_new, refractory) + decay_synapses(state, c), spike


ADEX_MODELS = declare_family(
    "AdEx", AdExParams,
    (StateVariable("v", "V", "e_l"), StateVariable("w", "A"),
     StateVariable("refractory", "steps")),
    adex_coeffs, adex_step, work=4.0,
    source="Brette & Gerstner 2005; forward Euler (Brian2's euler)")


def _pattern(c_m, g_l, e_l, a, tau_w, b, v_reset, i_stim):
    return (AdExParams(c_m=c_m * 1e-12, g_l=g_l * 1e-9, e_l=e_l * 1e-3, v_t=-50e-3,
                       delta_t=2e-3, a=a * 1e-9, tau_w=tau_w * 1e-3, b=b * 1e-12,
                       v_reset=v_reset * 1e-3), i_stim * 1e-12)


#: Naud et al. (2008), Table 1: ``name -> (AdExParams, step current in A)``; columns
#: c_m (pF), g_l (nS), e_l (mV), a (nS), tau_w (ms), b (pA), v_reset (mV), I (pA); v_t = -50
#: mV and delta_t = 2 mV throughout.
ADEX_PRESETS: dict[str, tuple[AdExParams, float]] = {
    "tonic": _pattern(200, 10, -70, 2, 30, 0, -58, 500),
    "adapting": _pattern(200, 12, -70, 2, 300, 60, -58, 500),
    "initial_burst": _pattern(130, 18, -58, 4, 150, 120, -50, 400),
    "bursting": _pattern(200, 10, -58, 2, 120, 100, -46, 210),
    "irregular": _pattern(100, 12, -60, -11, 130, 30, -48, 160),
    "transient": _pattern(100, 10, -65, 10, 90, 100, -47, 180),
    "delayed_accelerating": _pattern(200, 12, -70, -10, 300, 0, -58, 300),
    "delayed_bursting": _pattern(100, 10, -65, -10, 90, 30, -47, 110),
}


def adex_preset(name: str, synapses: Synapses | None = None) -> tuple[AdExParams, float]:
    """A firing pattern of Naud et al. (2008): ``(params, step current in A)``.

    Args:
        name: one of :data:`ADEX_PRESETS`.
        synapses: the synapse kind (None: current-based exponential).
    """
    check_choice("name", name, tuple(ADEX_PRESETS))
    params, current = ADEX_PRESETS[name]
    if synapses is not None:
        params = replace(params, synapses=synapses)
    return params, current
