"""Demo section ``layers``: a small spiking classifier trained with surrogate gradients
through the fused multi-step LIF layers."""

from __future__ import annotations

import argparse
import time

from .._report import DemoSection


def spike_pattern_batch(generator, n_steps: int, batch: int, n_inputs: int):
    """Inputs ``[n_steps, batch, n_inputs]`` (Bernoulli spikes) and labels ``[batch]``: every
    channel fires with probability 3 % per step, except that class k raises the k-th half of
    the channels to 4 % (close enough that single samples overlap and learning takes a few
    dozen steps). ``generator``: the ``torch.Generator`` of every draw."""
    import torch

    labels = torch.randint(0, 2, (batch,), generator=generator)
    rates = torch.full((n_steps, batch, n_inputs), 0.03)
    half = n_inputs // 2
    for k in (0, 1):
        rates[:, labels == k, k * half:(k + 1) * half] = 0.04
    return torch.bernoulli(rates, generator=generator), labels


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import torch
    from matplotlib.figure import Figure
    from tqdm.auto import tqdm

    from ..._random import make_linear
    from ...layers import LIF, Surrogate

    n_steps, batch, n_inputs, n_hidden, n_train = 50, 64, 40, 64, args.train_steps
    section.heading(f"{n_inputs} -> {n_hidden} LIF -> 2 LIF spiking classifier, T = {n_steps} "
                    f"steps, batch {batch}, {n_train} Adam steps (surrogate gradients, fused "
                    f"LIF op)")
    init = torch.Generator().manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = torch.nn.Sequential(
        make_linear(n_inputs, n_hidden, init), LIF(beta=0.9, surrogate=Surrogate("arctan", 2.0)),
        make_linear(n_hidden, 2, init), LIF(beta=0.9, surrogate=Surrogate("arctan", 2.0)))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    test_x, test_y = spike_pattern_batch(generator, n_steps, 256, n_inputs)

    def accuracy() -> float:
        with torch.no_grad():
            return float((model(test_x).sum(0).argmax(1) == test_y).float().mean())

    losses, accuracies = [], [accuracy()]
    step_starts = []
    for _ in tqdm(range(n_train), desc="training", unit="step", disable=not args.progress):
        step_starts.append(time.perf_counter())
        x, y = spike_pattern_batch(generator, n_steps, batch, n_inputs)
        loss = torch.nn.functional.cross_entropy(model(x).sum(0), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracies.append(accuracy())
    step_starts.append(time.perf_counter())
    # The first step also compiles (or loads) the CPU kernels; it is reported on its own.
    first = step_starts[1] - step_starts[0]
    rest = (step_starts[-1] - step_starts[1]) / max(1, n_train - 1)
    section.say(f"test accuracy {accuracies[0]:.1%} before training, {accuracies[-1]:.1%} "
                f"after; loss {losses[0]:.3g} -> {losses[-1]:.3g}; {1e3 * rest:.1f} ms per "
                f"training step incl. the test evaluation (first step {first:.2f} s, with "
                f"kernel compilation or cache load)")
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(range(1, n_train + 1), losses)
    ax_loss.set(xlabel="training step (Adam updates)", ylabel="cross-entropy (nats)",
                title="Training loss")
    ax_acc.plot(range(n_train + 1), [100 * a for a in accuracies])
    ax_acc.set(xlabel="training step (Adam updates)", ylabel="test accuracy (%)",
               ylim=(0, 102), title="Test accuracy (256 held-out samples)")
    section.figure(fig, "layers_training.png", "training curves")
