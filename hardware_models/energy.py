"""Energy and latency per inference, counted from a run, beside digital baselines.

:func:`count_operations` runs a model (clean or converted) on a batch and counts, for every
weight layer, the dense multiply-accumulates (MACs), the synaptic events (nonzero inputs x
fan-out: what an event-driven chip does), and the crossbar activity (device reads on driven
rows, DAC and ADC conversions, read cycles).  :func:`estimate_energy` turns the counts into
joules and seconds with a preset's figures and digital-accelerator figures.

Digital figures: Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, 45 nm, 0.9 V: 8-bit int add 0.03 pJ, 8-bit int mult 0.2 pJ (MAC 0.23 pJ), 32-bit float
add 0.9 pJ, mult 3.7 pJ (MAC 4.6 pJ), 64-bit read from an 8 KB SRAM 10 pJ (1.25 pJ/byte).
ADC/DAC energies are assumptions, labelled where defined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from snn.layers import DelayedLinear
from snn.validation import check_int

from .convert import _AnalogLayer, _columns
from .presets import SWITCHING_PRESETS, DevicePreset, SwitchingPreset, get_preset

if TYPE_CHECKING:  # pragma: no cover
    from snn.network import Network
    from snn.results import SimulationResult

__all__ = ["DIGITAL_ENERGY", "EnergyReport", "LayerCounts", "count_engine_operations",
           "count_operations", "estimate_energy"]

_PJ = 1e-12

DIGITAL_ENERGY = {
    "int8_mac": 0.23 * _PJ,       # Horowitz 2014: 8-bit mult 0.2 pJ + add 0.03 pJ
    "int8_add": 0.03 * _PJ,       # Horowitz 2014
    "fp32_mac": 4.6 * _PJ,        # Horowitz 2014: 32-bit float mult 3.7 pJ + add 0.9 pJ
    "fp32_add": 0.9 * _PJ,        # Horowitz 2014
    "sram_byte": 1.25 * _PJ,      # Horowitz 2014: 64-bit read from 8 KB SRAM, 10 pJ
    # ASSUMPTION: a digital accelerator with 256 MAC units at 1 GHz (latency estimate).
    "macs_per_second": 256e9,
}
"""Digital baseline figures (J per operation; ``macs_per_second`` in 1/s)."""

# ASSUMPTION: ADC energy = Walden figure of merit x 2^bits with 5 fJ per conversion step (a
# good SAR ADC in Murmann's ADC performance survey); 8 bits when the tile has no ADC setting.
ADC_FOM = 5e-15
DEFAULT_ADC_BITS = 8
# ASSUMPTION: driving one crossbar row with a (1-bit spike or multi-bit) input pulse, 0.05 pJ.
DAC_ENERGY = 0.05 * _PJ


@dataclass
class LayerCounts:
    """Operation counts of one weight layer, summed over the run (not per inference)."""

    name: str
    in_features: int
    out_features: int
    macs: int = 0
    synaptic_events: int = 0
    input_vectors: int = 0
    device_reads: int = 0
    dac_conversions: int = 0
    adc_conversions: int = 0
    adc_bits: int = DEFAULT_ADC_BITS


@dataclass
class EnergyReport:
    """Energy (J) and latency (s) per inference for the analog chip and digital baselines."""

    preset: str
    n_inferences: int
    layers: list[LayerCounts]
    energy: dict[str, float] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    per_inference: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"preset": self.preset, "n_inferences": self.n_inferences,
                "counts_per_inference": self.per_inference,
                "energy_J": self.energy, "latency_s": self.latency,
                "layers": [vars(layer) for layer in self.layers]}

    def table(self) -> str:
        """A text table: energy and latency per inference for each implementation."""
        c = self.per_inference
        lines = [f"per inference: {c['macs']:.3g} MACs, {c['synaptic_events']:.3g} synaptic "
                 f"events, {c['device_reads']:.3g} device reads, {c['adc_conversions']:.3g} ADC "
                 f"conversions",
                 f"{'implementation':<40} {'energy (nJ)':>12} {'latency (us)':>13}"]
        for key, joules in self.energy.items():
            latency = self.latency.get(key, math.nan)
            lines.append(f"{key:<40} {joules * 1e9:>12.4g} {latency * 1e6:>13.4g}")
        return "\n".join(lines)


def _weight_layer(module: nn.Module) -> bool:
    return isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, DelayedLinear, _AnalogLayer))


def count_operations(model: nn.Module, x: torch.Tensor) -> tuple[list[LayerCounts], torch.Tensor]:
    """Run ``model(x)`` once and count each weight layer's operations (summed over the
    batch: divide by the number of inferences in :func:`estimate_energy`).  Returns the
    counts and the model's output."""
    counts: dict[nn.Module, LayerCounts] = {}
    handles = []

    def hook(module, inputs, _output):
        xin = inputs[0].detach()
        cols = _columns(module, xin)
        if isinstance(module, _AnalogLayer):
            out_f, in_f = module.crossbar.out_features, module.crossbar.in_features
            n_tiles = module.crossbar.n_row_tiles
            bits = module.crossbar.config.adc_bits or DEFAULT_ADC_BITS
        else:
            w = module.weight
            out_f, in_f = w.shape[0], int(w[0].numel())
            n_tiles, bits = 1, DEFAULT_ADC_BITS
        c = counts.setdefault(module, LayerCounts(type(module).__name__, in_f, out_f,
                                                  adc_bits=bits))
        nnz = int((cols != 0).sum())
        vectors = cols.shape[0]
        c.macs += vectors * in_f * out_f
        c.synaptic_events += nnz * out_f
        c.input_vectors += vectors
        c.device_reads += 2 * nnz * out_f  # a differential pair per synapse, driven rows only
        c.dac_conversions += nnz
        c.adc_conversions += vectors * out_f * n_tiles

    for module in model.modules():
        if _weight_layer(module):
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            output = model(x)
    finally:
        for h in handles:
            h.remove()
    return list(counts.values()), output


def estimate_energy(layers: list[LayerCounts], preset: DevicePreset | SwitchingPreset | str,
                    n_inferences: int) -> EnergyReport:
    """Energy and latency per inference of the counted run, on analog tiles of ``preset`` (a
    :class:`DevicePreset`, a :class:`SwitchingPreset` or a registered name of either) and on
    three digital baselines (int8 dense, int8 event-driven, fp32 dense)."""
    if isinstance(preset, str) and preset in SWITCHING_PRESETS:
        preset = SWITCHING_PRESETS[preset]
    if not isinstance(preset, SwitchingPreset):
        preset = get_preset(preset)
    n_inferences = check_int("n_inferences", n_inferences, minimum=1)
    keys = ("macs", "synaptic_events", "device_reads", "dac_conversions", "adc_conversions",
            "input_vectors")
    per = {k: sum(getattr(layer, k) for layer in layers) / n_inferences for k in keys}
    adc = sum(layer.adc_conversions * ADC_FOM * 2**layer.adc_bits for layer in layers)
    analog = (per["device_reads"] * preset.read_energy + per["dac_conversions"] * DAC_ENERGY
              + adc / n_inferences)
    d = DIGITAL_ENERGY
    energy = {
        f"analog {preset.name} (reads+DAC+ADC)": analog,
        "digital int8 dense (MAC + SRAM)": per["macs"] * (d["int8_mac"] + d["sram_byte"]),
        "digital int8 event-driven (add + SRAM)": per["synaptic_events"]
        * (d["int8_add"] + d["sram_byte"]),
        "digital fp32 dense (MAC + SRAM)": per["macs"] * (d["fp32_mac"] + 4 * d["sram_byte"]),
    }
    # Analog: every layer's input vectors are one crossbar read cycle each (tiles in parallel).
    analog_latency = per["input_vectors"] * preset.read_time
    dense_latency = per["macs"] / d["macs_per_second"]
    latency = dict(zip(energy, (analog_latency, dense_latency,
                                per["synaptic_events"] / d["macs_per_second"], dense_latency)))
    return EnergyReport(preset.name, n_inferences, layers, energy, latency, per)


def _presynaptic_spikes(network: Network, result: SimulationResult, pre: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Indices and step numbers (relative to the run) of the spikes of ``pre`` in the run."""
    t_end = result.t_start + result.n_steps * result.dt
    if pre in result.spikes:
        trains = result.spikes[pre]
        times, indices = np.asarray(trains.times), np.asarray(trains.indices)
    elif pre in network.sources and hasattr(network.sources[pre], "times"):
        src = network.sources[pre]
        times, indices = np.asarray(src.times), np.asarray(src.indices)
    else:
        raise ValueError(f"the spikes of {pre!r} are not known: monitor that population "
                         f"(network.monitor_spikes) or use a spike-array source")
    # Half a step of slack: spike times are multiples of dt up to rounding.
    keep = (times >= result.t_start - 0.5 * result.dt) & (times < t_end - 0.5 * result.dt)
    steps = np.rint((times[keep] - result.t_start) / result.dt).astype(np.int64)
    return indices[keep].astype(np.int64), steps


def count_engine_operations(network: Network, result: SimulationResult, *,
                            devices_per_synapse: int = 2) -> list[LayerCounts]:
    """Operation counts of one engine run, one :class:`LayerCounts` per projection.

    An event-driven chip only touches the synapses of neurons that spiked: every presynaptic
    spike drives its crossbar row (one DAC conversion) and reads the devices of each of its
    synapses (``fan-out x devices_per_synapse`` device reads, two for a differential pair);
    each step in which at least one row of the projection was driven ends with one ADC
    conversion per postsynaptic neuron and is one crossbar read cycle (``input_vectors``).
    ``synaptic_events`` is the number of (spike, synapse) pairs; ``macs`` counts the
    projection's synapses once per step, what a clock-driven digital chip computes.

    Args:
        network: the network that ran (its projections and spike sources).
        result: the run's result; populations that project must have been monitored.
        devices_per_synapse: devices read per synapse (>= 1).

    Returns:
        One :class:`LayerCounts` per projection, named ``"pre->post (channel)"``; pass them
        to :func:`estimate_energy` with the number of samples the run held.
    """
    devices_per_synapse = check_int("devices_per_synapse", devices_per_synapse, minimum=1)
    counts = []
    for proj in network.projections:
        fan_out = np.diff(proj.indptr)
        indices, steps = _presynaptic_spikes(network, result, proj.pre)
        if indices.size and indices.max() >= fan_out.size:
            raise ValueError(f"spikes of {proj.pre!r} name neuron {indices.max()}, beyond its "
                             f"{fan_out.size} neurons")
        events = int(fan_out[indices].sum())
        driven_steps = int(np.unique(steps).size)
        n_post = (network.populations[proj.post].n_neurons
                  if proj.post in network.populations else 0)
        counts.append(LayerCounts(
            name=f"{proj.pre}->{proj.post} ({proj.channel})",
            in_features=int(fan_out.size), out_features=int(n_post),
            macs=int(proj.n_synapses) * int(result.n_steps),
            synaptic_events=events,
            input_vectors=driven_steps,
            device_reads=events * devices_per_synapse,
            dac_conversions=int(indices.size),
            adc_conversions=driven_steps * int(n_post)))
    return counts
