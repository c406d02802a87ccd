"""Hodgkin-Huxley neuron with the Traub & Miles (1991) sodium and potassium channels.

The model of Brian2's ``COBAHH`` example (after Brette et al. 2007, "Simulation of networks of
spiking neurons: a review of tools and strategies", J Comput Neurosci 23:349-398, benchmark 3;
channel kinetics of Traub RD, Miles R (1991), "Neuronal networks of the hippocampus"):

    c_m dv/dt = g_l (e_l - v) - g_na m^3 h (v - e_na) - g_k n^4 (v - e_k) + I_syn + I_ext
    dx/dt = alpha_x(v) (1 - x) - beta_x(v) x        for x in m, n, h

with the rates (v and v_t in mV, rates per ms; ``exprel(x) = (exp(x) - 1) / x``)

    alpha_m = 1.28 / exprel((13 - v + v_t) / 4),  beta_m = 1.4 / exprel((v - v_t - 40) / 5)
    alpha_n = 0.16 / exprel((15 - v + v_t) / 5),  beta_n = 0.5 exp((10 - v + v_t) / 40)
    alpha_h = 0.128 exp((17 - v + v_t) / 18),      beta_h = 4 / (1 + exp((40 - v + v_t) / 5))

Integration: exponential Euler (Brian2's ``exponential_euler``): every variable, linear in
itself, is advanced exactly over the step with the others held at their start-of-step
values; the synapses exactly (:mod:`snn.synapses`).  A spike is counted when ``v`` rises
above ``v_spike`` outside the refractory period (which only blocks counting the same
action potential twice; ``v`` keeps its dynamics).  The scheme is stable only for small
steps: :func:`largest_stable_dt` measures the largest for given parameters, and a larger
``dt`` warns.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numba.extending import register_jitable

from ..models import _refractory_countdown, refractory_steps
from ..neuron_model import StateVariable, warn_unstable
from ..synapses import (
    CurrentSynapses,
    Synapses,
    check_synapses,
    decay_synapses,
    synaptic_conductance,
    synaptic_drive,
)
from ..validation import check_finite, check_nonnegative, check_positive
from ._family import KINDS, coeff_type, declare_family, with_synapses

__all__ = ["HodgkinHuxleyParams", "HodgkinHuxleyCoeffs", "hodgkin_huxley_coeffs",
           "hodgkin_huxley_step", "exprel", "largest_stable_dt", "HODGKIN_HUXLEY_MODELS"]

_AREA = 20000e-12  # m^2: the 20000 um^2 patch of Brian2's COBAHH example


@dataclass(frozen=True)
class HodgkinHuxleyParams:
    """Parameters of the Traub-Miles Hodgkin-Huxley neuron (SI units; defaults: Brian2's
    COBAHH example, a 20000 um^2 patch)."""

    c_m: float = 1e-2 * _AREA  #: membrane capacitance (F; 1 uF/cm^2)
    g_l: float = 0.5 * _AREA  #: leak conductance (S; 5e-5 S/cm^2)
    e_l: float = -60e-3  #: leak reversal potential (V)
    g_na: float = 1000.0 * _AREA  #: maximal sodium conductance (S; 100 mS/cm^2)
    e_na: float = 50e-3  #: sodium reversal potential (V)
    g_k: float = 300.0 * _AREA  #: maximal potassium conductance (S; 30 mS/cm^2)
    e_k: float = -90e-3  #: potassium reversal potential (V)
    v_t: float = -63e-3  #: offset of the rate functions (V)
    v_spike: float = -20e-3  #: spikes are counted when v rises above this (V)
    tau_refractory: float = 3e-3  #: time before another spike is counted (s)
    synapses: Synapses = field(default_factory=CurrentSynapses)

    def __post_init__(self) -> None:
        for name in ("c_m", "g_l", "g_na", "g_k"):
            check_positive(f"HodgkinHuxleyParams.{name}", getattr(self, name))
        for name in ("e_l", "e_na", "e_k", "v_t", "v_spike"):
            check_finite(f"HodgkinHuxleyParams.{name}", getattr(self, name))
        check_nonnegative("HodgkinHuxleyParams.tau_refractory", self.tau_refractory)
        check_synapses("HodgkinHuxleyParams", self.synapses, KINDS)


HodgkinHuxleyCoeffs = coeff_type("HodgkinHuxleyCoeffs", (
    "dt", "inv_c_m", "g_l", "e_l", "g_na", "e_na", "g_k", "e_k", "v_t", "v_spike",
    "refractory_steps"))


@register_jitable(inline="always")
def exprel(x: Any, exp: Any) -> Any:
    """``(exp(x) - 1) / x``, 1 at ``x = 0`` (its series below ``|x| < 1e-6``), in plain
    arithmetic for scalars, arrays and tensors."""
    small = (abs(x) < 1e-6) * 1.0
    safe = x + small  # never 0 where the quotient is used
    return small * (1.0 + x * (0.5 + x / 6.0)) + (1.0 - small) * ((exp(safe) - 1.0) / safe)


@register_jitable(inline="always")
def _gate(x: Any, alpha: Any, beta: Any, dt: Any, exp: Any) -> Any:
    # Exponential Euler for dx/dt = alpha - (alpha + beta) x, in Brian2's form.
    rate = -(alpha + beta)
    ratio = alpha / rate
    return -ratio + (ratio + x) * exp(rate * dt)


@register_jitable(inline="always")
def hodgkin_huxley_step(state: Any, i_ext: Any, c: Any, spike_fn: Any, exp: Any) -> tuple:
    """One exponential-Euler step of the Traub-Miles neuron (state ``v, m, n, h,
    refractory`` and the synapse kind's variables).  Returns ``(new state, spike)``."""
    refractory, active = _refractory_countdown(state)
    v, m, n, h = state.v, state.m, state.n, state.h
    u = (v - c.v_t) * 1e3  # mV above the rate functions' offset
    # A number over an array is written ``k * (1.0 / x)``: torch evaluates ``k / x`` so for
    # tensors, and numpy and numba then round alike.
    alpha_m = 1.28e3 * (1.0 / exprel((13.0 - u) / 4.0, exp))
    beta_m = 1.4e3 * (1.0 / exprel((u - 40.0) / 5.0, exp))
    alpha_n = 0.16e3 * (1.0 / exprel((15.0 - u) / 5.0, exp))
    beta_n = 0.5e3 * exp((10.0 - u) / 40.0)
    alpha_h = 0.128e3 * exp((17.0 - u) / 18.0)
    beta_h = 4e3 * (1.0 / (1.0 + exp((40.0 - u) / 5.0)))
    g_na = c.g_na * m * m * m * h
    g_k = c.g_k * n * n * n * n
    rate = -(c.g_l + g_na + g_k + synaptic_conductance(state, c)) * c.inv_c_m
    drive = (c.g_l * c.e_l + g_na * c.e_na + g_k * c.e_k + synaptic_drive(state, c)
             + i_ext) * c.inv_c_m
    ratio = drive / rate
    v_new = -ratio + (ratio + v) * exp(rate * c.dt)
    m_new = _gate(m, alpha_m, beta_m, c.dt, exp)
    n_new = _gate(n, alpha_n, beta_n, c.dt, exp)
    h_new = _gate(h, alpha_h, beta_h, c.dt, exp)
    spike = spike_fn(v_new - c.v_spike) * active
    refractory = refractory + spike * c.refractory_steps
    return (v_new, m_new, n_new, h_new, refractory) + decay_synapses(state, c), spike


def _steady_gate(params: HodgkinHuxleyParams, v: float, gate: str) -> float:
    u = (v - params.v_t) * 1e3
    alpha, beta = {
        "m": (1.28 / exprel((13.0 - u) / 4.0, math.exp), 1.4 / exprel((u - 40.0) / 5.0, math.exp)),
        "n": (0.16 / exprel((15.0 - u) / 5.0, math.exp), 0.5 * math.exp((10.0 - u) / 40.0)),
        "h": (0.128 * math.exp((17.0 - u) / 18.0), 4.0 / (1.0 + math.exp((40.0 - u) / 5.0))),
    }[gate]
    return alpha / (alpha + beta)


def hodgkin_huxley_coeffs(params: HodgkinHuxleyParams, dt: float) -> tuple:
    """Per-step coefficients (a ``HodgkinHuxleyCoeffs``); warns when ``dt`` exceeds
    :func:`largest_stable_dt` for these parameters."""
    if dt > _ALWAYS_STABLE_DT:
        largest = largest_stable_dt(params)
        if dt > largest:
            warn_unstable("the Hodgkin-Huxley model", dt, largest)
    return _coeffs_unchecked(params, dt)


def _coeffs_unchecked(params: HodgkinHuxleyParams, dt: float) -> tuple:
    # The coefficients without the step-size check (which itself runs the model).
    membrane = (dt, 1.0 / params.c_m, params.g_l, params.e_l, params.g_na, params.e_na,
                params.g_k, params.e_k, params.v_t, params.v_spike,
                float(refractory_steps(params.tau_refractory, dt)))
    return with_synapses(HodgkinHuxleyCoeffs, membrane, params.synapses, dt)


# Steps at or below this are not checked (they are stable for every parameter set tried).
_ALWAYS_STABLE_DT = 0.01e-3
_REFERENCE_DT = 0.005e-3
_TEST_DURATION = 0.1  # s
_CANDIDATE_DTS = (0.01e-3, 0.02e-3, 0.025e-3, 0.05e-3, 0.075e-3, 0.1e-3, 0.125e-3, 0.15e-3,
                  0.2e-3, 0.25e-3, 0.3e-3, 0.4e-3, 0.5e-3, 0.75e-3, 1e-3)


def _test_run(params: HodgkinHuxleyParams, dt: float, currents: np.ndarray
              ) -> tuple[np.ndarray, bool]:
    """Spike counts for step currents ``currents`` (A) over the test duration, and whether
    v stayed finite and within 50 mV of the reversal potentials."""
    p = replace(params, synapses=CurrentSynapses())
    c = _coeffs_unchecked(p, dt)
    model = HODGKIN_HUXLEY_MODELS[CurrentSynapses]
    n = currents.size
    start = [np.full(n, p.e_l), *(np.full(n, _steady_gate(p, p.e_l, g)) for g in "mnh")]
    state = model.state_type(*start, np.zeros(n), np.zeros(n), np.zeros(n))
    counts = np.zeros(n)
    bounded = True
    low, high = min(p.e_k, p.e_l) - 50e-3, p.e_na + 50e-3
    with np.errstate(all="ignore"):
        for _ in range(int(round(_TEST_DURATION / dt))):
            new, spike = hodgkin_huxley_step(state, currents, c,
                                             lambda x: (x > 0.0) * 1.0, np.exp)
            state = model.state_type(*new)
            counts += spike
            if not (np.all(np.isfinite(state.v)) and np.all(state.v > low)
                    and np.all(state.v < high)):
                bounded = False
                break
    return counts, bounded


@functools.lru_cache(maxsize=64)
def largest_stable_dt(params: HodgkinHuxleyParams) -> float:
    """The largest of a ladder of steps (0.01 ms to 1 ms) at which the exponential-Euler
    neuron, driven by step currents from threshold to strong (0.5, 1, 2 and 4 times the
    leak conductance times 30 mV) for 100 ms, stays bounded and fires the spike count of a
    0.005 ms reference run to within one spike, as do all smaller steps.

    Args:
        params: the neuron's parameters.

    Returns:
        The step (s).
    """
    currents = params.g_l * 30e-3 * np.array([0.5, 1.0, 2.0, 4.0])
    reference, _ = _test_run(params, _REFERENCE_DT, currents)
    largest = _REFERENCE_DT
    for dt in _CANDIDATE_DTS:
        counts, bounded = _test_run(params, dt, currents)
        if not bounded or np.any(np.abs(counts - reference) > 1):
            break
        largest = dt
    return largest


HODGKIN_HUXLEY_MODELS = declare_family(
    "HodgkinHuxley", HodgkinHuxleyParams,
    (StateVariable("v", "V", "e_l"),
     StateVariable("m", "1", lambda p: _steady_gate(p, p.e_l, "m")),
     StateVariable("n", "1", lambda p: _steady_gate(p, p.e_l, "n")),
     StateVariable("h", "1", lambda p: _steady_gate(p, p.e_l, "h")),
     StateVariable("refractory", "steps")),
    hodgkin_huxley_coeffs, hodgkin_huxley_step, work=12.0,
    source="Traub & Miles 1991 channels as in Brian2's COBAHH example; exponential Euler")
