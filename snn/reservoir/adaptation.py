"""Our variants of local E/I adaptation (the paper's own model is :mod:`.balance`).

Loosely after "Boosting Reservoir Computing with Brain-inspired Adaptive Dynamics": instead of one
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
* LSM, per synapse (:func:`adapt_lsm_synapses`): the paper's per-synapse rule on the
  spiking liquid, applied between engine chunks of 1 ms (continued runs), not inside the
  engine's time loop.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numba
import numpy as np

from .._random import int_seed, numpy_generator
from ..validation import check_array, check_int, check_positive, check_real
from .esn import ESN
from .lsm import LSM

if TYPE_CHECKING:  # pragma: no cover
    from ..data.spikes import SpikeDataset

__all__ = ["activity_targets", "adapt_esn", "adapt_lsm", "adapt_lsm_online", "adapt_lsm_synapses"]


def activity_targets(n_neurons: int, mean: float, spread: float = 0.0,
                     rng: int | np.random.Generator | None = None) -> np.ndarray:
    """Per-neuron target activities, homogeneous or heterogeneous.

    Args:
        n_neurons: number of neurons (>= 1).
        mean: mean target (> 0; the unit of the activity it is compared with: a rate in
            ``(0, 1)`` for :func:`adapt_esn`, Hz for :func:`adapt_lsm`).
        spread: 0 for ``mean`` everywhere, else targets ``U(mean (1 - spread),
            mean (1 + spread))`` with ``0 < spread <= 1``.
        rng: draws heterogeneous targets: an int seed, a ``numpy.random.Generator`` or None.

    Returns:
        Targets ``[n_neurons]`` (float64).
    """
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    mean = check_positive("mean", mean)
    spread = check_real("spread", spread, minimum=0.0, maximum=1.0)
    if spread == 0:
        return np.full(n_neurons, mean)
    return numpy_generator(rng).uniform(mean * (1 - spread), mean * (1 + spread), n_neurons)


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


def adapt_esn(esn: ESN, u: np.ndarray, targets: np.ndarray, eta: float = 1e-3) -> np.ndarray:
    """Adapt ``esn.gain`` in place while driving the ESN with ``u``.

    The ESN must have been built with ``dale=True`` and ``activation="rectified_tanh"``.

    Args:
        esn: the reservoir; its ``gain`` ``[N]`` is updated at every step.
        u: inputs ``[T]`` or ``[T, n_inputs]``.
        targets: target mean rates ``[N]`` in ``(0, 1)``.
        eta: gain change per unit of activity error (> 0).

    Returns:
        The mean activity ``mean_i x_i[t]`` at each step ``[T]``.
    """
    if not isinstance(esn, ESN):
        raise TypeError(f"esn must be an ESN, got {type(esn).__name__}")
    if not esn.config.dale:
        raise ValueError("esn must have excitatory and inhibitory units (ESNConfig(dale=True))")
    if esn.config.activation != "rectified_tanh":
        raise ValueError("esn must have non-negative rates "
                         "(ESNConfig(activation='rectified_tanh'))")
    tgt = check_array("targets", targets, shape=(esn.n_neurons,), kind="iuf",
                      dtype=np.float64)
    if not np.all((tgt > 0) & (tgt < 1)):
        raise ValueError(f"targets must have shape ({esn.n_neurons},) with values in (0, 1)")
    eta = check_positive("eta", eta)
    arr = esn._inputs(u)
    drive = np.ascontiguousarray(arr @ esn.W_in.T + esn.bias)
    gain = esn.gain.copy()
    _, activity = _adapt_kernel(*_csr(esn.w_exc), *_csr(esn.w_inh), drive,
                                np.zeros(esn.n_neurons), float(esn.config.leak), gain, tgt,
                                float(eta), True)
    esn.gain = gain
    return activity


def _check_liquid(lsm: LSM, dataset: SpikeDataset, target_rates: np.ndarray, *,
                  dale: bool) -> np.ndarray:
    """The checked target rates (Hz) ``[n_neurons]`` for adapting ``lsm`` (an 80/20 E/I
    :class:`LSM` when ``dale``) on ``dataset``."""
    if not isinstance(lsm, LSM) or (dale and type(lsm).__name__ != "LSM"):
        kind = "an 80/20 E/I LSM" if dale else "an LSM"
        raise TypeError(f"lsm must be {kind}, got {type(lsm).__name__}")
    n = lsm.config.n_neurons
    tgt = check_array("target_rates", target_rates, shape=(n,), kind="iuf", dtype=np.float64)
    if not np.all(tgt > 0):
        raise ValueError(f"target_rates must have shape ({n},) with values > 0 Hz")
    if len(dataset.labels) == 0:
        raise ValueError("dataset must hold at least one sample")
    return tgt


def _spike_counts(result, n_exc: int, n: int) -> np.ndarray:
    """Spikes of each liquid neuron in an engine run, ``[n]`` (exc then inh)."""
    return np.concatenate([np.bincount(result.spikes["exc"].indices, minlength=n_exc),
                           np.bincount(result.spikes["inh"].indices, minlength=n - n_exc)])


def adapt_lsm(lsm: LSM, dataset: SpikeDataset, target_rates: np.ndarray, eta: float = 0.01,
              n_chunks: int = 50, duration: float = 1.0,
              rng: int | np.random.Generator | None = 0) -> np.ndarray:
    """Adapt ``lsm.inhibitory_gain`` in place over ``n_chunks`` simulations, chunk ``k``
    driven by sample ``k mod len(dataset)``.

    Args:
        lsm: the liquid; its ``inhibitory_gain`` (dimensionless) is updated after each chunk.
        dataset: a :class:`~snn.data.SpikeDataset` with ``lsm.n_inputs`` channels.
        target_rates: target firing rates (Hz) ``[n_neurons]``, > 0.
        eta: gain change per Hz of rate error (> 0).
        n_chunks: simulations (>= 1).
        duration: length of each simulation (s).
        rng: seeds the engine runs: chunk ``k`` runs with seed ``s + k``, where ``s`` is
            ``rng`` itself for an int, one integer drawn from it for a
            ``numpy.random.Generator``, or one from fresh entropy for None.

    Returns:
        The mean absolute rate error (Hz) of each chunk ``[n_chunks]``, measured before
        that chunk's update.
    """
    tgt = _check_liquid(lsm, dataset, target_rates, dale=False)
    eta = check_positive("eta", eta)
    n_chunks = check_int("n_chunks", n_chunks, minimum=1)
    duration = check_positive("duration", duration, unit="s")
    base_seed = int_seed(rng)
    errors = np.empty(n_chunks)
    for k in range(n_chunks):
        i = k % len(dataset.labels)
        res = lsm.run(dataset.times[i], dataset.units[i], duration, rng=base_seed + k)
        rates = np.concatenate([res.spikes["exc"].rates(), res.spikes["inh"].rates()])
        errors[k] = np.mean(np.abs(rates - tgt))
        lsm.inhibitory_gain = np.maximum(lsm.inhibitory_gain + eta * (rates - tgt), 0.0)
        lsm.apply_inhibitory_gain()
    return errors


def adapt_lsm_synapses(lsm: LSM, dataset: SpikeDataset, target_rates: np.ndarray,
                       delta: float = 2e-13, n_samples: int = 10, duration: float = 1.0,
                       chunk_duration: float = 1e-3, tau_rate: float = 0.1,
                       rng: int | np.random.Generator | None = 0) -> np.ndarray:
    """The per-synapse inhibitory rule of Srinivasan et al. carried over to a spiking liquid
    (our variant, not the paper's): every existing inhibitory synapse onto neuron ``i``
    changes its magnitude by ``delta (r_i - rho_i)`` (clipped at 0), where ``r_i`` is the
    neuron's rate estimate (Hz) and ``rho_i`` its target.

    The engine has no hook for this rule inside its time loop, so the simulation runs in
    chunks of ``chunk_duration`` continued with ``run(..., state=previous.state)``, and the
    rule is applied between chunks: with the default 1 ms chunk and ``dt = 1 ms`` that is
    once per step, with longer chunks it is chunk-wise (weights constant within a chunk).
    The rate estimate is the spike count of each chunk low-pass filtered with ``tau_rate``.
    ``lsm.blocks`` hold the adapted weights afterwards (used by later runs).

    Args:
        lsm: the liquid (an 80/20 E/I :class:`LSM`).
        dataset: a :class:`~snn.data.SpikeDataset` with ``lsm.n_inputs`` channels.
        target_rates: targets ``rho`` (Hz) ``[n_neurons]``, > 0.
        delta: weight change (A) per Hz of rate error and per chunk (> 0).
        n_samples: samples presented (sample ``k mod len(dataset)``), >= 1.
        duration: simulated time per sample (s).
        chunk_duration: time between two applications of the rule (s, >= ``lsm.config.dt``).
        tau_rate: time constant of the rate estimate (s, > 0).
        rng: seeds the engine: chunk ``c`` of sample ``k`` runs with seed
            ``s + k * 100003 + c`` (``s`` from ``rng`` as in :func:`adapt_lsm`).

    Returns:
        The mean absolute error (Hz) of each neuron's mean rate over each sample
        ``[n_samples]``.
    """
    tgt = _check_liquid(lsm, dataset, target_rates, dale=True)
    n = lsm.config.n_neurons
    delta = check_positive("delta", delta, unit="A/Hz")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    duration = check_positive("duration", duration, unit="s")
    dt = lsm.config.dt
    chunk_duration = check_real("chunk_duration", chunk_duration, minimum=dt, unit="s")
    tau_rate = check_positive("tau_rate", tau_rate, unit="s")
    base_seed = int_seed(rng)
    chunk_steps = max(1, int(round(chunk_duration / dt)))
    n_steps = int(round(duration / dt))
    n_exc = lsm.config.n_exc
    inh = [k for k, b in enumerate(lsm.blocks) if b.channel == "inh"]
    post = {k: lsm.blocks[k].post_indices + (0 if lsm.blocks[k].post == "exc" else n_exc)
            for k in inh}
    errors = np.empty(n_samples)
    for s in range(n_samples):
        i = s % len(dataset.labels)
        rate = tgt.copy()  # the estimate starts at the target: no update before evidence
        total = np.zeros(n)
        state, done, c = None, 0, 0
        while done < n_steps:
            steps = min(chunk_steps, n_steps - done)
            res = lsm.run(dataset.times[i], dataset.units[i], steps * dt,
                          rng=base_seed + s * 100003 + c, state=state)
            state, done, c = res.state, done + steps, c + 1
            counts = _spike_counts(res, n_exc, n)
            total += counts
            alpha = min(1.0, steps * dt / tau_rate)
            rate += alpha * (counts / (steps * dt) - rate)
            error = rate - tgt
            for k in inh:
                b = lsm.blocks[k]
                magnitude = np.maximum(-b.weights + delta * error[post[k]], 0.0)
                lsm.blocks[k] = dataclasses.replace(b, weights=-magnitude)
            lsm.apply_inhibitory_gain()
        errors[s] = float(np.mean(np.abs(total / (n_steps * dt) - tgt)))
    return errors


def adapt_lsm_online(lsm: LSM, dataset: SpikeDataset, target_rates: np.ndarray,
                     delta: float = 5e-12, n_samples: int = 10, duration: float = 1.0,
                     rng: int | np.random.Generator | None = 0) -> np.ndarray:
    """The per-synapse inhibitory rule of Srinivasan et al. in spiking form, learned online
    inside the engine's time loop (our variant, not the paper's): every existing inhibitory
    synapse onto neuron ``i`` grows in magnitude by ``delta`` at each spike of ``i`` and
    shrinks by ``delta * rho_i`` per second, so that over a time ``T`` its magnitude changes
    by ``delta * T * (r_i - rho_i)``, ``r_i`` the neuron's rate over ``T`` (magnitudes held
    at >= 0).  It is the engine's plasticity (:class:`snn.plasticity.STDPParams` with
    ``a_plus = a_minus = 0``, ``post_offset = -delta``, ``drift = delta * rho_i``), so every
    backend and distributed runs apply it step by step with the dynamics.

    The samples (sample ``k mod len(dataset)``, ``duration`` each) run one after another,
    each continuing from the state the previous one left (neurons, learning state, spikes in
    flight).  ``lsm.blocks`` hold the adapted weights afterwards (used by later runs).

    Args:
        lsm: the liquid (an 80/20 E/I :class:`LSM`).
        dataset: a :class:`~snn.data.SpikeDataset` with ``lsm.n_inputs`` channels.
        target_rates: targets ``rho`` (Hz) ``[n_neurons]``, > 0.
        delta: change of an inhibitory synapse's magnitude per spike of its target (A, > 0).
        n_samples: samples presented, >= 1.
        duration: simulated time per sample (s).
        rng: seeds the engine: sample ``k`` runs with seed ``s + k`` (``s`` from ``rng`` as
            in :func:`adapt_lsm`).

    Returns:
        The mean absolute error (Hz) of each neuron's rate over each sample ``[n_samples]``.
    """
    from ..engine import run
    from ..plasticity import STDPParams

    tgt = _check_liquid(lsm, dataset, target_rates, dale=True)
    n = lsm.config.n_neurons
    delta = check_positive("delta", delta, unit="A")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    duration = check_positive("duration", duration, unit="s")
    base_seed = int_seed(rng)
    rules = [STDPParams(a_plus=0.0, a_minus=0.0, drift=delta * rho, post_offset=-delta,
                        w_max=0.0) for rho in tgt]
    net, layout = lsm._build(rules)
    dt = lsm.config.dt
    n_exc = lsm.config.n_exc
    state, errors = None, np.empty(n_samples)
    for k in range(n_samples):
        i = k % len(dataset.labels)
        start = 0.0 if state is None else state.step * dt
        net.set_spikes("input", dataset.units[i], np.asarray(dataset.times[i]) + start)
        result = run(net, duration, backend="numba", rng=base_seed + k, state=state)
        state = result.state
        counts = _spike_counts(result, n_exc, n)
        errors[k] = float(np.mean(np.abs(counts / duration - tgt)))
    for index, (b, parts) in enumerate(zip(lsm.blocks, layout)):
        if b.channel != "inh":
            continue
        weights = b.weights.copy()
        for proj, held in parts:
            # The weights as of each synapse's last event, drifted on to the end of the run.
            learned = state.synapses[proj]
            rule = net.projections[proj].plasticity
            steps = state.step - learned.last_step
            weights[held] = np.minimum(learned.weights + steps * (rule.drift * dt),
                                       rule.w_max)
        lsm.blocks[index] = dataclasses.replace(b, weights=weights)
    lsm.apply_inhibitory_gain()
    return errors
