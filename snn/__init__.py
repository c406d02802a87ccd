"""snnsim: spiking-network simulation, training and hardware emulation.

The public API is re-exported here; see the README for a tour.
"""

# First: the compiled-code cache must be in place before any module defines a compiled function.
from . import _numba_cache  # noqa: F401  # isort: skip
from .engine import BACKENDS, EngineState, run, run_trials
from .models import (
    STATE_VARIABLES,
    ALIFParams,
    Coeffs,
    ConductanceSynapses,
    CurrentSynapses,
    DeltaSynapses,
    IFParams,
    LIFParams,
    NeuronState,
    coeffs,
    step,
    step_conductance,
    step_current,
)
from .network import Network
from .neuron_model import NeuronModel, StateVariable, define_model, model_of
from .neurons import AdExParams, HodgkinHuxleyParams, IzhikevichParams
from .plasticity import STDPParams
from .results import SimulationResult, SpikeTrains
from .sweeps import sweep
from .synapses import AlphaConductanceSynapses, AlphaCurrentSynapses

__version__ = "0.1.0"


def __getattr__(name: str):
    # Submodules that import torch load on first use, so that simulation-only scripts and
    # the command line start quickly.
    if name in ("layers", "data"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ALIFParams",
    "AdExParams",
    "AlphaConductanceSynapses",
    "AlphaCurrentSynapses",
    "HodgkinHuxleyParams",
    "IzhikevichParams",
    "NeuronModel",
    "StateVariable",
    "define_model",
    "model_of",
    "BACKENDS",
    "Coeffs",
    "ConductanceSynapses",
    "CurrentSynapses",
    "DeltaSynapses",
    "EngineState",
    "IFParams",
    "LIFParams",
    "Network",
    "NeuronState",
    "STATE_VARIABLES",
    "STDPParams",
    "SimulationResult",
    "SpikeTrains",
    "coeffs",
    "run",
    "run_trials",
    "step",
    "step_conductance",
    "step_current",
    "sweep",
]
