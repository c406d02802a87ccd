"""Neuron models beyond the LIF family, each declared once on the model API
(:mod:`snn.neuron_model`) and run by every backend.

* :mod:`snn.neurons.adex`: adaptive exponential integrate-and-fire (Brette & Gerstner
  2005), with the firing patterns of Naud et al. (2008) as presets;
* :mod:`snn.neurons.izhikevich`: Izhikevich (2003), with the paper's cortical and thalamic
  presets;
* :mod:`snn.neurons.hodgkin_huxley`: Hodgkin-Huxley with the Traub & Miles (1991) channels.

Each accepts every exponential and alpha synapse kind of :mod:`snn.synapses`.
:mod:`snn.neurons.patterns` classifies a spike train's firing pattern.
"""

from .adex import ADEX_PRESETS, AdExParams, adex_preset
from .hodgkin_huxley import HodgkinHuxleyParams, largest_stable_dt
from .izhikevich import IZHIKEVICH_PRESETS, IzhikevichParams, izhikevich_preset
from .patterns import FIRING_PATTERNS, FiringFeatures, classify_firing, firing_features

__all__ = [
    "AdExParams",
    "ADEX_PRESETS",
    "adex_preset",
    "IzhikevichParams",
    "IZHIKEVICH_PRESETS",
    "izhikevich_preset",
    "HodgkinHuxleyParams",
    "largest_stable_dt",
    "FIRING_PATTERNS",
    "FiringFeatures",
    "firing_features",
    "classify_firing",
]
