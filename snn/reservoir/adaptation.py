"""Local adaptation of each neuron's inhibition toward its own target activity.

After "Boosting Reservoir Computing with Brain-inspired Adaptive Dynamics": instead of one
global scale (spectral radius) for the whole reservoir, every neuron ``i`` scales the
inhibitory synapses it receives by a gain ``g_i >= 0`` and adapts it locally,

    g_i <- max(0, g_i + eta (a_i - target_i)),

so a neuron more active than its target receives more inhibition and a quieter one less.
Targets are homogeneous (one value) or heterogeneous (drawn per neuron), see
:func:`activity_targets`.

* ESN (:func:`adapt_esn`): units are rectified-tanh rates ``x_i in [0, 1)`` (with a
  symmetric tanh, more "inhibition" would only flip signs, not lower activity); the activity
  of unit ``i`` at step ``t`` is ``x_i[t]``, and the gain is updated at every step inside the
  compiled loop (online, as in the paper).
* LSM (:func:`adapt_lsm`): the engine has no online plasticity, so adaptation is an outer
  loop over short simulations: run one chunk (one input sample), measure each neuron's
  firing rate (Hz), update its gain, write ``gain * nominal weight`` into the engine's
  inhibitory projections, and run the next chunk.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .esn import ESN
from .lsm import LSM

__all__ = ["activity_targets", "adapt_esn", "adapt_lsm"]


def activity_targets(n: int, mean: float, spread: float = 0.0, seed=None) -> np.ndarray:
    """Per-neuron targets ``[n]``: ``mean`` everywhere (``spread = 0``, homogeneous) or
    ``U(mean (1 - spread), mean (1 + spread))`` (heterogeneous, ``0 < spread <= 1``)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not (isinstance(mean, (int, float)) and math.isfinite(mean) and mean > 0):
        raise ValueError(f"mean must be a finite number > 0, got {mean!r}")
    if not (isinstance(spread, (int, float)) and 0 <= spread <= 1):
        raise ValueError(f"spread must be a number in [0, 1], got {spread!r}")
    if spread == 0:
        return np.full(int(n), float(mean))
    gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return gen.uniform(mean * (1 - spread), mean * (1 + spread), int(n))


def _csr(w: np.ndarray):
    rows, cols = np.nonzero(w)
    indptr = np.zeros(w.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=w.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int64), np.ascontiguousarray(w[rows, cols])


@numba.njit(cache=True)
def _adapt_kernel(e_ptr, e_idx, e_val, i_ptr, i_idx, i_val, drive, x0, leak, gain, targets,
                  eta, rectify):  # pragma: no cover - compiled
    n_steps, n = drive.shape
    x = x0.copy()
    pre = np.empty(n)
    activity = np.zeros(n_steps)
    for t in range(n_steps):
        for i in range(n):
            acc_e = 0.0
            for k in range(e_ptr[i], e_ptr[i + 1]):
                acc_e += e_val[k] * x[e_idx[k]]
            acc_i = 0.0
            for k in range(i_ptr[i], i_ptr[i + 1]):
                acc_i += i_val[k] * x[i_idx[k]]
            pre[i] = drive[t, i] + acc_e + gain[i] * acc_i
        total = 0.0
        for i in range(n):
            f = math.tanh(pre[i])
            if rectify and f < 0.0:
                f = 0.0
            x[i] = (1.0 - leak) * x[i] + leak * f
            a = x[i]
            total += a
            g = gain[i] + eta * (a - targets[i])
            gain[i] = g if g > 0.0 else 0.0
        activity[t] = total / n
    return x, activity


def adapt_esn(esn: ESN, u, targets, eta: float = 1e-3) -> np.ndarray:
    """Adapt ``esn.gain`` in place while driving the ESN with ``u`` (``[T]`` or
    ``[T, n_inputs]``); ``targets`` ``[N]`` in ``(0, 1)`` (target mean rates).
    Returns the mean activity ``mean_i x_i[t]`` at each step ``[T]``.  The ESN must have
    been built with ``dale=True`` and ``activation="rectified_tanh"``."""
    if not isinstance(esn, ESN):
        raise TypeError(f"esn must be an ESN, got {type(esn).__name__}")
    if not esn.config.dale:
        raise ValueError("esn must have excitatory and inhibitory units (ESNConfig(dale=True))")
    if esn.config.activation != "rectified_tanh":
        raise ValueError("esn must have non-negative rates "
                         "(ESNConfig(activation='rectified_tanh'))")
    tgt = np.asarray(targets, dtype=np.float64)
    if tgt.shape != (esn.n_units,) or not np.all((tgt > 0) & (tgt < 1)):
        raise ValueError(f"targets must have shape ({esn.n_units},) with values in (0, 1)")
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
    arr = esn._inputs(u)
    drive = np.ascontiguousarray(arr @ esn.W_in.T + esn.bias)
    gain = esn.gain.copy()
    _, activity = _adapt_kernel(*_csr(esn.w_exc), *_csr(esn.w_inh), drive,
                                np.zeros(esn.n_units), float(esn.config.leak), gain, tgt,
                                float(eta), True)
    esn.gain = gain
    return activity


def adapt_lsm(lsm: LSM, dataset, target_rates, eta: float = 0.01, n_chunks: int = 50,
              duration: float = 1.0, seed=0) -> np.ndarray:
    """Adapt ``lsm.inhibitory_gain`` (dimensionless, ``[n_neurons]``) toward
    ``target_rates`` (Hz, ``[n_neurons]``) over ``n_chunks`` simulations of ``duration`` s,
    chunk ``k`` driven by sample ``k mod len(dataset)`` of a :class:`~snn.data.SpikeDataset`.
    ``eta`` is the gain change per Hz of rate error.  Returns the mean absolute rate error
    (Hz) of each chunk ``[n_chunks]``, measured before that chunk's update."""
    if not isinstance(lsm, LSM):
        raise TypeError(f"lsm must be an LSM, got {type(lsm).__name__}")
    n = lsm.config.n_neurons
    tgt = np.asarray(target_rates, dtype=np.float64)
    if tgt.shape != (n,) or not np.all(tgt > 0):
        raise ValueError(f"target_rates must have shape ({n},) with values > 0 Hz")
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be a finite number > 0, got {eta!r}")
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, int) or n_chunks < 1:
        raise ValueError(f"n_chunks must be an integer >= 1, got {n_chunks!r}")
    if len(dataset.labels) == 0:
        raise ValueError("dataset must hold at least one sample")
    errors = np.empty(n_chunks)
    for k in range(n_chunks):
        i = k % len(dataset.labels)
        res = lsm.run(dataset.times[i], dataset.units[i], duration, rng=seed + k)
        rates = np.concatenate([res.spikes["exc"].rates(), res.spikes["inh"].rates()])
        errors[k] = np.mean(np.abs(rates - tgt))
        lsm.inhibitory_gain = np.maximum(lsm.inhibitory_gain + eta * (rates - tgt), 0.0)
        lsm.apply_inhibitory_gain()
    return errors
