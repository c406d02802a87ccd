"""Demo section ``delays``: spoken digits with learned synaptic delays (none vs learned), and
the trained network exported to the engine."""

from __future__ import annotations

import argparse

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import numpy as np
    import torch

    from ...delay_training import (
        DelayTrainingConfig,
        load_delay_data,
        plot_delay_histograms,
        train_delay_network,
    )
    from ...layers import DelayNetworkConfig, run_exported

    train, test = load_delay_data("sample")
    section.heading(f"spoken digits (embedded FSDD sample: {len(train)} train / {len(test)} "
                    f"test utterances, {train.n_channels} cochlea channels, "
                    f"{train.dt * 1e3:g} ms steps); {train.n_channels} -> 2 x "
                    f"{args.delay_hidden} LIF -> 10, delays up to 250 ms, "
                    f"{args.delay_epochs} epochs")
    rows = []
    learned = None
    for mode in ("none", "learned"):
        cfg = DelayNetworkConfig(n_inputs=train.n_channels, n_outputs=10,
                                 n_hidden=args.delay_hidden, delays=mode)
        res = train_delay_network(cfg, train, test,
                                  DelayTrainingConfig(epochs=args.delay_epochs, batch_size=32,
                                                      seed=args.seed),
                                  progress=args.progress)
        rows.append({"delays": mode, "accuracy": 100 * res["test_accuracy"],
                     "epoch_s": res["median_epoch_time_s"]})
        if mode == "learned":
            learned = res
    section.table(rows, [("delays", "delays", "s"), ("accuracy", "test accuracy (%)", ".1f"),
                         ("epoch_s", "time per epoch (s)", ".2f")])
    model = learned["model"].double().eval()
    # The double-precision reference runs torch's dense products: the numba kernels would be
    # compiled again, for float64, for this one utterance.
    for layer in [*model.projections, *model.neurons]:
        layer.backend = "torch"
    sample = test.counts[0, :max(1, int(test.lengths[0]))].astype(np.float64)
    with torch.no_grad():
        readout, hidden = model(torch.from_numpy(sample)[:, None, :], return_hidden=True)
    engine = run_exported(model, sample)
    same = all(np.array_equal(engine["hidden"][k], hidden[k][:, 0].numpy())
               for k in range(len(hidden)))
    err = float(np.abs(engine["readout"] - readout[:, 0].numpy()).max())
    n_spikes = int(sum(h.sum() for h in engine["hidden"]))
    section.say(f"exported to the engine (integer delays, delta synapses): {n_spikes} hidden "
                f"spikes on a test utterance, {'identical' if same else 'DIFFERENT'} to the "
                f"torch model; readout differs by at most {err:.1e}")
    section.figure(plot_delay_histograms(learned), "delay_histograms.png",
                   "delay histograms before/after training")
