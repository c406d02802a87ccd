"""Energy of engine networks: synaptic events x device reads, counted from a run, against a
count written out by hand."""

import numpy as np
import pytest

from hardware_models import count_engine_operations, estimate_energy, get_switching_preset
from hardware_models.energy import DIGITAL_ENERGY
from snn import LIFParams, Network, run


def _network():
    net = Network(dt=1e-3, max_delay=1e-3)
    net.add_population("out", 3, LIFParams())
    # neuron 0 fires at steps 0, 2, 5; neuron 1 at step 2
    net.add_spike_source("in", 2, np.array([0, 0, 1, 0]), np.array([0.0, 2e-3, 2e-3, 5e-3]))
    # fan-out: neuron 0 -> 2 synapses, neuron 1 -> 1 synapse
    net.connect("in", "out", 1e-12, pre_indices=np.array([0, 0, 1]),
                post_indices=np.array([0, 1, 2]))
    net.monitor_spikes("out")
    return net


def test_counts_are_events_times_fan_out():
    net = _network()
    result = run(net, 10e-3, backend="numba", rng=0)
    (c,) = count_engine_operations(net, result)
    assert c.synaptic_events == 3 * 2 + 1 * 1
    assert c.device_reads == 2 * c.synaptic_events  # differential pairs
    assert c.dac_conversions == 4
    assert c.input_vectors == 3  # steps 0, 2 and 5 drive rows
    assert c.adc_conversions == 3 * 3
    assert c.macs == 3 * 10  # three synapses every step, clock-driven


def test_energy_of_switching_preset():
    net = _network()
    result = run(net, 10e-3, backend="numba", rng=0)
    counts = count_engine_operations(net, result)
    p = get_switching_preset("rram_switching")
    report = estimate_energy(counts, "rram_switching", n_inferences=1)
    analog = next(v for k, v in report.energy.items() if k.startswith("analog"))
    from hardware_models.energy import ADC_FOM, DAC_ENERGY, DEFAULT_ADC_BITS
    expected = 14 * p.read_energy + 4 * DAC_ENERGY + 9 * ADC_FOM * 2**DEFAULT_ADC_BITS
    assert analog == pytest.approx(expected)
    assert p.read_energy == pytest.approx(0.2**2 * 20e-6 * 100e-9)
    event = report.energy["digital int8 event-driven (add + SRAM)"]
    assert event == pytest.approx(7 * (DIGITAL_ENERGY["int8_add"] + DIGITAL_ENERGY["sram_byte"]))


def test_unmonitored_population_is_refused():
    net = Network(dt=1e-3, max_delay=1e-3)
    net.add_population("a", 2, LIFParams())
    net.add_population("b", 2, LIFParams())
    net.connect("a", "b", 1e-12, pre_indices=np.array([0]), post_indices=np.array([1]))
    result = run(net, 2e-3, backend="numba", rng=0)
    with pytest.raises(ValueError, match="monitor"):
        count_engine_operations(net, result)
