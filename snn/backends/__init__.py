"""Simulation backends behind one contract, and the registry that names them.

A backend is a module with a function ``simulate`` that executes a lowered network
(:class:`snn.engine.Plan`) and returns :class:`BackendOutput` records: one per trial for a
backend that batches trials (``Backend.batches``), else one.  The engine reaches every backend
through :func:`get_backend`; it holds no per-backend code.  Modules are imported on first use,
so that a script that never asks for ``"torch"`` never imports torch.

Built-in backends (:data:`BACKENDS`):

* ``"reference"``: numpy float64, one step at a time; the executable specification.
* ``"numba"``: the whole time loop compiled for the CPU; the default.
* ``"torch"``: CPU or CUDA, float32 or float64; runs many trials at once as a batch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..validation import check_choice

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Plan

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "BackendOutput",
    "PlasticOutput",
    "Schedule",
    "get_backend",
    "register_backend",
]

#: One trial's input spikes: ``(input_ptr, input_ids)``, an int64 CSR over the plan's steps
#: (``input_ptr`` ``[n_steps + 1]``) of input-source ids (``input_ids`` ``[n_spikes]``).
Schedule = tuple[np.ndarray, np.ndarray]


class PlasticOutput(NamedTuple):
    """The learning state a backend leaves after a run of a plastic network.

    Shapes: ``syn_state`` float64 ``[n_syn, 4]`` (weight, presynaptic trace, postsynaptic
    trace, absolute step of the last event, by global synapse id); ``queue`` int64
    ``[Q, capacity]`` plastic synapses still travelling, by arrival-step slot; ``queue_len``
    int64 ``[Q]`` the number of valid entries of each slot.
    """

    syn_state: np.ndarray
    queue: np.ndarray
    queue_len: np.ndarray


class BackendOutput(NamedTuple):
    """What every backend returns for one trial.

    Shapes (``N`` neurons, ``D`` ring slots): ``spike_steps`` and ``spike_ids`` int64
    ``[n_spikes]`` (recorded neurons only, ordered by step, then id; steps relative to the
    run's start); ``probes`` float64 ``[n_steps, n_probes]`` (the monitored state at the start
    of each step); ``final_state`` float64 ``[R, N]`` (each population's variables in its
    model's :attr:`snn.NeuronModel.engine_rows`); ``ring`` float64 ``[D, 2, N]`` (synaptic
    input still in flight, per delay slot and channel); ``plastic``: the learning state, None
    for a network without plastic projections.
    """

    spike_steps: np.ndarray
    spike_ids: np.ndarray
    probes: np.ndarray
    final_state: np.ndarray
    ring: np.ndarray
    plastic: PlasticOutput | None = None


@dataclass(frozen=True)
class Backend:
    """One registered backend.

    ``name``: the value of ``run(..., backend=...)``; ``module``: the module holding its
    ``simulate``, imported on first use; ``batches``: whether one call of ``simulate`` runs
    several trials (``simulate(plan, schedules=..., progress=..., **options)`` returns one
    :class:`BackendOutput` per schedule); otherwise ``simulate(plan, progress=...)`` returns
    one for the plan's own schedule.  ``options`` maps each keyword option the backend takes
    (such as ``device``) to the name of the module function that resolves a user's value
    (None included) to the value ``simulate`` takes.
    """

    name: str
    module: str
    batches: bool = False
    options: Mapping[str, str] = field(default_factory=dict)
    summary: str = ""

    def load(self) -> ModuleType:
        """The backend's module (imported now if not yet)."""
        return importlib.import_module(self.module)

    def resolve_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Each option of this backend resolved from ``given`` (name -> user value or None);
        a ValueError names an option given a value that this backend does not take."""
        for name, value in given.items():
            if value is not None and name not in self.options:
                raise ValueError(f"{name} applies to backend(s) "
                                 f"{_backends_taking(name) or 'none'} only, got "
                                 f"{name}={value!r} with backend={self.name!r}")
        if not self.options:
            return {}
        module = self.load()
        resolvers: dict[str, Callable[[Any], Any]] = {
            name: getattr(module, function) for name, function in self.options.items()}
        return {name: resolve(given.get(name)) for name, resolve in resolvers.items()}

    def simulate(self, plan: Plan, *, schedules: Sequence[Schedule] | None = None,
                 progress: bool = False, options: Mapping[str, Any] | None = None
                 ) -> list[BackendOutput]:
        """Run ``plan`` once per schedule (None: once, on the plan's own inputs).

        Args:
            plan: the lowered network (:func:`snn.engine.build_plan`).
            schedules: input spikes of each trial, in the plan's layout.
            progress: show a progress bar of simulated steps.
            options: resolved options (:meth:`resolve_options`).

        Returns:
            One :class:`BackendOutput` per trial, in schedule order.
        """
        module = self.load()
        options = dict(options or {})
        if self.batches:
            return list(module.simulate(plan, schedules=schedules, progress=progress,
                                        **options))
        if schedules is None:
            return [module.simulate(plan, progress=progress, **options)]
        return [module.simulate(replace(plan, input_ptr=ptr, input_ids=ids), progress=progress,
                                **options)
                for ptr, ids in schedules]


_REGISTRY: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    """Add ``backend`` to the registry under ``backend.name`` (a name may be taken once)."""
    if not isinstance(backend, Backend):
        raise TypeError(f"backend must be an snn.backends.Backend, got {type(backend).__name__}")
    if backend.name in _REGISTRY:
        raise ValueError(f"backend name {backend.name!r} is already registered")
    _REGISTRY[backend.name] = backend
    return backend


def get_backend(name: str) -> Backend:
    """The registered backend called ``name``; a ValueError lists the registered names."""
    check_choice("backend", name, tuple(_REGISTRY))
    return _REGISTRY[name]


def _backends_taking(option: str) -> str:
    return ", ".join(repr(b.name) for b in _REGISTRY.values() if option in b.options)


register_backend(Backend("reference", f"{__name__}.reference",
                         summary="numpy float64, the executable specification"))
register_backend(Backend("numba", f"{__name__}.numba_backend",
                         options={"threads": "resolve_threads"},
                         summary="the whole time loop compiled for the CPU, on threads"))
register_backend(Backend("torch", f"{__name__}.torch_backend", batches=True,
                         options={"device": "resolve_device", "dtype": "resolve_dtype"},
                         summary="CPU or CUDA, float32 or float64, trials as one batch"))

#: Names of the built-in backends.
BACKENDS: tuple[str, ...] = tuple(_REGISTRY)
#: The backend of :func:`snn.run` and :func:`snn.run_trials` when none is named.
DEFAULT_BACKEND = "numba"
