"""The multitasking couplings on spiking LIF neurons in the engine (beyond the paper).

Each binary unit ``s_i`` becomes one LIF neuron with current synapses: firing stands for
``s_i = +1``, silence for ``-1``.  With activities ``a_j`` in {0, 1} the local field is
``h_i = sum_j J_ij s_j = 2 sum_j J_ij a_j - sum_j J_ij``, so neuron ``i`` receives

* recurrent synapses of weight ``2 drive J_ij / (rate_active tau_syn)`` (A): a neuron firing
  at ``rate_active`` delivers the mean current ``2 drive J_ij``;
* a constant current ``I_rheobase - drive sum_j J_ij`` (A), where ``I_rheobase =
  (v_threshold - v_rest) / r_m`` puts a neuron with zero field at its threshold;
* during the cue, ``cue_current * cue_i`` on top.

``drive`` (A per unit of field) sets how far above threshold a unit with ``h = 1`` is
driven; ``rate_active`` is the LIF rate at that current (the f-I curve, computed, not
fitted).  With ``dale=True`` excitatory neurons excite only: each negative coupling runs
through a one-to-one inhibitory relay neuron (``inh_j`` fires with ``exc_j``) and so arrives
one synaptic delay and one relay later; with ``dale=False`` one population sends both
signs.  Synaptic delays are drawn uniformly in ``[delay_min, delay_max]``.  The retrieved
state is read from spike counts in the last ``readout_window``: ``s_i = +1`` where the rate
exceeds ``rate_threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._random import numpy_generator
from ..validation import check_int, check_nonnegative, check_positive, check_real
from .couplings import Couplings, _check_state
from .data import check_patterns

__all__ = ["SpikingRetrievalConfig", "SpikingRetrievalResult", "spiking_retrieval"]


@dataclass(frozen=True)
class SpikingRetrievalConfig:
    """Settings of :func:`spiking_retrieval` (SI units).

    Args:
        drive: current per unit of local field (A, > 0).
        cue_current: cue current amplitude (A, >= 0).
        cue_duration: how long the cue is applied from t = 0 (s, > 0).
        duration: simulated time (s), longer than ``cue_duration + readout_window``.
        readout_window: the last stretch whose spike counts give the state (s, > 0).
        delay_min: smallest recurrent synaptic delay (s, >= 0).
        delay_max: largest recurrent synaptic delay (s, >= ``delay_min``).
        tau_syn: synaptic time constant of both channels (s, > 0).
        tau_refractory: refractory period (s, > 0), which bounds the rates.
        rate_threshold: rate above which a neuron counts as active (Hz, > 0).
        dale: excitatory neurons excite only; negative couplings through inhibitory relays.
        dt: time step (s, > 0).
        seed: seed of the delays.
    """

    drive: float = 400e-12
    cue_current: float = 400e-12
    cue_duration: float = 0.05
    duration: float = 0.25
    readout_window: float = 0.1
    delay_min: float = 1e-3
    delay_max: float = 1e-3
    tau_syn: float = 5e-3
    tau_refractory: float = 2e-3
    rate_threshold: float = 10.0
    dale: bool = False
    dt: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        name = "SpikingRetrievalConfig"
        check_positive(f"{name}.drive", self.drive, "A")
        check_nonnegative(f"{name}.cue_current", self.cue_current, "A")
        check_positive(f"{name}.cue_duration", self.cue_duration, "s")
        check_positive(f"{name}.readout_window", self.readout_window, "s")
        check_real(f"{name}.duration", self.duration, minimum=self.cue_duration
                   + self.readout_window, unit="s")
        check_nonnegative(f"{name}.delay_min", self.delay_min, "s")
        check_real(f"{name}.delay_max", self.delay_max, minimum=self.delay_min, unit="s")
        check_positive(f"{name}.tau_syn", self.tau_syn, "s")
        check_positive(f"{name}.tau_refractory", self.tau_refractory, "s")
        check_positive(f"{name}.rate_threshold", self.rate_threshold, "Hz")
        if not isinstance(self.dale, bool):
            raise TypeError(f"{name}.dale must be a bool, got {type(self.dale).__name__}")
        check_positive(f"{name}.dt", self.dt, "s")
        check_int(f"{name}.seed", self.seed, minimum=0)


@dataclass(frozen=True)
class SpikingRetrievalResult:
    """What :func:`spiking_retrieval` returns.

    Args:
        state: the state read in the last window, int8 ``[N]`` in {-1, +1}.
        magnetizations: Mattis magnetisations of that state, float64 ``[P]``.
        window_magnetizations: magnetisations per readout window over the run, float64
            ``[n_windows, P]`` (consecutive windows of ``readout_window``, the last one ending
            at ``duration``: its row equals ``magnetizations``).
        rates: firing rates in the last window (Hz), float64 ``[N]``.
        rate_active: the LIF rate the weights were scaled with (Hz).
        n_synapses: synapses in the network.
        relay_ratio: relay spikes per excitatory spike with ``dale=True`` (1 when every
            spike is relayed), NaN otherwise.
        wall_time: seconds the engine ran (s).
    """

    state: np.ndarray
    magnetizations: np.ndarray
    window_magnetizations: np.ndarray
    rates: np.ndarray
    rate_active: float
    n_synapses: int
    relay_ratio: float
    wall_time: float


def _lif_rate(current: float, params) -> float:
    """Rate (Hz) of a LIF neuron under a constant current (A), from its f-I curve."""
    v_inf = params.v_rest + params.r_m * current
    if v_inf <= params.v_threshold:
        return 0.0
    return 1.0 / (params.tau_refractory + params.tau_m * math.log(
        (v_inf - params.v_reset) / (v_inf - params.v_threshold)))


def spiking_retrieval(couplings: Couplings, patterns: object, cue: object,
                      config: SpikingRetrievalConfig | None = None, *,
                      backend: str = "numba") -> SpikingRetrievalResult:
    """Retrieve from a cue with the couplings on LIF neurons in the engine.

    Args:
        couplings: :class:`~snn.associative.Couplings` (N units; the dense ``N x N``
            coupling matrix is built, so N of a few thousand).
        patterns: ``[P, N]`` in {-1, 0, +1}, for the magnetisations.
        cue: ``[N]`` in {-1, +1}, the state the cue current pushes toward.
        config: :class:`SpikingRetrievalConfig` (defaults when None).
        backend: the engine backend (``snn.BACKENDS``).

    Returns:
        :class:`SpikingRetrievalResult`.
    """
    from .. import models
    from ..engine import run
    from ..network import Network

    if not isinstance(couplings, Couplings):
        raise TypeError(f"couplings must be a Couplings, got {type(couplings).__name__}")
    config = SpikingRetrievalConfig() if config is None else config
    if not isinstance(config, SpikingRetrievalConfig):
        raise TypeError(f"config must be a SpikingRetrievalConfig, got {type(config).__name__}")
    n = couplings.n_neurons
    xi = check_patterns(patterns)
    if xi.shape[1] != n:
        raise ValueError(f"patterns must have shape (P, {n}) to match the couplings, got "
                         f"{xi.shape}")
    cue = _check_state(cue, n, "cue").astype(np.float64)
    generator = numpy_generator(config.seed)

    synapses = models.CurrentSynapses(tau_exc=config.tau_syn, tau_inh=config.tau_syn)
    params = models.LIFParams(tau_refractory=config.tau_refractory, synapses=synapses)
    rheobase = (params.v_threshold - params.v_rest) / params.r_m
    rate_active = _lif_rate(rheobase + config.drive, params)
    j = couplings.matrix()                                   # [N, N], J[i, j], zero diagonal
    gain = 2.0 * config.drive / (rate_active * config.tau_syn)   # A per unit coupling

    n_steps = int(round(config.duration / config.dt))
    cue_steps = int(round(config.cue_duration / config.dt))
    base = rheobase - config.drive * j.sum(axis=1)
    current = np.repeat(base[None, :], n_steps, axis=0)
    current[:cue_steps] += config.cue_current * cue[None, :]

    net = Network(dt=config.dt, max_delay=max(config.delay_max, config.dt) + 2 * config.dt)
    net.add_population("exc", n, params, v_init=params.v_rest)
    net.set_current("exc", current)
    pre, post = np.nonzero(j.T)                              # synapse pre -> post = J[post, pre]
    weight = gain * j[post, pre]
    delays = generator.uniform(config.delay_min, config.delay_max, size=pre.size)
    positive = weight > 0
    net.connect("exc", "exc", weight[positive], pre_indices=pre[positive],
                post_indices=post[positive], delays=delays[positive], channel="exc")
    if config.dale:
        # One-to-one relays: a spike of exc_j makes inh_j fire once (a strong, fast synapse).
        relay = models.LIFParams(tau_refractory=config.tau_refractory,
                                 synapses=models.CurrentSynapses(tau_exc=config.dt,
                                                                 tau_inh=config.tau_syn))
        net.add_population("inh", n, relay, v_init=relay.v_rest)
        kick = 4.0 * (relay.v_threshold - relay.v_rest) / relay.r_m * relay.tau_m / config.dt
        index = np.arange(n)
        net.connect("exc", "inh", kick, pre_indices=index, post_indices=index)
        net.connect("inh", "exc", weight[~positive], pre_indices=pre[~positive],
                    post_indices=post[~positive], delays=delays[~positive], channel="inh")
    else:
        net.connect("exc", "exc", weight[~positive], pre_indices=pre[~positive],
                    post_indices=post[~positive], delays=delays[~positive], channel="inh")
    net.monitor_spikes(*(("exc", "inh") if config.dale else ("exc",)))
    result = run(net, config.duration, backend=backend, rng=config.seed)
    spikes = result.spikes["exc"]
    relay_ratio = (result.spikes["inh"].times.size / max(spikes.times.size, 1)
                   if config.dale else float("nan"))

    d = couplings.dilution
    n_windows = int(math.floor(config.duration / config.readout_window + 1e-9))
    window_m = np.empty((n_windows, xi.shape[0]))
    rates = np.zeros(n)
    first = config.duration - n_windows * config.readout_window   # windows end at duration
    for w in range(n_windows):
        lo, hi = first + w * config.readout_window, first + (w + 1) * config.readout_window
        sel = (spikes.times >= lo) & (spikes.times < hi)
        rates = np.bincount(spikes.indices[sel], minlength=n) / config.readout_window
        state = np.where(rates > config.rate_threshold, 1.0, -1.0)
        window_m[w] = xi @ state / (n * (1.0 - d))
    return SpikingRetrievalResult(state=state.astype(np.int8),
                                  magnetizations=xi @ state / (n * (1.0 - d)),
                                  window_magnetizations=window_m, rates=rates,
                                  rate_active=rate_active, n_synapses=net.n_synapses,
                                  relay_ratio=relay_ratio, wall_time=result.wall_time)
