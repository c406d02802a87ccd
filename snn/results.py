"""Simulation results as plain arrays, with rate/ISI statistics and plotting helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .validation import check_choice, check_int

if TYPE_CHECKING:  # pragma: no cover
    from .engine import EngineState

__all__ = ["SpikeTrains", "SimulationResult"]


@dataclass(frozen=True)
class SpikeTrains:
    """Spikes of one population: spike ``k`` is neuron ``indices[k]`` at ``times[k]`` (s),
    sorted by time then index, over ``[t_start, t_start + duration)``.

    Shapes:
        ``times`` and ``indices`` ``[n_spikes]``.
    """

    times: np.ndarray  #: spike times (s), float64 ``[n_spikes]``
    indices: np.ndarray  #: neuron index of each spike, int ``[n_spikes]``
    n_neurons: int  #: number of neurons in the population
    duration: float  #: length of the recorded window (s)
    t_start: float = 0.0  #: start of the recorded window (s)

    @property
    def count(self) -> int:
        """Number of spikes."""
        return int(self.times.size)

    def rates(self) -> np.ndarray:
        """Firing rate of each neuron over the window.

        Returns:
            Rates (Hz), float64 ``[n_neurons]``.
        """
        return np.bincount(self.indices, minlength=self.n_neurons) / self.duration

    def mean_rate(self) -> float:
        """Population-average firing rate (Hz): spikes / (neurons x duration)."""
        return self.count / (self.n_neurons * self.duration)

    def trains(self) -> list[np.ndarray]:
        """Spike times of each neuron (s), a list of ``n_neurons`` sorted arrays."""
        order = np.argsort(self.indices, kind="stable")
        splits = np.cumsum(np.bincount(self.indices, minlength=self.n_neurons))[:-1]
        return np.split(self.times[order], splits)

    def cv_isi(self, min_spikes: int = 3) -> np.ndarray:
        """Coefficient of variation of the inter-spike intervals (std / mean of its ISIs).

        Args:
            min_spikes: neurons with fewer spikes are left out.

        Returns:
            One CV (dimensionless) per neuron with at least ``min_spikes`` spikes, in neuron
            order, ``[n_kept]``.
        """
        cvs = []
        for t in self.trains():
            if t.size >= min_spikes:
                isi = np.diff(t)
                cvs.append(isi.std() / isi.mean())
        return np.asarray(cvs)

    def mean_cv_isi(self, min_spikes: int = 3) -> float:
        """Mean of :meth:`cv_isi` over the neurons kept (NaN when none is).

        Args:
            min_spikes: as for :meth:`cv_isi`.

        Returns:
            The mean CV (dimensionless).
        """
        cv = self.cv_isi(min_spikes)
        return float(cv.mean()) if cv.size else float("nan")

    def population_rate(self, bin_width: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
        """Population rate in bins of ``bin_width`` over the window.

        Args:
            bin_width: bin width (s).

        Returns:
            ``(bin starts (s), rate (Hz))``, both ``[n_bins]``.
        """
        n_bins = max(1, int(round(self.duration / bin_width)))
        edges = self.t_start + np.arange(n_bins + 1) * bin_width
        counts, _ = np.histogram(self.times, bins=edges)
        return edges[:-1], counts / (self.n_neurons * bin_width)


@dataclass
class SimulationResult:
    """Output of :func:`snn.run`.

    ``spikes[pop]`` holds the recorded spikes; ``traces[pop][var]`` has shape
    ``[n_steps, len(trace_indices[pop][var])]`` and sample ``k`` is the state at time
    ``t_start + k * dt``; ``state`` continues the simulation (``run(..., state=...)``);
    :meth:`weights` gives each projection's weights after the run (learned ones for plastic
    projections).
    """

    dt: float  #: time step (s)
    t_start: float  #: time of the first step (s)
    n_steps: int  #: number of simulated steps
    spikes: dict[str, SpikeTrains]  #: recorded spikes by population
    traces: dict[str, dict[str, np.ndarray]]  #: recorded state by population and variable
    trace_indices: dict[str, dict[str, np.ndarray]]  #: neurons of each trace's columns
    state: EngineState  #: the state at the end, to continue from
    backend: str  #: the backend that ran
    build_time: float = 0.0  #: time spent lowering the network (s, wall clock)
    wall_time: float = 0.0  #: time spent simulating (s, wall clock)
    extra: dict[str, Any] = field(default_factory=dict)  #: backend- or caller-specific
    projections: tuple = ()  # the network's projections, in order

    @property
    def duration(self) -> float:
        """Simulated time (s): ``n_steps * dt``."""
        return self.n_steps * self.dt

    @property
    def times(self) -> np.ndarray:
        """Sample times of the traces (s), shape [n_steps]."""
        return self.t_start + np.arange(self.n_steps) * self.dt

    def weights(self, projection: Any) -> np.ndarray:
        """A projection's weights at the end of the run: what it learned if it has a
        plasticity rule, else its own weights.

        Args:
            projection: the object :meth:`snn.Network.connect` returned, or its index in
                ``network.projections``.

        Returns:
            A copy of the weights (A for current synapses, S for conductance synapses, V for
            delta synapses) in the projection's CSR order, ``[n_synapses]``.
        """
        if isinstance(projection, (int, np.integer, bool, np.bool_)):
            index = check_int("projection", projection, minimum=0,
                              maximum=len(self.projections) - 1)
        else:
            matches = [i for i, p in enumerate(self.projections) if p is projection]
            if not matches:
                raise ValueError("projection must be a projection of the simulated network "
                                 "(as returned by Network.connect) or its index")
            index = matches[0]
        if index in self.state.synapses:
            return self.state.synapses[index].weights.copy()
        return np.asarray(self.projections[index].weights).copy()

    def _spikes(self, population: str) -> SpikeTrains:
        check_choice("population (one whose spikes were monitored)", population,
                     sorted(self.spikes))
        return self.spikes[population]

    def rates(self, population: str) -> np.ndarray:
        """Firing rate of each neuron of a monitored population.

        Args:
            population: its name.

        Returns:
            Rates (Hz), ``[n_neurons]`` (:meth:`SpikeTrains.rates`).
        """
        return self._spikes(population).rates()

    def mean_rate(self, population: str) -> float:
        """Average firing rate (Hz) of a monitored population (:meth:`SpikeTrains.mean_rate`).

        Args:
            population: its name.
        """
        return self._spikes(population).mean_rate()

    def cv_isi(self, population: str, min_spikes: int = 3) -> float:
        """Mean coefficient of variation of the inter-spike intervals of a monitored
        population (:meth:`SpikeTrains.mean_cv_isi`).

        Args:
            population: its name.
            min_spikes: neurons with fewer spikes are left out.

        Returns:
            The mean CV (dimensionless; NaN when no neuron has ``min_spikes`` spikes).
        """
        return self._spikes(population).mean_cv_isi(min_spikes)

    def summary(self) -> list[dict[str, Any]]:
        """One row per monitored population.

        Returns:
            Dicts with keys ``population``, ``neurons``, ``spikes``, ``rate_hz`` (mean
            rate, Hz) and ``cv_isi`` (mean CV of the inter-spike intervals).
        """
        return [
            dict(population=name, neurons=s.n_neurons, spikes=s.count,
                 rate_hz=s.mean_rate(), cv_isi=s.mean_cv_isi())
            for name, s in self.spikes.items()
        ]

    def plot_raster(self, populations: list[str] | None = None, ax: Any = None,
                    path: str | os.PathLike | None = None, max_neurons: int | None = None,
                    show_rate: bool = True) -> Any:
        """Raster plot of the monitored populations stacked vertically, time in ms.

        Args:
            populations: names to plot (None: every monitored population).
            ax: a matplotlib ``Axes`` to draw into (None: a new figure, with the population
                rate below the raster when ``show_rate``).
            path: save the figure there (None: do not save).
            max_neurons: plot only the first neurons of each population.
            show_rate: add the population rate (Hz, 1 ms bins) below a new figure.

        Returns:
            The matplotlib ``Figure``.
        """
        import matplotlib.pyplot as plt

        names = populations or list(self.spikes)
        if ax is None:
            if show_rate:
                fig, (ax, ax_rate) = plt.subplots(
                    2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
            else:
                fig, ax = plt.subplots(figsize=(8, 4))
                ax_rate = None
        else:
            fig, ax_rate = ax.figure, None
        base = 0
        for k, name in enumerate(names):
            s = self._spikes(name)
            n_show = s.n_neurons if max_neurons is None else min(s.n_neurons, max_neurons)
            sel = s.indices < n_show
            label = name if n_show == s.n_neurons else f"{name} (first {n_show} of {s.n_neurons})"
            ax.scatter(s.times[sel] * 1e3, s.indices[sel] + base, s=0.5, marker="|",
                       color=f"C{k}", label=label, rasterized=True)
            base += n_show
        ax.set_ylabel("neuron")
        ax.set_ylim(0, max(base, 1))
        ax.legend(loc="upper right", markerscale=10, fontsize="small")
        if ax_rate is not None:
            for k, name in enumerate(names):
                t, r = self._spikes(name).population_rate(1e-3)
                ax_rate.plot(t * 1e3, r, color=f"C{k}", lw=0.8)
            ax_rate.set_ylabel("rate (Hz)")
            ax_rate.set_xlabel("time (ms)")
        else:
            ax.set_xlabel("time (ms)")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig

    def plot_traces(self, population: str, variable: str = "v", ax: Any = None,
                    path: str | os.PathLike | None = None, max_traces: int = 5) -> Any:
        """Plot a recorded state variable of some neurons against time (ms).

        Args:
            population: a population with a monitored ``variable``.
            variable: a state variable of the population's model (e.g. ``"v"``, in V).
            ax: a matplotlib ``Axes`` to draw into (None: a new figure).
            path: save the figure there (None: do not save).
            max_traces: plot at most this many of the recorded neurons.

        Returns:
            The matplotlib ``Figure``.
        """
        import matplotlib.pyplot as plt

        if population not in self.traces or variable not in self.traces[population]:
            raise ValueError(f"no trace of {population!r}.{variable!r} was recorded; "
                             f"use Network.monitor_state")
        data = self.traces[population][variable]
        idx = self.trace_indices[population][variable]
        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 3))
        else:
            fig = ax.figure
        for k in range(min(max_traces, data.shape[1])):
            ax.plot(self.times * 1e3, data[:, k], lw=0.8, label=f"neuron {idx[k]}")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(variable)
        ax.legend(fontsize="small")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig
