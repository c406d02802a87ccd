"""Simulation backends. Each exposes ``simulate(plan, progress=False)`` and returns
``(spike_steps, spike_ids, probes, final_state, ring)``; see :mod:`snn.engine`."""
