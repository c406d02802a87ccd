"""Training speed and memory of spiking LIF layers: snnsim against snntorch, SpikingJelly
and a naive torch loop, in one run.

The network is ``700 -> Linear(700, H) -> LIF -> Linear(H, H) -> LIF -> Linear(H, 20) -> LIF``
on time-major input ``[T, B, 700]`` (Bernoulli spikes, p = 0.05, fixed seed; the Linear
weights are torch's default init times 4, so that the three layers fire at about 6-10% per
step rather than nearly never); the loss is
the cross-entropy of the output spike counts (summed over time) against random labels, and
one training step is forward + backward + Adam step (lr 1e-3), in float32.  The Linear
layers are the same ``torch.nn.Linear`` modules in every implementation, applied to the
whole ``[T, B, features]`` sequence at once; only the neuron differs:

* ``snnsim``: ``snn.layers.LIF`` (one fused op for the whole sequence; numba kernels on
  CPU, Triton kernels on CUDA);
* ``snntorch``: ``snntorch.Leaky`` stepped in a Python loop over time (its documented use);
* ``spikingjelly``: SpikingJelly 2.0 ``LIFNode(step_mode="m")`` with
  ``functional.reset_net`` between steps; on CPU it runs its registered torch path, on CUDA
  it picks its own kernels (the one chosen is printed and stored);
* ``naive``: the same LIF written as a Python loop over time with a
  ``torch.autograd.Function`` arctan-surrogate spike.

Every neuron has the same dynamics: ``u = beta * v + x`` with beta = 0.9 (SpikingJelly:
tau = 10, decay_input=False), spike ``H(u - 1)``, reset by subtracting the threshold 1, arctan
surrogate with slope/alpha 2 and the gradient flowing through the reset.  snntorch cannot
do the last: it always detaches its reset, and it subtracts the threshold one step later,
after the decay (its ``reset_delay``), so its spikes and gradients differ slightly; the
correctness check shows that it equals snnsim's fused op run with snntorch's convention.

Run it with::

    python benchmarks/lif_layer.py [--configs "100,256,1024 250,128,512 500,64,1024"] \
        [--device cpu|cuda] [--repeats 3] [--warmup 2] [--rounds 2] [--impls snnsim snntorch ...] \
        [--seed 0] [--out benchmarks/results]

Each (implementation, configuration) is measured in a fresh child process: after imports,
model construction and one tiny forward/backward pass that loads compiled kernels (numba
cache or JIT, Triton), it runs ``--warmup`` untimed and ``--repeats`` timed training steps.
Reported are the median ms per step (the best is stored too), the median time of one LIF
layer's forward + backward alone on ``[T, B, H]`` currents (the part that differs between
implementations; on CPU the three matmuls dominate a step) and the peak memory above the
baseline taken just before the first step: on CPU the rise of the process's resident-set
high-water mark (VmHWM, reset through /proc/self/clear_refs where the kernel allows it;
a fresh process per measurement because the mark never goes down otherwise), on CUDA
``torch.cuda.max_memory_allocated`` minus the memory allocated at the baseline (the absolute
figure is stored in the JSON as well).  Both include gradients and Adam's state; neither
counts parameters or the input batch, which every implementation shares.  The 1-minute load
average is printed and stored before every measurement: on a busy machine timings scatter.

First, in the same run, a correctness check on a small float64 configuration
(T=20, B=8, H=64; the weights copied into each implementation): the output spikes of all
three LIF layers and the gradient of the first Linear's weight must be equal for snnsim,
SpikingJelly and the naive loop (spikes identical, gradients within 1e-8 relative);
snntorch's difference from them is reported, not asserted.

It writes ``lif_layer.json`` (settings, machine, the check, every measurement) and
``lif_layer.png`` (ms per step per configuration and implementation on a log scale; peak
memory) to ``--out``.

Targets: on CPU, snnsim faster than every peer at every configuration; on an H100,
snnsim at most 0.7x SpikingJelly's time and no more memory (reference H100 figures at
(T, B, H) = (100, 256, 1024): SpikingJelly about 6.3 ms per step, the naive loop about
79 ms).  GPU figures need a CUDA machine (``--device cuda``); the default device is CUDA
where available, else CPU.  On a 2-core CPU the default configurations take several
minutes: a step is dominated by the three matmuls over T*B rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import matplotlib
import numba
import numpy as np
import snntorch
import torch
import torch.nn.functional as F
from _common import RESULTS_DIR, machine_info, write_json  # benchmarks/ is on sys.path
from process_memory import reset_peak_rss, status_mib
from snntorch import surrogate as snntorch_surrogate
from spikingjelly.activation_based import functional as sj_functional
from spikingjelly.activation_based import neuron as sj_neuron
from spikingjelly.activation_based import surrogate as sj_surrogate
from torch import nn

from snn.layers import LIF, Surrogate, lif_sequence
from snn.layers import functional as snn_functional

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

N_IN, N_OUT = 700, 20
INPUT_RATE = 0.05
BETA, THRESHOLD, SLOPE = 0.9, 1.0, 2.0
TAU = 1.0 / (1.0 - BETA)  # SpikingJelly's time constant for the same decay (10 steps)
LR = 1e-3
WEIGHT_GAIN = 4.0  # times torch's default Linear init
DEFAULT_CONFIGS = "100,256,1024 250,128,512 500,64,1024"
CHECK_CONFIG = (20, 8, 64)
CHECK_RTOL = 1e-8
CPU_TARGET = 1.0  # snnsim / every peer, ms per step, on CPU: < 1
CUDA_TARGET = 0.7  # snnsim / SpikingJelly, ms per step, on an H100
H100_REFERENCE_MS = {"spikingjelly": 6.3, "naive": 79.0}  # at (100, 256, 1024)
IMPLS = ("snnsim", "snntorch", "spikingjelly", "naive")
LABELS = {"snnsim": "snnsim LIF (fused)", "snntorch": "snntorch Leaky (loop)",
          "spikingjelly": "SpikingJelly LIFNode (m)", "naive": "naive torch loop"}
COLOURS = {"snnsim": "tab:red", "snntorch": "tab:blue", "spikingjelly": "tab:green",
           "naive": "tab:gray"}

Measurement = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# the neurons: each maps [T, B, features] input currents to [T, B, features] spikes


class SnnsimNeuron(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.lif = LIF(beta=BETA, threshold=THRESHOLD, reset="subtract",
                       surrogate=Surrogate("arctan", SLOPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(x)


class SnnsimSnntorchConvention(nn.Module):
    """snnsim's fused op with snntorch's convention (check only): the reset subtracts the
    threshold after the next decay, i.e. ``threshold / beta`` before it, and is detached."""

    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return lif_sequence(x, BETA, THRESHOLD, v_reset=THRESHOLD * (1.0 - 1.0 / BETA),
                            surrogate=Surrogate("arctan", SLOPE), detach_reset=True)[0]


class SnntorchNeuron(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        # A float beta becomes a float32 tensor; give it the run's dtype so that a float64
        # run decays by exactly 0.9.
        self.leaky = snntorch.Leaky(beta=torch.tensor(BETA, dtype=dtype), threshold=THRESHOLD,
                                    reset_mechanism="subtract",
                                    spike_grad=snntorch_surrogate.atan(alpha=SLOPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem = torch.zeros_like(x[0])
        spikes = []
        for xt in x.unbind(0):  # see NaiveNeuron
            spk, mem = self.leaky(xt, mem)
            spikes.append(spk)
        # snntorch's spikes are float32 whatever the input's dtype.
        return torch.stack(spikes).to(x.dtype)


class SpikingJellyNeuron(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()
        self.node = sj_neuron.LIFNode(tau=TAU, decay_input=False, v_threshold=THRESHOLD,
                                      v_reset=None,
                                      surrogate_function=sj_surrogate.ATan(alpha=SLOPE),
                                      detach_reset=False, step_mode="m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.node(x)


class ArctanSpike(torch.autograd.Function):
    """Heaviside spike with the arctan surrogate ``(k/2) / (1 + (pi/2 k z)^2)``."""

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(z)
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (z,) = ctx.saved_tensors
        return grad * (SLOPE / 2.0) / (1.0 + (math.pi / 2.0 * SLOPE * z) ** 2)


class NaiveNeuron(nn.Module):
    def __init__(self, dtype: torch.dtype) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(x[0])
        spikes = []
        # unbind, not x[t]: the backward of x[t] is a zero tensor of x's full size with one
        # step filled in, T of them summed, which makes the backward pass O(T^2) (several
        # times slower at T = 100); unbind's backward stacks the T gradients once.
        for xt in x.unbind(0):
            v = BETA * v + xt
            s = ArctanSpike.apply(v - THRESHOLD)
            v = v - s * THRESHOLD
            spikes.append(s)
        return torch.stack(spikes)


NEURONS: dict[str, type[nn.Module]] = {
    "snnsim": SnnsimNeuron, "snntorch": SnntorchNeuron, "spikingjelly": SpikingJellyNeuron,
    "naive": NaiveNeuron, "snnsim_snntorch_convention": SnnsimSnntorchConvention}


class Network(nn.Module):
    """Linear -> LIF, three times; Linear over the whole sequence, the neuron over time."""

    def __init__(self, impl: str, hidden: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.impl = impl
        sizes = (N_IN, hidden, hidden, N_OUT)
        self.linears = nn.ModuleList(nn.Linear(a, b, dtype=dtype)
                                     for a, b in zip(sizes[:-1], sizes[1:]))
        self.neurons = nn.ModuleList(NEURONS[impl](dtype) for _ in range(3))
        # torch's default init leaves the hidden layers nearly silent with this input;
        # larger weights make every layer fire at a few percent per step.
        with torch.no_grad():
            for linear in self.linears:
                linear.weight.mul_(WEIGHT_GAIN)

    def reset_state(self) -> None:
        if self.impl == "spikingjelly":
            sj_functional.reset_net(self)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Spikes of every LIF layer, the output layer last."""
        layers = []
        for linear, neuron in zip(self.linears, self.neurons):
            x = neuron(linear(x))
            layers.append(x)
        return layers


def make_batch(n_steps: int, batch: int, seed: int, device: torch.device,
               dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = (torch.rand(n_steps, batch, N_IN, generator=generator) < INPUT_RATE).to(dtype)
    labels = torch.randint(0, N_OUT, (batch,), generator=generator)
    return x.to(device), labels.to(device)


def loss_of(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.sum(0), labels)


def train_step(model: Network, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               labels: torch.Tensor) -> float:
    optimizer.zero_grad(set_to_none=True)
    model.reset_state()
    loss = loss_of(model(x)[-1], labels)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


# ---------------------------------------------------------------------------------------------
# correctness


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / scale if scale > 0 else (a - b).abs().max().item()


def correctness_check(device: torch.device, seed: int) -> Measurement:
    """Spikes of the three layers and the first Linear's weight gradient, in float64, with
    the same weights in every implementation."""
    n_steps, batch, hidden = CHECK_CONFIG
    dtype = torch.float64
    torch.manual_seed(seed)
    weights = Network("naive", hidden, dtype).to(device).linears.state_dict()
    x, labels = make_batch(n_steps, batch, seed + 1, device, dtype)
    runs: dict[str, tuple[list[torch.Tensor], torch.Tensor]] = {}
    errors: dict[str, str] = {}
    for impl in (*IMPLS, "snnsim_snntorch_convention"):
        try:
            model = Network(impl, hidden, dtype).to(device)
            model.linears.load_state_dict(weights)
            model.reset_state()
            layers = model(x)
            loss_of(layers[-1], labels).backward()
            runs[impl] = ([s.detach() for s in layers], model.linears[0].weight.grad.detach())
        except Exception as error:  # recorded and reported, not hidden
            errors[impl] = f"{type(error).__name__}: {error}"
    result: Measurement = {"config": {"T": n_steps, "B": batch, "H": hidden},
                           "dtype": "float64", "device": str(device), "rtol": CHECK_RTOL,
                           "errors": errors, "pairs": {}}
    if "naive" not in runs:
        result["passed"] = False
        return result
    result["spike_rates"] = [float(s.mean()) for s in runs["naive"][0]]
    ref_spikes, ref_grad = runs["naive"]

    def compare(name: str, spikes: list[torch.Tensor], grad: torch.Tensor,
                base_spikes: list[torch.Tensor], base_grad: torch.Tensor) -> Measurement:
        return {"spikes_equal": all(torch.equal(a, b) for a, b in zip(spikes, base_spikes)),
                "spike_mismatch_fraction": [float((a != b).double().mean())
                                            for a, b in zip(spikes, base_spikes)],
                "grad_rel_diff": _relative(grad, base_grad)}

    passed = True
    for impl in ("snnsim", "spikingjelly"):
        if impl in runs:
            pair = compare(impl, *runs[impl], ref_spikes, ref_grad)
            pair["ok"] = pair["spikes_equal"] and pair["grad_rel_diff"] <= CHECK_RTOL
            result["pairs"][f"{impl}_vs_naive"] = pair
            passed &= pair["ok"]
        else:
            passed = False
    if "snntorch" in runs:
        result["pairs"]["snntorch_vs_naive"] = compare("snntorch", *runs["snntorch"],
                                                       ref_spikes, ref_grad)
        if "snnsim_snntorch_convention" in runs:
            pair = compare("snntorch", *runs["snntorch"], *runs["snnsim_snntorch_convention"])
            # snntorch rounds its spikes (and so the gradient reaching its surrogate) to
            # float32: agreement to float32 precision is all that can be asked.
            pair["ok"] = pair["spikes_equal"] and pair["grad_rel_diff"] <= 1e-6
            result["pairs"]["snntorch_vs_snnsim_snntorch_convention"] = pair
    result["passed"] = bool(passed)
    return result


def print_check(check: Measurement) -> None:
    c = check["config"]
    print(f"Correctness check (T={c['T']}, B={c['B']}, H={c['H']}, {check['dtype']}, "
          f"{check['device']}, same weights everywhere):")
    for impl, error in check["errors"].items():
        print(f"  {impl}: FAILED to run: {error}")
    if "spike_rates" in check:
        print(f"  firing rate per step of the three LIF layers (naive loop): "
              f"{', '.join(f'{r:.3f}' for r in check['spike_rates'])}")
    for name, pair in check["pairs"].items():
        a, _, b = name.partition("_vs_")
        verdict = ""
        if "ok" in pair:
            verdict = "  -> OK" if pair["ok"] else "  -> MISMATCH"
        mismatch = ", ".join(f"{m:.2%}" for m in pair["spike_mismatch_fraction"])
        print(f"  {a} vs {b}: spikes {'identical' if pair['spikes_equal'] else 'differ'} "
              f"(mismatch per layer {mismatch}), first-weight gradient max rel diff "
              f"{pair['grad_rel_diff']:.2e}{verdict}")
    print(f"  snnsim, SpikingJelly and the naive loop agree (spikes identical, gradients "
          f"within {CHECK_RTOL:g}): {'YES' if check['passed'] else 'NO'}")
    if "snntorch_vs_naive" in check["pairs"]:
        print("  snntorch is not asserted: it detaches its reset and subtracts the threshold "
              "after the next decay;\n  with that convention snnsim's fused op reproduces it "
              "(the snntorch vs snnsim_snntorch_convention line).")


# ---------------------------------------------------------------------------------------------
# one measurement, in a child process


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _spikingjelly_cuda_kernel() -> str | None:
    try:
        from spikingjelly._ops.lif import _selection

        return ", ".join(sorted({s.name for s in _selection._selections.values()})) or None
    except Exception as error:  # private API: say so rather than fail
        return f"unknown ({type(error).__name__})"


def time_neuron(impl: str, n_steps: int, batch: int, hidden: int, device: torch.device,
                spec: Measurement) -> list[float]:
    """Seconds of forward + backward of one LIF layer alone on ``[T, B, H]`` currents (the
    part of a training step that differs between implementations), after the warm-up."""
    generator = torch.Generator().manual_seed(spec["seed"] + 3)
    current = (0.5 * torch.randn(n_steps, batch, hidden, generator=generator) + 0.1).to(device)
    grad = torch.randn(n_steps, batch, hidden, generator=generator).to(device)
    neuron = NEURONS[impl](torch.float32).to(device)
    times = []
    for i in range(spec["warmup"] + spec["repeats"]):
        x = current.clone().requires_grad_()
        if impl == "spikingjelly":
            sj_functional.reset_net(neuron)
        _sync(device)
        start = time.perf_counter()
        neuron(x).backward(grad)
        _sync(device)
        if i >= spec["warmup"]:
            times.append(time.perf_counter() - start)
    return times


def measure(spec: Measurement) -> Measurement:
    """Time ``spec['repeats']`` training steps after ``spec['warmup']`` and the peak memory
    above the baseline; runs in a fresh child process."""
    device = torch.device(spec["device"])
    impl, n_steps, batch, hidden = spec["impl"], spec["T"], spec["B"], spec["H"]
    torch.manual_seed(spec["seed"])  # the same initial weights for every implementation
    model = Network(impl, hidden, torch.float32).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    x, labels = make_batch(n_steps, batch, spec["seed"] + 1, device, torch.float32)
    # Load compiled kernels (numba cache or JIT compile, Triton, SpikingJelly's ops) on a tiny
    # batch, so that compilation and the compiler's memory enter neither figure.
    tiny_x, tiny_labels = make_batch(2, 2, spec["seed"] + 2, device, torch.float32)
    model.reset_state()
    loss_of(model(tiny_x)[-1], tiny_labels).backward()
    optimizer.zero_grad(set_to_none=True)
    del tiny_x, tiny_labels
    gc.collect()
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        baseline = torch.cuda.memory_allocated(device) / 2**20
        memory_method = "cuda max_memory_allocated - memory_allocated at baseline"
    elif reset_peak_rss():
        baseline = status_mib("VmRSS")
        memory_method = "VmHWM (reset via clear_refs) - VmRSS at baseline"
    else:
        baseline = status_mib("VmHWM")
        memory_method = "VmHWM - VmHWM at baseline (clear_refs unavailable)"
    times, losses = [], []
    for i in range(spec["warmup"] + spec["repeats"]):
        _sync(device)
        start = time.perf_counter()
        losses.append(train_step(model, optimizer, x, labels))
        _sync(device)
        if i >= spec["warmup"]:
            times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak_abs = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_abs = status_mib("VmHWM")
    with torch.no_grad():
        model.reset_state()
        rates = [float(s.mean()) for s in model(x)]
    neuron_times = time_neuron(impl, n_steps, batch, hidden, device, spec)
    result: Measurement = {
        "ms_median": 1e3 * statistics.median(times), "ms_best": 1e3 * min(times),
        "ms_all": [1e3 * t for t in times], "losses": losses, "spike_rates": rates,
        "neuron_ms_median": 1e3 * statistics.median(neuron_times),
        "neuron_ms_all": [1e3 * t for t in neuron_times],
        "peak_mib": None if peak_abs is None or baseline is None else peak_abs - baseline,
        "baseline_mib": baseline, "peak_abs_mib": peak_abs, "memory_method": memory_method,
        "torch_threads": torch.get_num_threads(), "numba_threads": numba.get_num_threads()}
    if impl == "snnsim":
        result["snnsim_backend"] = snn_functional._implementation("auto", x)
    if impl == "spikingjelly":
        result["spikingjelly_kernel"] = (_spikingjelly_cuda_kernel() if device.type == "cuda"
                                         else "torch CPU path (registered sj_lif op)")
    return result


def run_child(spec: Measurement, timeout_s: float) -> Measurement:
    """Run :func:`measure` in a fresh interpreter; an error or timeout is recorded."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    tail = lines[-1] if lines else "no output"
    return {"error": f"exit status {done.returncode}: {tail}"}


def child_main(spec_json: str) -> None:
    spec = json.loads(spec_json)
    try:
        result = measure(spec)
    except Exception as error:
        result = {"error": f"{type(error).__name__}: {error}"}
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------
# report


def lif_machine_info(device: torch.device) -> Measurement:
    """:func:`_common.machine_info` with the peers' versions, the device and its name."""
    info: Measurement = machine_info("snntorch", "spikingjelly", "triton", device=str(device))
    info["device_name"] = (torch.cuda.get_device_name(device) if device.type == "cuda"
                           else info["cpu"])
    return info


def find(rows: list[Measurement], impl: str, config: tuple[int, int, int]) -> Measurement:
    return next(r for r in rows if r["impl"] == impl and (r["T"], r["B"], r["H"]) == config)


def ok(row: Measurement) -> bool:
    return "error" not in row


def print_table(rows: list[Measurement], configs: list[tuple[int, int, int]],
                impls: list[str]) -> None:
    header = (f"{'implementation':<26}{'T,B,H':>14}{'ms/step':>11}{'best ms':>11}"
              f"{'peak MiB':>10}{'snnsim/this':>13}{'mem snnsim/this':>17}{'LIF ms':>9}"
              f"{'LIF snnsim/this':>17}{'load1':>7}")
    print(header)
    print("-" * len(header))
    for config in configs:
        ours = find(rows, "snnsim", config) if "snnsim" in impls else None
        for impl in impls:
            row = find(rows, impl, config)
            name = f"{LABELS[impl]:<26}{','.join(map(str, config)):>14}"
            if not ok(row):
                print(f"{name}  ERROR: {row['error']}")
                continue
            ratio = mem_ratio = lif_ratio = "-"
            if ours is not None and ok(ours):
                ratio = f"{ours['ms_median'] / row['ms_median']:.3f}"
                lif_ratio = f"{ours['neuron_ms_median'] / row['neuron_ms_median']:.3f}"
                if ours["peak_mib"] is not None and row["peak_mib"]:
                    mem_ratio = f"{ours['peak_mib'] / row['peak_mib']:.3f}"
            peak = "-" if row["peak_mib"] is None else f"{row['peak_mib']:.0f}"
            print(f"{name}{row['ms_median']:>11.1f}{row['ms_best']:>11.1f}{peak:>10}"
                  f"{ratio:>13}{mem_ratio:>17}{row['neuron_ms_median']:>9.1f}{lif_ratio:>17}"
                  f"{row['load_before'][0]:>7.2f}")


def evaluate_targets(rows: list[Measurement], configs: list[tuple[int, int, int]],
                     impls: list[str], device: torch.device) -> Measurement:
    """Per configuration, whether snnsim meets the target of this device."""
    summary: Measurement = {"device": device.type, "per_config": []}
    if "snnsim" not in impls:
        print("snnsim was not measured: no target to evaluate.")
        return summary
    peers = [i for i in impls if i != "snnsim"]
    all_met = True
    for config in configs:
        ours = find(rows, "snnsim", config)
        label = ",".join(map(str, config))
        entry: Measurement = {"T": config[0], "B": config[1], "H": config[2]}
        if not ok(ours):
            print(f"({label}): snnsim failed ({ours['error']}): target NOT met")
            entry["met"] = all_met = False
            summary["per_config"].append(entry)
            continue
        if device.type == "cpu":
            ratios = {}
            for peer in peers:
                row = find(rows, peer, config)
                ratios[peer] = ours["ms_median"] / row["ms_median"] if ok(row) else None
            met = all(r is not None and r < CPU_TARGET for r in ratios.values())
            text = ", ".join(f"{LABELS[p]} {'failed' if r is None else f'{r:.3f}'}"
                             for p, r in ratios.items())
            print(f"CPU ({label}): snnsim time / peer: {text} -> snnsim faster than every "
                  f"peer: {'met' if met else 'NOT met'}")
            entry.update(time_ratios=ratios, met=met)
        else:
            sj = find(rows, "spikingjelly", config) if "spikingjelly" in impls else None
            if sj is None or not ok(sj):
                print(f"CUDA ({label}): SpikingJelly not measured or failed: target not "
                      f"evaluated")
                entry["met"] = all_met = False
                summary["per_config"].append(entry)
                continue
            time_ratio = ours["ms_median"] / sj["ms_median"]
            memory_ok = ours["peak_mib"] <= sj["peak_mib"]
            met = time_ratio <= CUDA_TARGET and memory_ok
            print(f"CUDA ({label}): snnsim / SpikingJelly time {time_ratio:.3f} (target <= "
                  f"{CUDA_TARGET}), memory {ours['peak_mib']:.0f} vs {sj['peak_mib']:.0f} MiB "
                  f"(target: no more) -> {'met' if met else 'NOT met'}")
            entry.update(time_ratio_to_spikingjelly=time_ratio, memory_ok=memory_ok, met=met)
        all_met &= bool(entry["met"])
        summary["per_config"].append(entry)
    summary["all_met"] = all_met
    if device.type == "cpu":
        print(f"CPU target (snnsim faster than every peer at every configuration): "
              f"{'MET' if all_met else 'NOT MET'}")
        print(f"GPU target (H100: <= {CUDA_TARGET}x SpikingJelly's time, no more memory; "
              f"reference SpikingJelly {H100_REFERENCE_MS['spikingjelly']} ms, naive loop "
              f"{H100_REFERENCE_MS['naive']} ms at 100,256,1024): not measured here, run "
              f"with --device cuda on a CUDA machine.")
    else:
        print(f"CUDA target at every configuration: {'MET' if all_met else 'NOT MET'} "
              f"(H100 reference at 100,256,1024: SpikingJelly about "
              f"{H100_REFERENCE_MS['spikingjelly']} ms, naive loop about "
              f"{H100_REFERENCE_MS['naive']} ms)")
    return summary


def plot(rows: list[Measurement], configs: list[tuple[int, int, int]], impls: list[str],
         device_name: str, path: Path) -> None:
    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.8 / len(impls)
    positions = np.arange(len(configs))
    for k, impl in enumerate(impls):
        offsets = positions + (k - (len(impls) - 1) / 2) * width
        for ax, key in ((ax_time, "ms_median"), (ax_mem, "peak_mib")):
            values = []
            for config in configs:
                row = find(rows, impl, config)
                values.append(row[key] if ok(row) and row.get(key) is not None else np.nan)
            ax.bar(offsets, values, width, color=COLOURS[impl], label=LABELS[impl])
            for x, value in zip(offsets, values):
                if np.isnan(value):
                    ax.text(x, 0.5, "failed", rotation=90, ha="center", va="bottom",
                            transform=ax.get_xaxis_transform(), fontsize=8)
    labels = [f"T={t}, B={b}\nH={h}" for t, b, h in configs]
    ax_time.set(yscale="log", ylabel="ms per training step (median)",
                title=f"Training step (forward + backward + Adam)\n{device_name}")
    ax_mem.set(ylabel="peak memory above baseline (MiB)", title="Peak memory")
    for ax in (ax_time, ax_mem):
        ax.set_xticks(positions, labels)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_configs(text: str) -> list[tuple[int, int, int]]:
    configs = []
    for item in text.split():
        parts = item.split(",")
        if len(parts) != 3 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
            raise argparse.ArgumentTypeError(f"a configuration is T,B,H (positive integers), "
                                             f"got {item!r}")
        configs.append((int(parts[0]), int(parts[1]), int(parts[2])))
    if not configs:
        raise argparse.ArgumentTypeError("no configuration given")
    return configs


def measure_one(impl: str, config: tuple[int, int, int], args: argparse.Namespace,
                index: int, total: int) -> Measurement:
    """One measurement of ``impl`` at ``config`` in a fresh child process, printed as it ends."""
    n_steps, batch, hidden = config
    load = os.getloadavg()
    print(f"[{index}/{total}] T={n_steps} B={batch} H={hidden} {LABELS[impl]}"
          f" (load {load[0]:.2f}) ...", end=" ", flush=True)
    spec = {"impl": impl, "T": n_steps, "B": batch, "H": hidden, "device": args.device,
            "repeats": args.repeats, "warmup": args.warmup, "seed": args.seed}
    t0 = time.perf_counter()
    result = run_child(spec, args.timeout)
    row = {"impl": impl, "T": n_steps, "B": batch, "H": hidden,
           "load_before": list(load), "load_after": list(os.getloadavg()),
           "child_wall_s": time.perf_counter() - t0, **result}
    if ok(row):
        extra = ""
        if "spikingjelly_kernel" in row and args.device == "cuda":
            extra = f", SpikingJelly kernel: {row['spikingjelly_kernel']}"
        peak = "-" if row["peak_mib"] is None else f"{row['peak_mib']:.0f}"
        print(f"{row['ms_median']:.1f} ms/step (runs "
              f"{', '.join(f'{t:.0f}' for t in row['ms_all'])}), peak {peak} MiB, "
              f"one LIF layer fwd+bwd {row['neuron_ms_median']:.1f} ms, "
              f"rates {', '.join(f'{r:.3f}' for r in row['spike_rates'])}"
              f"{extra} [{row['child_wall_s']:.0f} s]", flush=True)
    else:
        print(f"ERROR: {row['error']}", flush=True)
    return row


def pool_rounds(measurements: list[Measurement]) -> Measurement:
    """One row from the rounds of one (implementation, configuration): steps pooled, medians
    over all of them, the largest peak; an error in any round is kept."""
    first = measurements[0]
    failed = [m for m in measurements if not ok(m)]
    if failed:
        return {**first, "error": failed[0]["error"], "rounds": measurements}
    ms_all = [t for m in measurements for t in m["ms_all"]]
    neuron_all = [t for m in measurements for t in m["neuron_ms_all"]]
    peaks = [m["peak_mib"] for m in measurements if m["peak_mib"] is not None]
    return {**first, "ms_all": ms_all, "ms_median": statistics.median(ms_all),
            "ms_best": min(ms_all), "neuron_ms_all": neuron_all,
            "neuron_ms_median": statistics.median(neuron_all),
            "peak_mib": max(peaks) if peaks else None,
            "load_before": measurements[0]["load_before"],
            "load_after": measurements[-1]["load_after"],
            "child_wall_s": sum(m["child_wall_s"] for m in measurements),
            "rounds": measurements}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child_main(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=parse_configs, default=parse_configs(DEFAULT_CONFIGS),
                        help=f'"T,B,H T,B,H ..." (default "{DEFAULT_CONFIGS}")')
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed training steps per measurement")
    # The first timed step after one warm-up was often the slowest (allocator and thread pools
    # still settling), hence two warm-up steps.
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before them")
    # On a shared machine the speed drifts over minutes; measuring the implementations in
    # turn, several rounds over, spreads the drift over all of them instead of favouring
    # whichever ran in a quiet spell.
    parser.add_argument("--rounds", type=int, default=2,
                        help="measurements per implementation, interleaved; steps are pooled")
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds allowed to one measurement (child process)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    if args.repeats < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--repeats and --rounds must be >= 1 and --warmup >= 0")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    impls = [i for i in IMPLS if i in args.impls]
    device = torch.device(args.device)
    args.out.mkdir(parents=True, exist_ok=True)
    machine = lif_machine_info(device)
    started = time.perf_counter()
    load_start = os.getloadavg()
    print(f"LIF layer training benchmark on {machine['device_name']} ({args.device}; "
          f"{machine['cpu_count']} CPU cores, torch {machine['torch']} with "
          f"{machine['torch_threads']} threads, numba {machine['numba']} with "
          f"{machine['numba_threads']} threads, snntorch {machine['snntorch']}, "
          f"SpikingJelly {machine['spikingjelly']}).")
    print(f"Network {N_IN} -> [Linear -> LIF] x 3 (H, H, {N_OUT}), float32, Adam lr {LR}; "
          f"beta {BETA} (tau {TAU:g}), threshold {THRESHOLD}, subtract reset, arctan "
          f"surrogate slope {SLOPE:g}; input Bernoulli p = {INPUT_RATE}.")
    print(f"Configurations (T, B, H): {args.configs}; {args.warmup} warm-up + {args.repeats} "
          f"timed steps per measurement, each in a fresh process, {args.rounds} rounds with "
          f"the implementations in turn (steps pooled); load average at start "
          f"{load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f}.")
    print("snntorch always detaches its reset (and resets one step later, after the decay); "
          "the others pass the gradient through the reset.")
    if args.device == "cuda":
        print("On CUDA SpikingJelly selects its own kernels (printed per measurement).")
    else:
        print("On CPU SpikingJelly runs its torch path (a Python loop inside its registered "
              "op); snnsim runs its numba kernels.")
    print(flush=True)

    checks = [correctness_check(device, args.seed)]
    if device.type == "cuda":
        checks.append(correctness_check(torch.device("cpu"), args.seed))
    for check in checks:
        print_check(check)
    print(flush=True)

    rounds: list[Measurement] = []
    total = len(args.configs) * len(impls) * args.rounds
    for config in args.configs:
        n_steps, batch, hidden = config
        for round_index in range(args.rounds):
            # Rotate the order each round so that no implementation always runs first.
            shift = round_index % len(impls)
            for impl in impls[shift:] + impls[:shift]:
                rounds.append(measure_one(impl, config, args, len(rounds) + 1, total))
    rows = [pool_rounds([r for r in rounds if (r["impl"], r["T"], r["B"], r["H"])
                         == (impl, *config)]) for config in args.configs for impl in impls]
    total_s = time.perf_counter() - started
    load_end = os.getloadavg()

    print()
    print(f"Results ({machine['device_name']}, median of {args.rounds} x {args.repeats} steps "
          f"after {args.warmup} warm-up each; peak = memory above the baseline before the first "
          f"step (largest of the rounds); snnsim/this < 1 means snnsim is faster / smaller; LIF "
          f"ms = forward + backward of one LIF layer alone on [T, B, H] currents, median):")
    print_table(rows, args.configs, impls)
    print()
    summary = evaluate_targets(rows, args.configs, impls, device)
    print(f"Correctness: snnsim, SpikingJelly and the naive loop "
          f"{'agree' if all(c['passed'] for c in checks) else 'DO NOT agree'} "
          f"(spikes identical, first-weight gradients within {CHECK_RTOL:g}).")
    print(f"total benchmark wall time: {total_s:.0f} s; load average at the end "
          f"{load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f}")

    settings = {"configs": [list(c) for c in args.configs], "device": args.device,
                "repeats": args.repeats, "warmup": args.warmup, "rounds": args.rounds,
                "impls": impls,
                "seed": args.seed, "dtype": "float32", "n_in": N_IN, "n_out": N_OUT,
                "input_rate": INPUT_RATE, "weight_gain": WEIGHT_GAIN, "beta": BETA,
                "tau_spikingjelly": TAU,
                "threshold": THRESHOLD, "surrogate": f"arctan, slope {SLOPE}", "lr": LR,
                "loss": "cross-entropy of output spike counts summed over time",
                "cpu_target": "snnsim faster than every peer at every configuration",
                "cuda_target": f"snnsim <= {CUDA_TARGET}x SpikingJelly time, no more memory",
                "h100_reference_ms_100_256_1024": H100_REFERENCE_MS}
    report = {"settings": settings, "machine": machine, "correctness": checks,
              "results": rows, "summary": summary, "total_wall_s": total_s,
              "load_average_start": list(load_start), "load_average_end": list(load_end)}
    json_path, png_path = args.out / "lif_layer.json", args.out / "lif_layer.png"
    write_json(json_path, report)
    plot(rows, args.configs, impls, machine["device_name"], png_path)
    print(f"wrote {json_path} and {png_path}")


if __name__ == "__main__":
    main()
