"""Time per epoch of the published delay-learning setups (``snn train delays --preset``).

What it measures: for each preset (SHD, SSC, GSC; Hammouamri et al., ICLR 2024) the full
network at the preset's batch size runs training steps (forward, backward, both Adam steps)
on synthetic inputs of the datasets' shapes: SHD and SSC 100 steps of 10 ms x 140 pooled
channels of spike counts, each cell nonzero with probability ``--density``; GSC 101 frames
x 140 log-mel bands (dense floats).  The time of one step (CPU time of this process, the
minimum over ``--repeats``) times the batches per epoch gives the projected epoch time; the
number of training samples per dataset is the public one (SHD 8,156, SSC 75,466, GSC
84,843).  Real data differ in their spike density and lengths: the projection is a
measurement of the arithmetic, not of a real epoch.

Run:  python benchmarks/delay_presets.py [--presets shd ssc gsc] [--device cpu|cuda]
Writes benchmarks/results/delay_presets.json and delay_presets.png.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from _common import machine_info, results_dir, write_json

from snn.delay_training import DELAY_PRESETS
from snn.layers import DelayNetwork

#: Training samples of each dataset (datasets/*.json; GSC: 105,829 utterances minus the
#: 9,981 of validation_list.txt and the 11,005 of testing_list.txt).
N_TRAIN = {"shd": 8156, "ssc": 75466, "gsc": 84843}
N_STEPS = {"shd": 100, "ssc": 100, "gsc": 101}


def _batch(name: str, batch: int, density: float, generator: torch.Generator,
           device: str) -> torch.Tensor:
    shape = (N_STEPS[name], batch, 140)
    if name == "gsc":
        return (-60.0 + 20.0 * torch.randn(shape, generator=generator)).to(device)
    return (torch.rand(shape, generator=generator) < density).float().to(device)


def time_step(name: str, density: float, repeats: int, device: str) -> dict:
    """CPU (or wall, on CUDA) seconds of one training step of the preset's network."""
    preset = DELAY_PRESETS[name]
    model = DelayNetwork(preset.model_config(), rng=0).to(device)
    model.set_sigma(model.sigma_for_epoch(0, preset.epochs))
    opt_w = torch.optim.Adam(model.weight_parameters(), lr=preset.lr_weights)
    opt_d = torch.optim.Adam(model.delay_parameters(), lr=preset.lr_delays)
    generator = torch.Generator().manual_seed(0)
    x = _batch(name, preset.batch_size, density, generator, device)
    y = torch.randint(0, preset.n_outputs, (preset.batch_size,), generator=generator).to(device)
    times = []
    for _ in range(repeats + 1):  # the first step also compiles / loads kernels
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter() if device == "cuda" else time.process_time()
        opt_w.zero_grad()
        opt_d.zero_grad()
        loss = model.loss(model(x), y)
        loss.backward()
        opt_w.step()
        opt_d.step()
        model.clamp_delays_()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() if device == "cuda" else time.process_time()) - start)
    step = min(times[1:])
    batches = -(-N_TRAIN[name] // preset.batch_size)
    return {"preset": name, "batch_size": preset.batch_size, "n_steps": N_STEPS[name],
            "n_parameters": preset.n_parameters, "step_s": step, "batches_per_epoch": batches,
            "epoch_s": step * batches, "epochs": preset.epochs,
            "training_h": step * batches * preset.epochs / 3600.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["shd", "ssc", "gsc"],
                        choices=sorted(DELAY_PRESETS))
    parser.add_argument("--density", type=float, default=0.05,
                        help="fraction of nonzero input cells for SHD/SSC")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = [time_step(name, args.density, args.repeats, args.device) for name in args.presets]
    clock = "wall" if args.device == "cuda" else "CPU"
    print(f"{'preset':8s} {'params':>9s} {'batch':>5s} {'step (' + clock + ' s)':>14s} "
          f"{'batches':>7s} {'epoch (min)':>11s} {'training (h)':>12s}")
    for r in rows:
        print(f"{r['preset']:8s} {r['n_parameters']:9d} {r['batch_size']:5d} {r['step_s']:14.2f} "
              f"{r['batches_per_epoch']:7d} {r['epoch_s'] / 60:11.1f} {r['training_h']:12.1f}")
    out = results_dir(args.out)
    write_json(out / "delay_presets.json",
               {"settings": vars(args), "machine": machine_info(device=args.device),
                "clock": clock, "rows": rows})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 3.0))
    ax.bar([r["preset"] for r in rows], [r["epoch_s"] / 60 for r in rows], color="C0")
    ax.set(ylabel=f"projected epoch ({clock} min)",
           title=f"one training epoch, {args.device}")
    fig.tight_layout()
    fig.savefig(out / "delay_presets.png", dpi=120)
    print(f"wrote {out / 'delay_presets.json'} and delay_presets.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
