"""The NIR paper's spiking CNN (``cnn_sinabs.nir``, N-MNIST shaped) imported and run by
snnsim's torch target, snnsim's engine and SpikingJelly's own NIR importer.

What it measures.  For each: the CPU time to import the graph (``time.process_time``, the
minimum over ``--repeats``; robust on a shared machine), the CPU time to run ``--steps``
steps of a synthetic event tensor (``[T, B, 2, 34, 34]``, each pixel firing with probability
``--rate`` per step; the engine runs one sample, the torch modules ``--batch`` samples), and
whether the output spikes equal snnsim's torch target, sample for sample.  Also the time to
write the imported module back to a ``.nir`` file.  SpikingJelly reads ``IF.r`` as ``1 /
dt``; the file was written with Sinabs' ``r = 1`` per step, so SpikingJelly imports it with
``dt = 1``, which means the same network.  snnTorch 1.0's importer cannot run this graph (its
Conv2d import fails under nirtorch 2.6, and it reads IF as a leaky neuron with beta 0.9), so
it is left out; the JSON records why.

Run:  python benchmarks/nir_exchange.py [--data ../shared/data/nir] [--steps 100] [--batch 16]
Writes benchmarks/results/nir_exchange.json and nir_exchange.png.  The folder of the NIR
paper's files comes from ``--data`` or ``$SNNSIM_NIR_DATA``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import torch

import snn.nir as sn

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from _common import machine_info, results_dir, write_json  # noqa: E402

DT = 1e-3  # s; IF nodes with the per-step reading do not depend on it


def _cpu(fn, repeats: int):
    """(result of the last call, minimum CPU seconds over ``repeats`` calls)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        result = fn()
        best = min(best, time.process_time() - start)
    return result, best


def _spikingjelly(graph, x: torch.Tensor):
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.nir_exchange.from_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = import_from_nir(graph, dt=1.0)
    # Single-step mode: it imports SumPool2d as torch's LPPool2d, which takes no time axis.
    functional.set_step_mode(module, "s")

    def run():
        functional.reset_net(module)
        with torch.no_grad():
            # nirtorch's graph module takes and returns its state along with the output.
            state, outs = None, []
            for t in range(x.shape[0]):
                out, state = module(x[t], state)
                outs.append(out)
        return torch.stack(outs)
    return module, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SNNSIM_NIR_DATA"),
                        help="folder of the NIR paper's files ($SNNSIM_NIR_DATA)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not args.data:
        raise SystemExit("no NIR data folder: pass --data PATH or set $SNNSIM_NIR_DATA (the "
                         "folder holding cnn_sinabs.nir, e.g. ../shared/data/nir)")
    path = Path(args.data) / "cnn_sinabs.nir"
    if not path.is_file():
        raise SystemExit(f"{path} does not exist")
    rng = np.random.default_rng(0)
    events = (rng.random((args.steps, args.batch, 2, 34, 34)) < args.rate).astype(np.float32)
    x32 = torch.from_numpy(events)
    rows = []

    module, t_import = _cpu(lambda: sn.from_nir(path, dt=DT, target="torch"), args.repeats)
    module = module.float()

    def run_torch():
        with torch.no_grad():
            return module(x32, return_all=True)
    ours, t_run = _cpu(run_torch, args.repeats)
    reference = ours["12"].numpy()
    rows.append({"tool": "snnsim torch", "import_s": t_import, "run_s": t_run,
                 "samples": args.batch, "same_spikes": True})

    import nir

    graph = nir.read(path)
    flat = sn._graph.flatten(graph)
    imported, t_import = _cpu(lambda: sn._engine.build_network(flat, DT, "euler"),
                              args.repeats)
    sample = events[:, 0].astype(np.float64)
    sn._engine.simulate_import(imported, {"input": sample}, "numba")  # compile once
    engine, t_run = _cpu(lambda: sn._engine.simulate_import(imported, {"input": sample},
                                                            "numba"), args.repeats)
    rows.append({"tool": "snnsim engine (numba)", "import_s": t_import, "run_s": t_run,
                 "samples": 1, "same_spikes": bool(np.array_equal(engine["12"],
                                                                  reference[:, 0]))})
    try:
        (sj_module, sj_run), t_import = _cpu(lambda: _spikingjelly(graph, x32), 1)
        sj_out, t_run = _cpu(sj_run, args.repeats)
        rows.append({"tool": "SpikingJelly from_nir", "import_s": t_import, "run_s": t_run,
                     "samples": args.batch,
                     "same_spikes": bool(np.array_equal(sj_out.numpy(), reference))})
    except ImportError as err:
        rows.append({"tool": "SpikingJelly from_nir", "skipped": str(err)})

    with tempfile.TemporaryDirectory() as tmp:
        _, t_export = _cpu(lambda: sn.save(module, Path(tmp) / "cnn.nir", dt=DT), args.repeats)

    print(f"cnn_sinabs.nir, {args.steps} steps, event rate {args.rate}, CPU s (min of "
          f"{args.repeats})")
    print(f"{'tool':<24}{'import':>9}{'run':>9}{'samples':>9}{'s/sample':>10}  same spikes")
    for row in rows:
        if "skipped" in row:
            print(f"{row['tool']:<24} skipped: {row['skipped']}")
            continue
        print(f"{row['tool']:<24}{row['import_s']:9.3f}{row['run_s']:9.3f}{row['samples']:9d}"
              f"{row['run_s'] / row['samples']:10.4f}  {row['same_spikes']}")
    print(f"export of the imported module to .nir: {t_export:.3f} s")
    out = results_dir(args.out)
    report = {
        "benchmark": "nir_exchange", "machine": machine_info("nir", "spikingjelly", "snntorch"),
        "settings": {"steps": args.steps, "batch": args.batch, "rate": args.rate,
                     "repeats": args.repeats, "dt": DT, "timer": "time.process_time, min"},
        "rows": rows, "export_s": t_export,
        "left_out": {"snntorch": "import_from_nir fails on Conv2d under nirtorch 2.6 and reads "
                                 "IF as Leaky(beta=0.9)"},
    }
    write_json(out / "nir_exchange.json", report)
    done = [r for r in rows if "skipped" not in r]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    names = [r["tool"] for r in done]
    axes[0].barh(names, [r["import_s"] for r in done])
    axes[0].set_xlabel("import (CPU s)")
    axes[1].barh(names, [r["run_s"] / r["samples"] for r in done])
    axes[1].set_xlabel(f"run, per sample of {args.steps} steps (CPU s)")
    axes[1].set_yticks([])
    fig.suptitle("NIR paper CNN (cnn_sinabs.nir)")
    fig.tight_layout()
    fig.savefig(out / "nir_exchange.png", dpi=120)
    print(f"wrote {out / 'nir_exchange.json'} and {out / 'nir_exchange.png'}")


if __name__ == "__main__":
    main()
