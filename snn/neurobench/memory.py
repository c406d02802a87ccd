"""Short-term memory capacity by ReservoirPy's documented protocol.

ReservoirPy (``reservoirpy.observables.memory_capacity``; its example: a reservoir of 100
units, spectral radius 1, seed 1, a ridge readout with penalty 1e-4, ``k_max = 50``, MC =
18.78) measures Jaeger's (2001) capacity ``MC = sum_k r^2(u[t - k], y_k[t])`` this way:

* ``u``: ``10 k_max`` values i.i.d. uniform in ``[-0.8, 0.8]`` from
  ``numpy.random.default_rng(seed)``;
* the model sees ``u[k_max:]``; the targets of step ``t`` are ``u[t - 1] ... u[t - k_max]``;
* the last ``round(0.2 * 10 k_max)`` steps are the test part; the model runs the training
  part from rest, the readout is fitted on it after dropping the first ``k_max`` steps, and
  the model goes on from its state through the test part;
* ``MC_k`` is the squared Pearson correlation of prediction and target on the test part.

MC is capped twice: by ``k_max`` (each term is at most 1), and by the number of readout
features ``N`` (a linear readout of ``N`` features cannot hold more than ``N`` independent
delays; Jaeger 2001), so a 100-unit reservoir has ``MC <= min(N, k_max) = 50`` here.

* :func:`memory_capacity_protocol`: the protocol for any ``u -> states`` model.
* :func:`esn_memory_capacity`: for :class:`snn.reservoir.ESN`.
* :func:`lsm_memory_capacity`: for :class:`snn.reservoir.LSM` (the input is coded as the
  rates of two spike channels, one per sign, held for ``step_duration`` per value; the
  features are the spike counts of each neuron per step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..reservoir.esn import ESN
from ..reservoir.lsm import LSM
from ..reservoir.readout import RidgeReadout
from ..validation import check_int, check_nonnegative, check_positive, check_real

__all__ = ["memory_capacity_protocol", "esn_memory_capacity", "lsm_memory_capacity"]


def memory_capacity_protocol(run: Callable[[np.ndarray], np.ndarray], k_max: int = 50,
                             seed: int = 1, ridge: float = 1e-4, test_size: float = 0.2
                             ) -> tuple[float, np.ndarray]:
    """Memory capacity of a model by ReservoirPy's protocol (module docstring).

    Args:
        run: ``u [T] -> states [T, features]``; called on the training part, then on the
            test part, and must go on from where the first call ended.
        k_max: the longest delay (steps, >= 1).
        seed: seeds ``numpy.random.default_rng`` for ``u`` (ReservoirPy's ``seed``).
        ridge: the readout's L2 penalty (>= 0).
        test_size: share of the ``10 k_max`` values in the test part, in (0, 1).

    Returns:
        ``(MC, mc_k)``: the capacity and ``[k_max]`` squared correlations (``mc_k[k - 1]``
        for delay ``k``).
    """
    k_max = check_int("k_max", k_max, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    ridge = check_nonnegative("ridge", ridge)
    test_size = check_real("test_size", test_size, minimum=0.0, maximum=1.0,
                           exclusive_minimum=True)
    u = np.random.default_rng(seed).uniform(-0.8, 0.8, (10 * k_max, 1))[:, 0]
    n_test = round(u.size * test_size)
    rows = u.size - k_max
    if not 0 < n_test < rows - k_max:
        raise ValueError(f"test_size={test_size} leaves no training steps after the warm-up")
    seen = u[k_max:]  # [rows]
    targets = np.stack([u[k_max - k:u.size - k] for k in range(1, k_max + 1)], axis=1)
    train_states = np.asarray(run(seen[:rows - n_test]), np.float64)
    test_states = np.asarray(run(seen[rows - n_test:]), np.float64)
    readout = RidgeReadout(ridge, k_max).fit(train_states, targets[:rows - n_test])
    prediction = readout.predict(test_states)
    y = targets[rows - n_test:]
    mc = np.array([np.corrcoef(prediction[:, k], y[:, k])[0, 1] ** 2 for k in range(k_max)])
    return float(mc.sum()), mc


def esn_memory_capacity(esn: ESN, k_max: int = 50, seed: int = 1, ridge: float = 1e-4
                        ) -> tuple[float, np.ndarray]:
    """:func:`memory_capacity_protocol` for an echo state network (one input channel),
    from the zero state.

    Args:
        esn: the reservoir (``n_inputs == 1``).
        k_max: the longest delay (steps).
        seed: the input's seed.
        ridge: the readout's penalty.

    Returns:
        ``(MC, mc_k)``.
    """
    if not isinstance(esn, ESN) or esn.n_inputs != 1:
        raise TypeError("esn must be an snn.reservoir.ESN with one input channel")
    state = {"x": np.zeros(esn.n_neurons)}

    def run(u: np.ndarray) -> np.ndarray:
        states = esn.run(u, x0=state["x"])
        state["x"] = states[-1]
        return states

    return memory_capacity_protocol(run, k_max, seed, ridge)


def lsm_memory_capacity(lsm: LSM, step_duration: float = 20e-3, max_rate: float = 200.0,
                        k_max: int = 50, seed: int = 1, ridge: float = 1e-4
                        ) -> tuple[float, np.ndarray]:
    """:func:`memory_capacity_protocol` for a liquid state machine with two input channels.

    Each value ``u`` is held for ``step_duration``: channel 0 fires regularly at
    ``max_rate * max(u, 0) / 0.8`` and channel 1 at ``max_rate * max(-u, 0) / 0.8``; the
    features of a step are the spike counts of every neuron in it.

    Args:
        lsm: the liquid (``n_inputs == 2``).
        step_duration: time per value (s, > 0).
        max_rate: rate at ``|u| = 0.8`` (Hz, > 0).
        k_max: the longest delay (steps).
        seed: the input's seed.
        ridge: the readout's penalty.

    Returns:
        ``(MC, mc_k)``.
    """
    if not isinstance(lsm, LSM) or lsm.n_inputs != 2:
        raise TypeError("lsm must be an snn.reservoir.LSM with two input channels")
    step_duration = check_positive("step_duration", step_duration, unit="s")
    max_rate = check_positive("max_rate", max_rate, unit="Hz")
    carry = {"state": None}

    def run(u: np.ndarray) -> np.ndarray:
        times, units = [], []
        for t, value in enumerate(u):
            for channel, level in ((0, max(value, 0.0)), (1, max(-value, 0.0))):
                n = int(round(max_rate * level / 0.8 * step_duration))
                if n:
                    times.append(t * step_duration + (np.arange(n) + 0.5) * step_duration / n)
                    units.append(np.full(n, channel))
        times_arr = np.concatenate(times) if times else np.zeros(0)
        units_arr = np.concatenate(units) if units else np.zeros(0, np.int64)
        if carry["state"] is not None:
            times_arr = times_arr + carry["t0"]
        duration = u.size * step_duration
        result = lsm.run(times_arr, units_arr, duration, rng=seed, state=carry["state"])
        carry["state"], carry["t0"] = result.state, result.t_start + duration
        features = lsm.features(result, duration, n_windows=u.size, kind="counts")
        return features.reshape(u.size, lsm.config.n_neurons)

    return memory_capacity_protocol(run, k_max, seed, ridge)
