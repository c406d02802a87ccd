"""Projected GPU time per epoch of the published delay-learning setups, derived from the
work one training step does (counted on the CPU) and a roofline of a stated GPU.

What it measures: for each preset (SHD, SSC, GSC; Hammouamri et al., ICLR 2024) one
training step of the full network at the preset's batch size (forward, backward, both Adam
steps, on synthetic inputs of the datasets' shapes, as ``benchmarks/delay_presets.py``)
runs on the CPU under a ``TorchDispatchMode`` that records every tensor operation the GPU
would run as a kernel, with

* its floating-point operations: ``2 M K N`` for each matrix product (``mm``, ``addmm``,
  ``addmm_``, ``bmm``; the taps of the delayed projections), one per output element for
  element-wise and reduction operations;
* its bytes moved: every tensor it reads plus every tensor it writes, once (no reuse
  through the caches, no fusion: eager PyTorch on a GPU runs each operation as its own
  kernel that reads its inputs from and writes its outputs to memory).

On a GPU the delayed projections take their dense path (one matrix product per tap) and
the LIF layers their fused Triton kernels; on the CPU the step is recorded with the same
dense projections (``backend="torch"``) and with the LIF layers' compiled CPU kernels, which
the dispatcher does not see: each LIF layer is added as the two fused kernels it is on a GPU
(forward: read the input current, write spikes and membrane; backward: read the output
gradient and the membrane, write the input gradient; ``[T, B, N]`` float32 each).

Projection, per kernel ``i``: ``t_i = max(F_i / (e_f P), B_i / (e_m W)) + L`` with ``P`` the
GPU's peak float32 rate (CUDA cores: PyTorch does not use TF32 for float32 matrix products
by default), ``W`` its memory bandwidth (published datasheet values, below), ``L`` the time
to launch one kernel from eager PyTorch, and efficiencies ``e_f``, ``e_m``.  Two numbers are
reported: the *bound* (``e = 1``, ``L = 0``: no GPU can be faster with these kernels) and the
*projection* (``e_f = 0.7``, ``e_m = 0.8``, ``L = 5 us``, typical of large float32 GEMMs,
streaming kernels and eager launches).  Epoch = step time x batches per epoch (training set
only; data loading and the per-epoch validation pass are not included).

A third number, ``tf32``, is the projection with the matrix products on TF32 tensor cores
(``torch.backends.cuda.matmul.allow_tf32 = True``; cuDNN convolutions, which the reference
implementation's DCLS layers run on, use TF32 by default).  The CPU's own step
(``benchmarks/delay_presets.py``) is not comparable with these FLOPs: its sparse kernels
skip the zero inputs that the dense GPU path multiplies.

Run:  python benchmarks/delay_gpu_projection.py [--presets shd ssc gsc] [--threads 1]
Writes benchmarks/results/delay_gpu_projection.json and delay_gpu_projection.png.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import torch
from _common import machine_info, results_dir, write_json
from delay_presets import N_STEPS, N_TRAIN, _batch
from torch.utils._python_dispatch import TorchDispatchMode

from snn.delay_training import DELAY_PRESETS
from snn.layers import LIF, DelayedLinear, DelayNetwork

#: Published peak float32 rate (FLOP/s, CUDA cores), dense TF32 tensor-core rate (no
#: sparsity) and memory bandwidth (bytes/s) of the GPUs projected on (NVIDIA A100 Tensor Core
#: GPU datasheet, SXM4 80 GB; NVIDIA H100 Tensor Core GPU datasheet, SXM5).
GPUS = {
    "A100-SXM4-80GB": {"fp32_flops": 19.5e12, "tf32_flops": 156e12, "bandwidth": 2.039e12},
    "H100-SXM5-80GB": {"fp32_flops": 67e12, "tf32_flops": 495e12, "bandwidth": 3.35e12},
}
#: The projection's assumptions (see the module docstring).
GEMM_EFFICIENCY = 0.7
MEMORY_EFFICIENCY = 0.8
LAUNCH_S = 5e-6

_MATMUL = {"mm", "addmm", "addmm_", "bmm", "baddbmm", "baddbmm_"}
# Operations that allocate or describe memory without running a kernel.
_FREE = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided",
         "detach", "lift_fresh", "_local_scalar_dense", "is_nonzero", "item", "set_",
         "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "dim", "size", "stride"}


def _tensors(tree) -> list[torch.Tensor]:
    flat, _ = torch.utils._pytree.tree_flatten(tree)
    return [t for t in flat if isinstance(t, torch.Tensor)]


def _matmul_flops(name: str, args) -> int:
    """``2 M K N`` (times the batch for ``bmm``) of a matrix product, plus the added term."""
    if name in ("mm",):
        a, b = args[0], args[1]
        return 2 * a.shape[0] * a.shape[1] * b.shape[1]
    if name in ("addmm", "addmm_"):
        a, b = args[1], args[2]
        return 2 * a.shape[0] * a.shape[1] * b.shape[1] + a.shape[0] * b.shape[1]
    a, b = (args[0], args[1]) if name == "bmm" else (args[1], args[2])
    return 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]


class KernelCounter(TorchDispatchMode):
    """Records each tensor operation that would run as a GPU kernel: its name, FLOPs and
    bytes read + written (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.kernels: list[tuple[str, float, float]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = func.__name__.split(".")[0]
        schema = func._schema
        # View operations (results that alias an input) run no kernel.
        if name in _FREE or any(r.alias_info is not None and not r.alias_info.is_write
                                for r in schema.returns):
            return out
        inputs = _tensors((args, kwargs))
        outputs = _tensors(out)
        moved = sum(t.numel() * t.element_size() for t in inputs + outputs)
        if name in _MATMUL:
            flops = _matmul_flops(name, args)
        else:
            flops = max((t.numel() for t in outputs + inputs), default=0)
        self.kernels.append((name, float(flops), float(moved)))
        return out

    def add(self, name: str, flops: float, moved: float) -> None:
        """Record a kernel the dispatcher does not see (a fused kernel)."""
        self.kernels.append((name, float(flops), float(moved)))


def count_step(name: str, density: float) -> dict:
    """Kernels, FLOPs and bytes of one training step of the preset's network (float32)."""
    preset = DELAY_PRESETS[name]
    model = DelayNetwork(preset.model_config(), rng=0)
    for module in model.modules():
        if isinstance(module, DelayedLinear):
            module.backend = "torch"        # the dense path a GPU runs
    model.set_sigma(model.sigma_for_epoch(0, preset.epochs))
    opt_w = torch.optim.Adam(model.weight_parameters(), lr=preset.lr_weights)
    opt_d = torch.optim.Adam(model.delay_parameters(), lr=preset.lr_delays)
    generator = torch.Generator().manual_seed(0)
    x = _batch(name, preset.batch_size, density, generator, "cpu")
    y = torch.randint(0, preset.n_outputs, (preset.batch_size,), generator=generator)
    counter = KernelCounter()
    lif_shapes: list[tuple[int, ...]] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: lif_shapes.append(
        tuple(inp[0].shape))) for m in model.modules() if isinstance(m, LIF)]
    # One step outside the counter first (Adam creates its state on its first step).
    for counting in (False, True):
        lif_shapes.clear()
        with counter if counting else _Null():
            opt_w.zero_grad()
            opt_d.zero_grad()
            loss = model.loss(model(x), y)
            loss.backward()
            opt_w.step()
            opt_d.step()
            model.clamp_delays_()
    for h in hooks:
        h.remove()
    for shape in lif_shapes:
        cells = math.prod(shape)
        # Fused LIF kernels: forward reads x, writes spikes and membrane; backward reads the
        # spikes' gradient and the membrane, writes the input gradient (float32).
        counter.add("lif_forward (fused)", 6.0 * cells, 3 * 4.0 * cells)
        counter.add("lif_backward (fused)", 8.0 * cells, 3 * 4.0 * cells)
    kernels = counter.kernels
    by_name: dict[str, dict] = {}
    for kname, flops, moved in kernels:
        entry = by_name.setdefault(kname, {"kernels": 0, "flops": 0.0, "bytes": 0.0})
        entry["kernels"] += 1
        entry["flops"] += flops
        entry["bytes"] += moved
    batches = -(-N_TRAIN[name] // preset.batch_size)
    return {"preset": name, "batch_size": preset.batch_size, "n_steps": N_STEPS[name],
            "padding_steps": preset.model_config().padding_steps,
            "batches_per_epoch": batches, "epochs": preset.epochs,
            "kernels": len(kernels), "flops": sum(k[1] for k in kernels),
            "bytes": sum(k[2] for k in kernels),
            "matmul_flops": sum(k[1] for k in kernels if k[0] in _MATMUL),
            "by_operation": dict(sorted(by_name.items(), key=lambda kv: -kv[1]["bytes"])),
            "_kernels": kernels}


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def project(kernels: list[tuple[str, float, float]], gpu: dict, flop_efficiency: float,
            memory_efficiency: float, launch_s: float, tf32: bool = False) -> float:
    """Seconds of the kernels on ``gpu``: the sum of their roofline times plus launches
    (matrix products at the TF32 tensor-core rate when ``tf32``)."""
    peak = gpu["fp32_flops"] * flop_efficiency
    peak_matmul = gpu["tf32_flops" if tf32 else "fp32_flops"] * flop_efficiency
    bandwidth = gpu["bandwidth"] * memory_efficiency
    return sum(max(f / (peak_matmul if name in _MATMUL else peak), b / bandwidth) + launch_s
               for name, f, b in kernels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["shd", "ssc", "gsc"],
                        choices=sorted(DELAY_PRESETS))
    parser.add_argument("--density", type=float, default=0.05,
                        help="fraction of nonzero input cells for SHD/SSC")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.presets:
        start = time.process_time()
        row = count_step(name, args.density)
        kernels = row.pop("_kernels")
        row["count_cpu_s"] = time.process_time() - start
        row["gpus"] = {}
        for gpu_name, gpu in GPUS.items():
            bound = project(kernels, gpu, 1.0, 1.0, 0.0)
            step = project(kernels, gpu, GEMM_EFFICIENCY, MEMORY_EFFICIENCY, LAUNCH_S)
            tf32 = project(kernels, gpu, GEMM_EFFICIENCY, MEMORY_EFFICIENCY, LAUNCH_S, True)
            row["gpus"][gpu_name] = {
                "step_bound_s": bound, "step_s": step,
                "launch_share": len(kernels) * LAUNCH_S / step,
                "epoch_bound_s": bound * row["batches_per_epoch"],
                "epoch_s": step * row["batches_per_epoch"],
                "epoch_tf32_s": tf32 * row["batches_per_epoch"],
                "training_h": step * row["batches_per_epoch"] * row["epochs"] / 3600.0}
        rows.append(row)
    print(f"{'preset':6s} {'kernels':>7s} {'GFLOP':>7s} {'GB':>6s} "
          + " ".join(f"{g[:4] + ' step ms':>14s} {g[:4] + ' epoch s':>13s}" for g in GPUS))
    for r in rows:
        print(f"{r['preset']:6s} {r['kernels']:7d} {r['flops'] / 1e9:7.1f} "
              f"{r['bytes'] / 1e9:6.2f} "
              + " ".join(f"{r['gpus'][g]['step_s'] * 1e3:14.2f} {r['gpus'][g]['epoch_s']:13.1f}"
                         for g in GPUS))
    out = results_dir(args.out)
    write_json(out / "delay_gpu_projection.json",
               {"settings": vars(args), "machine": machine_info(), "gpus": GPUS,
                "assumptions": {"gemm_efficiency": GEMM_EFFICIENCY,
                                "memory_efficiency": MEMORY_EFFICIENCY,
                                "launch_s": LAUNCH_S, "dtype": "float32"},
                "rows": rows})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    width = 0.8 / len(GPUS)
    for i, gpu_name in enumerate(GPUS):
        ax.bar([j + i * width for j in range(len(rows))],
               [r["gpus"][gpu_name]["epoch_s"] for r in rows], width, label=gpu_name)
    ax.set_xticks([j + width * (len(GPUS) - 1) / 2 for j in range(len(rows))],
                  [r["preset"] for r in rows])
    ax.set(ylabel="projected epoch (s)", yscale="log",
           title="one training epoch, roofline projection")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "delay_gpu_projection.png", dpi=120)
    print(f"wrote {out / 'delay_gpu_projection.json'} and delay_gpu_projection.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
