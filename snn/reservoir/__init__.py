"""Reservoir computing: echo state networks, liquid state machines on the engine, adaptive
excitation/inhibition balance, shared linear readouts, and a resistive-memory zero-shot LSM.

* :class:`ESNConfig`, :class:`ESN`: rate reservoir (leak, spectral radius, input scaling).
* :class:`RidgeReadout`, :class:`LogisticReadout`, :func:`nrmse`, :func:`memory_capacity`.
"""

from .esn import ESN, ESNConfig
from .readout import LogisticReadout, RidgeReadout, memory_capacity, nrmse

__all__ = ["ESN", "ESNConfig", "LogisticReadout", "RidgeReadout", "memory_capacity", "nrmse"]
