"""NeuroBench's Mackey-Glass protocol for reservoirs, with NeuroBench's metrics.

Each run (:func:`snn.data.mackey_glass_run`) drives a fresh model (seed = run index) with the
training part, fits a ridge readout to the one-step-ahead targets after the warm-up, then
predicts the test part free-running: from the first test input on, every prediction is the
next input.  The score is sMAPE (:func:`snn.neurobench.metrics.smape`) over the test part,
averaged over the runs; the metrics are NeuroBench's, per predicted step (the harness counts
one sample per step in this task).

Two predictors:

* :class:`ESNPredictor`: the echo state network of :mod:`snn.reservoir` (numba loop), read
  out from ``[u, x]`` (the input and the state) plus an intercept.
* :class:`SpikingReservoirPredictor`: a recurrent reservoir of LIF neurons (the step
  functions of :mod:`snn.models`, the equations of :class:`snn.layers.LIF`), read out from
  ``[u, r]`` where ``r`` are the neurons' exponentially filtered spike trains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._random import numpy_generator
from ..data.mackey_glass_protocol import (
    MackeyGlassProtocol,
    mackey_glass_protocol_series,
    mackey_glass_run,
)
from ..models import heaviside, leaky_integrate, reset_membrane
from ..reservoir.esn import ESN, ESNConfig, esn_states
from ..reservoir.readout import RidgeReadout
from ..validation import check_int, check_nonnegative, check_real
from .metrics import (
    activation_sparsity,
    connection_sparsity,
    footprint,
    layer_operations,
    membrane_updates,
    smape,
    total_operations,
)

__all__ = ["ESNPredictor", "SpikingReservoirConfig", "SpikingReservoirPredictor",
           "run_mackey_glass"]


class ESNPredictor:
    """An echo state network with a ridge readout on ``[u, x]``, for one-dimensional
    autoregressive prediction.

    Args:
        config: the reservoir's hyper-parameters (:class:`snn.reservoir.ESNConfig`).
        ridge: the readout's L2 penalty (>= 0).
        rng: draws the reservoir (an int seed, a ``numpy.random.Generator`` or None).
        dtype: storage type of the weights for the footprint (``"float64"`` or
            ``"float32"``); the arithmetic is float64 either way, on weights rounded to it.
    """

    def __init__(self, config: ESNConfig, ridge: float = 1e-7,
                 rng: int | np.random.Generator | None = None, dtype: str = "float64") -> None:
        if not isinstance(config, ESNConfig):
            raise TypeError(f"config must be an ESNConfig, got {type(config).__name__}")
        if dtype not in ("float64", "float32"):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        self.ridge = check_nonnegative("ridge", ridge)
        self.dtype = np.dtype(dtype)
        esn = ESN(config, 1, rng=rng)
        # weights as stored (rounded to dtype), used in float64 arithmetic
        self.W = esn.W.astype(self.dtype).astype(np.float64)
        self.W_in = esn.W_in.astype(self.dtype).astype(np.float64)
        self.bias = esn.bias.astype(self.dtype).astype(np.float64)
        self.leak = config.leak
        self.rectify = config.activation == "rectified_tanh"
        self.n_neurons = config.n_neurons
        self.state = np.zeros(self.n_neurons)
        self.readout: RidgeReadout | None = None
        self.test_states: np.ndarray | None = None
        self.test_inputs: np.ndarray | None = None

    def _run(self, u: np.ndarray) -> np.ndarray:
        states = esn_states(self.W, self.W_in, self.bias, u.reshape(-1, 1), self.state,
                            self.leak, self.rectify)
        self.state = states[-1].copy()
        return states

    def fit(self, inputs: np.ndarray, targets: np.ndarray, warmup_steps: int) -> ESNPredictor:
        """Teacher-forced training from the zero state.

        Args:
            inputs: ``[T]``; targets: ``[T]`` (the next values); warmup_steps: first steps
                left out of the fit.

        Returns:
            self.
        """
        u = np.asarray(inputs, np.float64)
        self.state = np.zeros(self.n_neurons)
        states = self._run(u)
        features = np.concatenate([u[:, None], states], axis=1)
        self.readout = RidgeReadout(self.ridge, warmup_steps).fit(features, targets)
        coef = self.readout.coef_.astype(self.dtype).astype(np.float64)
        self.readout.coef_ = coef
        self.readout.intercept_ = self.readout.intercept_.astype(self.dtype).astype(np.float64)
        self.state_after_fit = self.state.copy()
        return self

    def predict(self, first_input: float, n_steps: int) -> np.ndarray:
        """Free-running prediction: ``first_input`` then each prediction fed back.

        Args:
            first_input: the last true value; n_steps: predictions to make (>= 1).

        Returns:
            ``[n_steps]`` predictions (the states and inputs of the run are kept in
            ``test_states`` ``[n_steps, N]`` and ``test_inputs`` ``[n_steps]``).
        """
        if self.readout is None:
            raise RuntimeError("the predictor is not fitted: call fit(...) first")
        n_steps = check_int("n_steps", n_steps, minimum=1)
        w_out = self.readout.coef_[:, 0]
        b_out = float(self.readout.intercept_[0])
        u = float(first_input)
        out = np.empty(n_steps)
        states = np.empty((n_steps, self.n_neurons))
        inputs = np.empty(n_steps)
        # a diverging prediction overflows to inf / NaN, which sMAPE scores as 200
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(n_steps):
                inputs[t] = u
                x = self._run(np.array([u]))[0]
                states[t] = x
                u = w_out[0] * u + x @ w_out[1:] + b_out
                out[t] = u
        self.test_states, self.test_inputs = states, inputs
        return out

    def parameters(self) -> list[np.ndarray]:
        """The stored arrays (input weights and bias, recurrent weights, readout weights and
        intercept), in the model's dtype."""
        arrays = [self.W_in, self.bias, self.W]
        if self.readout is not None:
            arrays += [self.readout.coef_, self.readout.intercept_]
        return [a.astype(self.dtype) for a in arrays]

    def metrics(self) -> dict:
        """NeuroBench's metrics of the last :meth:`predict` run, per predicted step.

        Returns:
            The harness's keys (see :mod:`snn.neurobench.metrics`); the ESN has no spiking
            layer, so ``MembraneUpdates`` is 0 and ``ActivationSparsity`` is that of the
            ``tanh`` outputs.
        """
        if self.test_states is None:
            raise RuntimeError("no prediction run yet: call predict(...) first")
        n = self.test_inputs.size
        u = self.test_inputs[:, None]
        prev = np.concatenate([self.state_after_fit[None, :], self.test_states[:-1]], 0)
        features = np.concatenate([u, self.test_states], axis=1)
        ops = [layer_operations(self.W_in, u), layer_operations(self.W, prev),
               layer_operations(self.readout.coef_.T, features)]
        tanh_out = self.test_states if self.leak == 1.0 else None
        return {
            "Footprint": footprint(self.parameters()),
            "ConnectionSparsity": connection_sparsity([self.W_in, self.W,
                                                       self.readout.coef_.T]),
            "ActivationSparsity": activation_sparsity([] if tanh_out is None else [tanh_out]),
            "SynapticOperations": total_operations(ops, n),
            "MembraneUpdates": 0,
        }

    def run(self, train_inputs: np.ndarray, train_targets: np.ndarray, warmup_steps: int,
            first_input: float, n_steps: int) -> np.ndarray:
        """:meth:`fit` then :meth:`predict`; returns the predictions ``[n_steps]``."""
        self.fit(train_inputs, train_targets, warmup_steps)
        return self.predict(first_input, n_steps)


@dataclass(frozen=True)
class SpikingReservoirConfig:
    """A recurrent LIF reservoir read out from filtered spike trains (dimensionless).

    Args:
        n_neurons: reservoir neurons (>= 1).
        beta: membrane decay per step in ``[0, 1]``.
        threshold: firing threshold (> 0, membrane units).
        input_scaling: input weights ``U(-s, s)`` (> 0).
        bias_scaling: constant drive ``U(0, s)`` per neuron (>= 0).
        recurrent_scaling: recurrent weights ``N(0, s / sqrt(p N))`` (>= 0).
        connectivity: fraction of nonzero recurrent weights in (0, 1].
        trace_decay: decay per step of the spike traces the readout sees, in ``[0, 1)``.
        substeps: LIF steps per sample (>= 1).
        seed: the default seed of :class:`SpikingReservoirPredictor`.
    """

    n_neurons: int = 200
    beta: float = 0.5
    threshold: float = 1.0
    input_scaling: float = 2.0
    bias_scaling: float = 1.0
    recurrent_scaling: float = 0.5
    connectivity: float = 0.1
    trace_decay: float = 0.8
    substeps: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("SpikingReservoirConfig.n_neurons", self.n_neurons, minimum=1)
        check_real("SpikingReservoirConfig.beta", self.beta, minimum=0.0, maximum=1.0)
        check_real("SpikingReservoirConfig.threshold", self.threshold, minimum=0.0,
                   exclusive_minimum=True)
        check_real("SpikingReservoirConfig.input_scaling", self.input_scaling, minimum=0.0,
                   exclusive_minimum=True)
        for name in ("bias_scaling", "recurrent_scaling"):
            check_nonnegative(f"SpikingReservoirConfig.{name}", getattr(self, name))
        check_real("SpikingReservoirConfig.connectivity", self.connectivity, minimum=0.0,
                   maximum=1.0, exclusive_minimum=True)
        check_real("SpikingReservoirConfig.trace_decay", self.trace_decay, minimum=0.0,
                   maximum=1.0)
        if not self.trace_decay < 1.0:
            raise ValueError("SpikingReservoirConfig.trace_decay must be < 1, got 1.0")
        check_int("SpikingReservoirConfig.substeps", self.substeps, minimum=1)
        check_int("SpikingReservoirConfig.seed", self.seed, minimum=0)


class SpikingReservoirPredictor:
    """A recurrent reservoir of LIF neurons (the equations of :class:`snn.layers.LIF`) for
    autoregressive prediction, read out from ``[u, traces]`` by ridge regression.

    Per sample ``u`` and LIF step: drive ``I = W_in u + b + W_rec s`` (``s`` the spikes of
    the previous step), LIF step (reset by subtraction), trace ``r = trace_decay r + s``.

    Args:
        config: the reservoir's settings.
        ridge: the readout's L2 penalty (>= 0).
        rng: draws the weights (int seed, numpy Generator or None: ``config.seed``).
    """

    def __init__(self, config: SpikingReservoirConfig, ridge: float = 1e-6,
                 rng: int | np.random.Generator | None = None) -> None:
        if not isinstance(config, SpikingReservoirConfig):
            raise TypeError(f"config must be a SpikingReservoirConfig, got "
                            f"{type(config).__name__}")
        self.config = config
        self.ridge = check_nonnegative("ridge", ridge)
        gen = numpy_generator(config.seed if rng is None else rng)
        n = config.n_neurons
        self.W_in = gen.uniform(-config.input_scaling, config.input_scaling, (n, 1))
        self.bias = gen.uniform(0.0, config.bias_scaling, n)
        mask = gen.random((n, n)) < config.connectivity
        scale = config.recurrent_scaling / np.sqrt(max(config.connectivity * n, 1.0))
        self.W = gen.normal(0.0, scale, (n, n)) * mask
        self.readout: RidgeReadout | None = None
        self._reset()

    def _reset(self) -> None:
        n = self.config.n_neurons
        self.v = np.zeros(n)
        self.spikes = np.zeros(n)
        self.trace = np.zeros(n)

    def _step(self, u: float, record: dict | None = None) -> np.ndarray:
        c = self.config
        for _ in range(c.substeps):
            drive = self.W_in[:, 0] * u + self.bias + self.W @ self.spikes
            prev_spikes = self.spikes
            # the LIF equations of snn.models (those of snn.layers.LIF): u = beta v + x,
            # spike where u > threshold, reset by subtraction
            v_free = leaky_integrate(self.v, drive, c.beta, 0.0, 1.0)
            self.spikes = heaviside(v_free - c.threshold)
            self.v = reset_membrane(v_free, self.spikes, c.threshold, 0.0, 1.0)
            self.trace = c.trace_decay * self.trace + self.spikes
            if record is not None:
                record["u"].append(u)
                record["prev_spikes"].append(prev_spikes)
                record["spikes"].append(self.spikes)
                record["v"].append(self.v)
        if record is not None:
            record["features"].append(np.concatenate([[u], self.trace]))
        return self.trace

    def fit(self, inputs: np.ndarray, targets: np.ndarray, warmup_steps: int
            ) -> SpikingReservoirPredictor:
        """Teacher-forced training from rest; returns self."""
        self._reset()
        u = np.asarray(inputs, np.float64)
        feats = np.empty((u.size, self.config.n_neurons + 1))
        for t, value in enumerate(u):
            feats[t, 0] = value
            feats[t, 1:] = self._step(value)
        self.readout = RidgeReadout(self.ridge, warmup_steps).fit(feats, targets)
        return self

    def predict(self, first_input: float, n_steps: int) -> np.ndarray:
        """Free-running prediction from ``first_input``; returns ``[n_steps]``."""
        if self.readout is None:
            raise RuntimeError("the predictor is not fitted: call fit(...) first")
        n_steps = check_int("n_steps", n_steps, minimum=1)
        w_out = self.readout.coef_[:, 0]
        b_out = float(self.readout.intercept_[0])
        self._record = {"u": [], "prev_spikes": [], "spikes": [], "v": [], "features": []}
        self._n_predicted = n_steps
        u = float(first_input)
        out = np.empty(n_steps)
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(n_steps):
                r = self._step(u, self._record)
                u = w_out[0] * u + r @ w_out[1:] + b_out
                out[t] = u
        return out

    def run(self, train_inputs: np.ndarray, train_targets: np.ndarray, warmup_steps: int,
            first_input: float, n_steps: int) -> np.ndarray:
        """:meth:`fit` then :meth:`predict`; returns the predictions ``[n_steps]``."""
        self.fit(train_inputs, train_targets, warmup_steps)
        return self.predict(first_input, n_steps)

    def metrics(self) -> dict:
        """NeuroBench's metrics of the last :meth:`predict` run, per predicted sample."""
        rec = self._record
        c = self.config
        n = self._n_predicted
        u = np.asarray(rec["u"])[:, None]
        prev = np.asarray(rec["prev_spikes"])
        spikes = np.asarray(rec["spikes"])
        v = np.asarray(rec["v"])
        traces_in = np.asarray(rec["features"])
        ops = [layer_operations(self.W_in, u), layer_operations(self.W, prev),
               layer_operations(self.readout.coef_.T, traces_in)]
        # beta and threshold: one value each, as the float64 buffers of snn.layers.LIF
        params = [self.W_in, self.bias, self.W, self.readout.coef_, self.readout.intercept_,
                  np.array([c.beta, c.threshold])]
        return {
            "Footprint": footprint(params),
            "ConnectionSparsity": connection_sparsity([self.W_in, self.W,
                                                       self.readout.coef_.T]),
            "ActivationSparsity": activation_sparsity([spikes]),
            "SynapticOperations": total_operations(ops, n),
            "MembraneUpdates": membrane_updates(v, n),
        }


def run_mackey_glass(make_predictor: Callable[[int], Any],
                     protocol: MackeyGlassProtocol | None = None,
                     series: np.ndarray | None = None, runs: int | None = None) -> dict:
    """NeuroBench's Mackey-Glass protocol for a predictor.

    Args:
        make_predictor: ``seed -> predictor`` with ``run(train_inputs, train_targets,
            warmup_steps, first_input, n_steps)`` and ``metrics()``, e.g.
            ``lambda seed: ESNPredictor(config, rng=seed)``.
        protocol: the task (None: NeuroBench's).
        series: the series (None: :func:`snn.data.mackey_glass_protocol_series`).
        runs: how many of the protocol's runs to do (None: all ``n_runs``).

    Returns:
        ``{"smape": mean, "smape_runs": [...], "metrics": mean of each metric over runs,
        "series": "regenerated"}``.
    """
    protocol = MackeyGlassProtocol() if protocol is None else protocol
    if not isinstance(protocol, MackeyGlassProtocol):
        raise TypeError(f"protocol must be a MackeyGlassProtocol, got {type(protocol).__name__}")
    n_runs = protocol.n_runs if runs is None else check_int("runs", runs, minimum=1,
                                                            maximum=protocol.n_runs)
    x = mackey_glass_protocol_series(protocol) if series is None else series
    scores, metrics = [], []
    for k in range(n_runs):
        run = mackey_glass_run(x, protocol, k)
        model = make_predictor(protocol.run_seed(k))
        pred = model.run(run.train_inputs, run.train_targets, run.warmup_steps,
                         float(run.test_inputs[0]), run.test_targets.size)
        scores.append(smape(pred, run.test_targets))
        metrics.append(model.metrics())
    return {"smape": float(np.mean(scores)), "smape_runs": scores,
            "metrics": _mean_metrics(metrics), "series": "regenerated"}


def _mean_metrics(rows: list[dict]) -> dict:
    out = {}
    for key, value in rows[0].items():
        if isinstance(value, dict):
            out[key] = {k: float(np.mean([r[key][k] for r in rows])) for k in value}
        else:
            out[key] = float(np.mean([r[key] for r in rows]))
    return out
