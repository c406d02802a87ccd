"""Analog resistive-memory hardware models for spiking (and other) networks.

Device presets (PCM after Nandakumar et al. 2019 / aihwkit, RRAM after NeuRRAM, an ideal
device) are data; noise is pure functions over conductances (:mod:`hardware_models.noise`);
:class:`AnalogMatrix` is a weight matrix on crossbar tiles with DAC/ADC; :func:`convert` and
:func:`apply` emulate a trained torch model or an engine network on a chip; energy and latency
per inference come from :func:`count_operations` and :func:`estimate_energy`.
"""

from . import noise
from .convert import analog_layers, apply, calibrate_adc, convert, reprogram, set_time
from .crossbar import AnalogMatrix, CrossbarConfig
from .energy import EnergyReport, count_engine_operations, count_operations, estimate_energy
from .presets import (
    PRESETS,
    SWITCHING_PRESETS,
    DevicePreset,
    SwitchingPreset,
    get_preset,
    get_switching_preset,
    register_preset,
)

__all__ = [
    "PRESETS",
    "SWITCHING_PRESETS",
    "AnalogMatrix",
    "CrossbarConfig",
    "DevicePreset",
    "SwitchingPreset",
    "EnergyReport",
    "analog_layers",
    "apply",
    "calibrate_adc",
    "convert",
    "count_engine_operations",
    "count_operations",
    "estimate_energy",
    "get_preset",
    "get_switching_preset",
    "noise",
    "register_preset",
    "reprogram",
    "set_time",
]
