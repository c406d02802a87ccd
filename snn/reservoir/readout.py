"""Linear readouts shared by the echo state network and the liquid state machine.

States are ``[n_steps, n_features]`` (time series) or ``[n_samples, n_features]``
(classification features).  :class:`RidgeReadout` drops the first ``washout_steps`` rows when
fitting time series; :class:`LogisticReadout` classifies.  Both refuse to predict before
:meth:`fit` with a ``RuntimeError`` that says so.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_array, check_int, check_nonnegative, check_positive

__all__ = ["RidgeReadout", "LogisticReadout", "nrmse", "memory_capacity", "check_states"]


def check_states(name: str, x, ndim: int = 2) -> np.ndarray:
    """``x`` as a finite float64 array with ``ndim`` dimensions and no empty axis."""
    arr = check_array(name, x, ndim=ndim, kind="biuf", dtype=np.float64)
    if 0 in arr.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array, got shape {arr.shape}")
    return arr


class RidgeReadout:
    """Ridge regression ``y = x W + b`` (closed form, intercept not penalised).

    Args:
        alpha: L2 penalty (>= 0).
        washout_steps: rows dropped from the start of each fitted or scored series (time
            steps before the reservoir forgets its initial state), >= 0.

    Shapes:
        states ``[n, features]``; targets ``[n]`` or ``[n, outputs]``; ``coef_``
        ``[features, outputs]``, ``intercept_`` ``[outputs]``.
    """

    def __init__(self, alpha: float = 1e-6, washout_steps: int = 0) -> None:
        self.alpha = check_nonnegative("alpha", alpha)
        self.washout_steps = check_int("washout_steps", washout_steps, minimum=0)
        self.coef_: np.ndarray | None = None
        self.intercept_: np.ndarray | None = None

    def fit(self, states, targets) -> RidgeReadout:
        """``states`` ``[n, features]``, ``targets`` ``[n]`` or ``[n, outputs]``."""
        x = check_states("states", states)
        y = np.asarray(targets, dtype=np.float64)
        one_d = y.ndim == 1
        y = y[:, None] if one_d else y
        y = check_states("targets", y)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"targets must have {x.shape[0]} rows like states, got {y.shape[0]}")
        if self.washout_steps >= x.shape[0]:
            raise ValueError(f"washout_steps ({self.washout_steps}) must be shorter than the "
                             f"series ({x.shape[0]} steps)")
        x, y = x[self.washout_steps:], y[self.washout_steps:]
        x_mean, y_mean = x.mean(0), y.mean(0)
        xc, yc = x - x_mean, y - y_mean
        gram = xc.T @ xc
        gram[np.diag_indices_from(gram)] += self.alpha
        coef = np.linalg.lstsq(gram, xc.T @ yc, rcond=None)[0] if self.alpha == 0 else \
            np.linalg.solve(gram, xc.T @ yc)
        self.coef_ = coef
        self.intercept_ = y_mean - x_mean @ coef
        self._one_d = one_d
        return self

    def predict(self, states) -> np.ndarray:
        if self.coef_ is None:
            raise RuntimeError("readout is not fitted: call fit(states, targets) before "
                               "predict or score")
        x = check_states("states", states)
        if x.shape[1] != self.coef_.shape[0]:
            raise ValueError(f"states must have {self.coef_.shape[0]} features, got {x.shape[1]}")
        y = x @ self.coef_ + self.intercept_
        return y[:, 0] if self._one_d else y

    def score(self, states, targets) -> float:
        """NRMSE of the prediction (washout rows excluded), averaged over outputs."""
        pred = self.predict(states)
        y = np.asarray(targets, dtype=np.float64)
        return nrmse(y[self.washout_steps:], pred[self.washout_steps:])


class LogisticReadout:
    """Multinomial logistic regression on standardised features (scikit-learn).

    Args:
        c: inverse L2 strength (> 0).
        max_iter: solver iterations (>= 1).

    Shapes:
        features ``[n_samples, n_features]``; labels ``[n_samples]``.
    """

    def __init__(self, c: float = 1.0, max_iter: int = 2000) -> None:
        self.c = check_positive("c", c)
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.model_ = None

    def fit(self, features, labels) -> LogisticReadout:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        x = check_states("features", features)
        y = np.asarray(labels)
        if y.shape != (x.shape[0],):
            raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
        self.model_ = make_pipeline(StandardScaler(),
                                    LogisticRegression(C=self.c, max_iter=self.max_iter))
        self.model_.fit(x, y)
        return self

    def predict(self, features) -> np.ndarray:
        if self.model_ is None:
            raise RuntimeError("readout is not fitted: call fit(features, labels) before "
                               "predict or score")
        return self.model_.predict(check_states("features", features))

    def score(self, features, labels) -> float:
        """Accuracy in [0, 1]."""
        return float(np.mean(self.predict(features) == np.asarray(labels)))


def nrmse(target: np.ndarray, prediction: np.ndarray) -> float:
    """Root-mean-square error divided by the target's standard deviation.

    Args:
        target: the true values ``[n]`` or ``[n, outputs]``.
        prediction: the predicted values, of the shape of ``target``.

    Returns:
        The NRMSE (dimensionless), averaged over outputs for 2-D arrays.
    """
    y = np.asarray(target, dtype=np.float64)
    p = np.asarray(prediction, dtype=np.float64)
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"target and prediction must have the same non-empty shape, got "
                         f"{y.shape} and {p.shape}")
    y2, p2 = y.reshape(y.shape[0], -1), p.reshape(p.shape[0], -1)
    return float(np.mean(np.sqrt(np.mean((y2 - p2) ** 2, 0)) / np.std(y2, 0)))


def memory_capacity(train_states: np.ndarray, train_input: np.ndarray,
                    test_states: np.ndarray, test_input: np.ndarray,
                    max_delay_steps: int = 40, alpha: float = 1e-6,
                    washout_steps: int = 100) -> tuple[float, np.ndarray]:
    """Jaeger's (2001) short-term memory capacity ``MC = sum_k r^2(u[t-k], y_k[t])``.

    One ridge readout per delay ``k = 1..max_delay_steps`` is fitted on the training states
    against the delayed input ``u[t-k]``, and the squared correlation is measured on the
    test series.

    Args:
        train_states: reservoir states of the training series ``[n, features]``.
        train_input: the scalar input that drove them ``[n]``.
        test_states: reservoir states of the test series ``[m, features]``.
        test_input: the scalar input that drove them ``[m]``.
        max_delay_steps: the longest delay ``k`` (steps, >= 1).
        alpha: ridge penalty (>= 0).
        washout_steps: first steps of each series left out (>= 0).

    Returns:
        ``(MC, r2)``: the capacity and the squared correlation per delay ``[max_delay_steps]``.
    """
    from ..data.timeseries import delayed_targets

    x_tr = check_states("train_states", train_states)
    x_te = check_states("test_states", test_states)
    y_tr = delayed_targets(train_input, max_delay_steps)
    y_te = delayed_targets(test_input, max_delay_steps)
    if y_tr.shape[0] != x_tr.shape[0] or y_te.shape[0] != x_te.shape[0]:
        raise ValueError("inputs must have one value per state row")
    readout = RidgeReadout(alpha, washout_steps).fit(x_tr, y_tr)
    pred = readout.predict(x_te)[washout_steps:]
    y = y_te[washout_steps:]
    pc, yc = pred - pred.mean(0), y - y.mean(0)
    r2 = (pc * yc).sum(0) ** 2 / ((pc ** 2).sum(0) * (yc ** 2).sum(0) + 1e-300)
    return float(r2.sum()), r2
