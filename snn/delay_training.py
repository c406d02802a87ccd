"""Training of the delay network (:class:`snn.layers.DelayNetwork`) on spike datasets.

The defaults are the paper's (Hammouamri et al., ICLR 2024, SHD configuration): Adam on the
weights (and batch-norm parameters) with a one-cycle learning rate peaking at 5x the base
rate, Adam on the delays at 100x the weights' rate with cosine annealing, both stepped once
per epoch; delays projected back into range after every step; the interpolation width
shrinks exponentially over the first quarter of the epochs; delays are rounded at the end
and the rounded model is evaluated.

:data:`DELAY_PRESETS` holds the authors' best configurations for SHD, SSC and GSC
(``Thvnvtos/SNN-delays``, ``best_config_{SHD,SSC,GSC}.py``) as :class:`DelayPreset` data; a
preset gives the network and training configurations (:meth:`DelayPreset.model_config`,
:meth:`DelayPreset.training_config`) and the published accuracy and parameter count.  With
``keep="best"`` (the presets' setting) training evaluates the validation split after every
epoch with the delays rounded, keeps the model with the best validation accuracy and tests
that one, as the reference code does.

:func:`train_delay_network` runs one training, with a progress bar, a checkpoint after every
epoch (training resumes from it) and a results dictionary (written as JSON when ``out_dir``
is given).  :func:`load_delay_data` reads and bins SHD, SSC, FSDD or the embedded sample.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .distributed_training import (
    DistributedContext,
    check_global_batch,
    init_distributed,
    shard_batches,
    unwrap_model,
    wrap_model,
)
from .layers.delay_network import DelayNetwork, DelayNetworkConfig
from .validation import check_choice, check_int, check_nonnegative, check_positive

__all__ = ["DelayTrainingConfig", "train_delay_network", "load_delay_data", "DELAY_DATASETS",
           "evaluate", "evaluate_rounded", "DelayPreset", "DELAY_PRESETS", "load_delay_splits",
           "delay_network_parameters", "KEEP_MODES"]

#: Binning of each dataset: channel pooling and the time window kept (s).
DELAY_DATASETS: dict[str, dict[str, Any]] = {
    "shd": {"pool": 5, "max_time": 1.0},
    "ssc": {"pool": 5, "max_time": 1.0},
    "fsdd": {"pool": 1, "max_time": 1.0},
    "sample": {"pool": 1, "max_time": 1.0},
    "gsc": {"pool": 1, "max_time": 1.0},
}

#: Which model a training returns: the one after the last epoch, or the one with the best
#: validation accuracy (delays rounded), as the reference code keeps.
KEEP_MODES = ("last", "best")


@dataclass(frozen=True)
class DelayTrainingConfig:
    """Optimisation settings (the paper's defaults)."""

    epochs: int = 150
    batch_size: int = 256
    lr_weights: float = 1e-3  #: base learning rate of weights and batch norm
    lr_delays: float = 0.1  #: learning rate of the delays (steps per unit of Adam's step)
    one_cycle_factor: float = 5.0  #: peak of the weights' one-cycle schedule, x lr_weights
    weight_decay: float = 1e-5  #: L2 penalty on the synaptic weights (Adam's weight_decay)
    seed: int = 0  #: initialisation, dropout masks and batch order
    threads: int | None = None  #: torch/numba threads (None: leave as they are)
    pad: str = "longest"  #: batches span their longest sample ("longest") or all steps ("full")
    #: "last": the model after the last epoch; "best": the one with the best validation
    #: accuracy, delays rounded (evaluated after every epoch, as the reference code does)
    keep: str = "last"

    def __post_init__(self) -> None:
        owner = "DelayTrainingConfig"
        check_choice(f"{owner}.keep", self.keep, KEEP_MODES)
        for name in ("epochs", "batch_size"):
            check_int(f"{owner}.{name}", getattr(self, name), minimum=1)
        for name in ("lr_weights", "lr_delays", "one_cycle_factor"):
            check_positive(f"{owner}.{name}", getattr(self, name))
        check_nonnegative(f"{owner}.weight_decay", self.weight_decay)
        check_int(f"{owner}.seed", self.seed, minimum=0)
        check_choice(f"{owner}.pad", self.pad, ("longest", "full"))
        if self.threads is not None:
            check_int(f"{owner}.threads", self.threads, minimum=1)

    def to_dict(self) -> dict:
        """The fields as a plain dictionary (for JSON and checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def load_delay_splits(name: str, root: str | os.PathLike | None = None, *, dt: float = 10e-3,
                      max_time: float | None = None, pool: int | None = None,
                      progress: bool = True) -> tuple[Any, Any | None, Any]:
    """Train, validation and test sets of a dataset, binned for the delay network.

    Args:
        name: ``"shd"``, ``"ssc"``, ``"gsc"``, ``"fsdd"`` or ``"sample"`` (the embedded FSDD
            sample).
        root: the folder of the files (SHD/SSC: the public ``*_train.h5``/``*_valid.h5``/
            ``*_test.h5``; GSC: the unpacked Speech Commands v0.02 folder; FSDD: the wav
            recordings or converted files); not needed for ``"sample"``.
        dt: bin width (s); GSC's frames are 10 ms apart, so it must be 0.01 there.
        max_time: time window kept (s; None: from :data:`DELAY_DATASETS`; ``math.inf``:
            whole recordings, up to the latest spike; GSC: always the 1 s of the front end).
        pool: channels summed into one (None: from :data:`DELAY_DATASETS`).
        progress: show a progress bar while converting FSDD recordings or computing GSC's
            log-mel features.

    Returns:
        ``(train, valid, test)`` as :class:`snn.data.BinnedSpikes`; ``valid`` is None where
        the dataset has no validation split (SHD, FSDD, the sample).  GSC's are float32
        log-mel frames (:func:`snn.data.load_speech_commands`).
    """
    from . import data

    if name not in DELAY_DATASETS:
        raise ValueError(f"name must be one of {sorted(DELAY_DATASETS)}, got {name!r}")
    defaults = DELAY_DATASETS[name]
    max_time = defaults["max_time"] if max_time is None else max_time
    pool = defaults["pool"] if pool is None else pool
    if name != "sample" and root is None:
        raise ValueError(f"root must name the folder holding the {name.upper()} files")
    if name == "gsc":
        frame_dt = data.LogMelConfig().dt
        if not math.isclose(dt, frame_dt, rel_tol=1e-9):
            raise ValueError(f"dt must be {frame_dt:g} s for GSC (the log-mel frame step), "
                             f"got {dt!r}")
        train, valid, test = (data.load_speech_commands(root, split, progress=progress)
                              for split in ("train", "valid", "test"))
        return train, valid, test
    valid = None
    if name == "sample":
        sets = [data.load_sample(split) for split in ("train", "test")]
    elif name == "shd":
        sets = [data.load_shd(root, split) for split in ("train", "test")]
    elif name == "ssc":
        sets = [data.load_ssc(root, split) for split in ("train", "valid", "test")]
    else:
        sets = [data.load_fsdd(root, split, progress=progress) for split in ("train", "test")]
    window = None if max_time == math.inf else max_time
    binned = [data.bin_spikes(s, dt, max_time=window, pool=pool) for s in sets]
    if len(binned) == 3:
        train, valid, test = binned
    else:
        train, test = binned
    return train, valid, test


def load_delay_data(name: str, root: str | os.PathLike | None = None, *, dt: float = 10e-3,
                    max_time: float | None = None, pool: int | None = None,
                    progress: bool = True) -> tuple[Any, Any]:
    """Train and test sets of a dataset, binned for the delay network (see
    :func:`load_delay_splits`, which also gives the validation split).

    Args:
        name: ``"shd"``, ``"ssc"``, ``"gsc"``, ``"fsdd"`` or ``"sample"``.
        root: the folder of the files; not needed for ``"sample"``.
        dt: bin width (s).
        max_time: time window kept (s; None: from :data:`DELAY_DATASETS`).
        pool: channels summed into one (None: from :data:`DELAY_DATASETS`).
        progress: show a progress bar while converting recordings.

    Returns:
        ``(train, test)`` as :class:`snn.data.BinnedSpikes`.
    """
    train, _, test = load_delay_splits(name, root, dt=dt, max_time=max_time, pool=pool,
                                       progress=progress)
    return train, test


def delay_network_parameters(config: DelayNetworkConfig) -> int:
    """Trained parameters of a :class:`DelayNetwork`, counted from its configuration.

    Every projection has a weight per synapse and, when delays are learned, a delay per
    synapse; each hidden layer's batch norm has a scale and a shift per neuron; biases add
    one per target.  This is what the reference code counts (parameters that require a
    gradient: DCLS's positions, not its fixed widths).

    Args:
        config: the architecture.

    Returns:
        The number of trained scalars.
    """
    if not isinstance(config, DelayNetworkConfig):
        raise TypeError(f"config must be a DelayNetworkConfig, got {type(config).__name__}")
    sizes = [config.n_inputs] + [config.n_hidden] * config.n_hidden_layers + [config.n_outputs]
    synapses = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    per_synapse = 2 if config.delays == "learned" else 1
    norms = 2 * config.n_hidden * config.n_hidden_layers if config.batch_norm else 0
    biases = sum(sizes[1:]) if config.bias else 0
    return per_synapse * synapses + norms + biases


@dataclass(frozen=True)
class DelayPreset:
    """A published configuration of the delay network (SI units), as data.

    The fields are the reference code's ``best_config_*.py`` values.  Two are converted to
    this library's conventions: ``max_delay`` is ``(taps - 1) * dt``, the reference's
    kernel of ``taps`` (odd) steps covering delays ``0 .. taps - 1``; and the interpolation
    width is the effective one, DCLS's learned width plus its constant 0.27 step
    (``sigma_offset``), so it starts at ``taps // 2 + 0.27`` and ends at 0.5 after
    ``sigma_decay_epochs`` (``epochs // 4``) epochs.
    """

    name: str  #: preset name
    dataset: str  #: "shd", "ssc" or "gsc" (see :func:`load_delay_splits`)
    n_inputs: int  #: input channels (700 pooled by 5, or 140 mel bands)
    n_outputs: int  #: classes
    n_hidden: int  #: neurons per hidden layer
    n_hidden_layers: int  #: hidden layers
    tau_m: float  #: membrane time constant (s)
    max_delay: float  #: longest delay (s): (kernel taps - 1) * dt
    dropout: float  #: dropout after each hidden layer
    batch_size: int  #: samples per batch
    epochs: int  #: training epochs
    sigma_start: float  #: effective interpolation width at epoch 0 (steps)
    sigma_decay_epochs: int  #: epochs over which the width decays
    validation: str  #: the split the best model is chosen on: "valid" or "test"
    paper_accuracy: float  #: the paper's test accuracy (%)
    paper_accuracy_std: float | None  #: its spread over seeds (%), None where not given
    paper_parameters: float  #: the paper's parameter count (as printed, rounded)
    pool: int = 5  #: input channels summed into one
    dt: float = 10e-3  #: time step (s)
    lr_weights: float = 1e-3  #: base learning rate of weights and batch norm
    lr_delays: float = 0.1  #: learning rate of the delays (100 x lr_weights)
    one_cycle_factor: float = 5.0  #: peak of the weights' one-cycle rate, x lr_weights
    weight_decay: float = 1e-5  #: Adam's weight decay on the synaptic weights
    sigma_final: float = 0.5  #: effective width at the end of the decay (steps)
    sigma_offset: float = 0.27  #: DCLS's constant part of the width (steps)
    source: str = ""  #: where the values come from

    def __post_init__(self) -> None:
        owner = f"DelayPreset({self.name!r})"
        check_choice(f"{owner}.dataset", self.dataset, ("shd", "ssc", "gsc"))
        check_choice(f"{owner}.validation", self.validation, ("valid", "test"))
        for name in ("n_inputs", "n_outputs", "n_hidden", "n_hidden_layers", "batch_size",
                     "epochs", "sigma_decay_epochs", "pool"):
            check_int(f"{owner}.{name}", getattr(self, name), minimum=1)
        for name in ("tau_m", "max_delay", "dt", "lr_weights", "lr_delays", "one_cycle_factor",
                     "sigma_start", "sigma_final", "paper_accuracy", "paper_parameters"):
            check_positive(f"{owner}.{name}", getattr(self, name))
        check_nonnegative(f"{owner}.weight_decay", self.weight_decay)
        if self.sigma_decay_epochs > self.epochs:
            raise ValueError(f"{owner}.sigma_decay_epochs must be <= epochs={self.epochs}, "
                             f"got {self.sigma_decay_epochs}")

    @property
    def kernel_taps(self) -> int:
        """Taps of each synapse's kernel (delays ``0 .. taps - 1`` steps)."""
        return int(round(self.max_delay / self.dt)) + 1

    def model_config(self, delays: str = "learned", **overrides: Any) -> DelayNetworkConfig:
        """The network of this preset.

        Args:
            delays: ``"learned"``, ``"fixed"`` or ``"none"`` (the ablations).
            **overrides: other :class:`~snn.layers.DelayNetworkConfig` fields to change.

        Returns:
            The configuration.
        """
        fields_ = dict(n_inputs=self.n_inputs, n_outputs=self.n_outputs,
                       n_hidden=self.n_hidden, n_hidden_layers=self.n_hidden_layers,
                       dt=self.dt, max_delay=self.max_delay, delays=delays, tau_m=self.tau_m,
                       dropout=self.dropout, sigma_start=self.sigma_start,
                       sigma_final=self.sigma_final, sigma_offset=self.sigma_offset,
                       sigma_decay_fraction=self.sigma_decay_epochs / self.epochs)
        fields_.update(overrides)
        return DelayNetworkConfig(**fields_)

    def training_config(self, **overrides: Any) -> DelayTrainingConfig:
        """The optimisation settings of this preset (``keep="best"``).

        Args:
            **overrides: other :class:`DelayTrainingConfig` fields to change (e.g. ``seed``,
                ``threads``, or ``epochs`` for a short run).

        Returns:
            The configuration.
        """
        fields_ = dict(epochs=self.epochs, batch_size=self.batch_size,
                       lr_weights=self.lr_weights, lr_delays=self.lr_delays,
                       one_cycle_factor=self.one_cycle_factor, weight_decay=self.weight_decay,
                       keep="best")
        fields_.update(overrides)
        return DelayTrainingConfig(**fields_)

    @property
    def n_parameters(self) -> int:
        """Trained parameters of the preset's network with learned delays."""
        return delay_network_parameters(self.model_config())


_SOURCE = ("Hammouamri, Khalfaoui-Hassani & Masquelier, ICLR 2024; code Thvnvtos/SNN-delays, "
           "best_config_{}.py (accuracy and parameters: the paper's results table)")

#: The authors' best configurations.  SHD has no validation split: the reference code
#: evaluates its test set after every epoch and keeps the best, which is what
#: ``validation="test"`` reproduces (the published SHD number is that best test accuracy).
DELAY_PRESETS: dict[str, DelayPreset] = {
    "shd": DelayPreset(
        name="shd", dataset="shd", n_inputs=140, n_outputs=20, n_hidden=256,
        n_hidden_layers=2, tau_m=10.05e-3, max_delay=240e-3, dropout=0.4, batch_size=256,
        epochs=150, sigma_start=12.27, sigma_decay_epochs=37, validation="test",
        paper_accuracy=95.07, paper_accuracy_std=0.24, paper_parameters=0.2e6,
        source=_SOURCE.format("SHD")),
    "ssc": DelayPreset(
        name="ssc", dataset="ssc", n_inputs=140, n_outputs=35, n_hidden=512,
        n_hidden_layers=3, tau_m=15e-3, max_delay=300e-3, dropout=0.25, batch_size=128,
        epochs=60, sigma_start=15.27, sigma_decay_epochs=15, validation="valid",
        paper_accuracy=80.69, paper_accuracy_std=0.21, paper_parameters=1.2e6,
        source=_SOURCE.format("SSC")),
    "gsc": DelayPreset(
        name="gsc", dataset="gsc", n_inputs=140, n_outputs=35, n_hidden=512,
        n_hidden_layers=3, tau_m=15e-3, max_delay=300e-3, dropout=0.25, batch_size=128,
        epochs=100, sigma_start=15.27, sigma_decay_epochs=25, validation="valid",
        paper_accuracy=95.35, paper_accuracy_std=None, paper_parameters=1.2e6, pool=1,
        source=_SOURCE.format("GSC")),
}


@torch.no_grad()
def evaluate(model: DelayNetwork, test: Any, batch_size: int = 256,
             device: str | torch.device = "cpu", pad: str = "longest",
             context: DistributedContext | None = None) -> tuple[float, float]:
    """Accuracy and loss of a delay network in evaluation mode (its mode is restored).

    Args:
        model: the network.
        test: binned data (:class:`snn.data.BinnedSpikes`).
        batch_size: samples per batch.
        device: where to run.
        pad: batch padding, ``"longest"`` or ``"full"`` (see :func:`snn.data.batches`).
        context: in a data-parallel training (:mod:`snn.distributed_training`), each
            process evaluates its share of every batch and the counts are summed over the
            processes; None: this process evaluates everything.

    Returns:
        ``(accuracy, mean loss)``: accuracy as a fraction in ``[0, 1]``, loss per sample.
    """
    from .data import batches

    context = DistributedContext(device=str(device)) if context is None else context
    was_training = model.training
    model.eval()
    correct, loss_sum, n = 0, 0.0, 0
    for shard in shard_batches(batches(test, batch_size, device=device, pad=pad), context):
        y = shard.y
        if y.numel() == 0:
            continue
        out = model(shard.x)
        loss_sum += float(model.loss(out, y)) * y.numel()
        correct += int((model.scores(out).argmax(1) == y).sum())
        n += y.numel()
    model.train(was_training)
    correct, loss_sum, n = context.sum([correct, loss_sum, n])
    return correct / n, loss_sum / n


@torch.no_grad()
def evaluate_rounded(model: DelayNetwork, data: Any, batch_size: int = 256,
                     device: str | torch.device = "cpu", pad: str = "longest",
                     context: DistributedContext | None = None) -> tuple[float, float]:
    """Accuracy and loss with every delay rounded to whole steps (interpolation off), the
    model left as it was (delays, widths and mode restored).

    This is how the reference code evaluates after every epoch.

    Args:
        model: the network.
        data: binned data (:class:`snn.data.BinnedSpikes`).
        batch_size: samples per batch.
        device: where to run.
        pad: batch padding, ``"longest"`` or ``"full"``.
        context: as for :func:`evaluate`.

    Returns:
        ``(accuracy, mean loss)``: accuracy as a fraction in ``[0, 1]``, loss per sample.
    """
    saved = [(p.delay.detach().clone(), p.sigma.detach().clone()) for p in model.projections]
    model.round_delays_()
    try:
        return evaluate(model, data, batch_size, device, pad, context)
    finally:
        for proj, (delay, sigma) in zip(model.projections, saved):
            proj.delay.copy_(delay)
            proj.sigma.copy_(sigma)


def _histograms(model: DelayNetwork) -> list[dict[str, list]]:
    out = []
    for delays in model.delays_steps():
        edges = np.arange(-0.5, max(1, model.config.max_delay_steps) + 1.5)
        counts, _ = np.histogram(delays.ravel(), bins=edges)
        out.append({"edges": edges.tolist(), "counts": counts.tolist()})
    return out


def _optimisers(model: DelayNetwork, cfg: DelayTrainingConfig, steps_per_epoch: int):
    synaptic = [p.weight for p in model.projections]
    others = [p for p in model.weight_parameters() if all(p is not w for w in synaptic)]
    opt_w = torch.optim.Adam([{"params": synaptic, "weight_decay": cfg.weight_decay},
                              {"params": others, "weight_decay": 0.0}], lr=cfg.lr_weights)
    sched_w = torch.optim.lr_scheduler.OneCycleLR(
        opt_w, max_lr=cfg.one_cycle_factor * cfg.lr_weights, total_steps=cfg.epochs)
    opts, scheds = [opt_w], [sched_w]
    if model.delay_parameters():
        opt_d = torch.optim.Adam(model.delay_parameters(), lr=cfg.lr_delays)
        opts.append(opt_d)
        scheds.append(torch.optim.lr_scheduler.CosineAnnealingLR(opt_d, T_max=cfg.epochs))
    return opts, scheds


def train_delay_network(
    model_config: DelayNetworkConfig,
    train: Any,
    test: Any,
    config: DelayTrainingConfig | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[int, dict[str, list]], bool | None] | None = None,
    valid: Any | None = None,
) -> dict[str, Any]:
    """Train a :class:`DelayNetwork` on binned data and evaluate it, delays rounded.

    Launched by ``torchrun --nproc-per-node N`` the training is data-parallel
    (:mod:`snn.distributed_training`): each process trains on ``batch_size / N`` samples of
    every global batch (a batch size not divisible by ``N`` is refused), batch norm and
    dropout act on the global batch, metrics are summed over the processes, and rank 0 alone
    shows progress and writes ``out_dir``; the weights match one process's to float
    tolerance, and every process returns the same model.  ``device="cuda"`` then means each
    process's ``cuda:LOCAL_RANK`` (nccl).  Without torchrun: one process, as always.

    Args:
        model_config: the architecture (its ``n_inputs``, ``n_outputs`` and ``dt`` must
            match the data).
        train: training data (:class:`snn.data.BinnedSpikes`).
        test: test data (:class:`snn.data.BinnedSpikes`).
        config: the optimisation settings (None: the paper's defaults); its ``seed`` draws
            the initialisation, the dropout masks and the batch order.
        out_dir: a folder for ``checkpoint.pt`` (after every epoch), ``model.pt`` and
            ``results.json`` (at the end); None writes nothing.
        resume: continue from ``out_dir``'s checkpoint made with the same configurations.
        progress: show a progress bar over epochs.
        device: where to train.
        on_epoch: called as ``on_epoch(epoch, history)`` after every epoch; returning True
            ends training there (the checkpoint stays resumable).
        valid: validation data (:class:`snn.data.BinnedSpikes`) for ``config.keep="best"``;
            None there selects on ``test``, as the reference code does for SHD.

    Returns:
        The configurations, per-epoch training loss and accuracy, test accuracy and loss,
        interpolation width (steps) and training time per epoch (s, the training pass
        alone), the final test accuracy with rounded delays, the delay histograms before
        and after training, and how far each projection's delays moved (mean absolute
        change, steps); the trained model is under the key ``"model"`` (not written to the
        JSON).  With ``keep="best"`` also the per-epoch ``valid_accuracy``/``valid_loss``
        (delays rounded; ``test_accuracy`` per epoch is then rounded too), ``best_epoch``,
        ``best_valid_accuracy`` and ``validation_split`` (``"valid"`` or ``"test"``); the
        returned model and the final test numbers are those of the best epoch.
    """
    from .data import BinnedSpikes

    config = DelayTrainingConfig() if config is None else config
    if not isinstance(model_config, DelayNetworkConfig):
        raise TypeError(f"model_config must be a DelayNetworkConfig, "
                        f"got {type(model_config).__name__}")
    if not isinstance(config, DelayTrainingConfig):
        raise TypeError(f"config must be a DelayTrainingConfig, got {type(config).__name__}")
    keep_best = config.keep == "best"
    if valid is not None and not keep_best:
        raise ValueError("valid is used to keep the best model: pass it with "
                         "DelayTrainingConfig(keep='best')")
    checked = [("train", train), ("test", test)] + ([("valid", valid)] if valid is not None
                                                      else [])
    for name, part in checked:
        if not isinstance(part, BinnedSpikes):
            raise TypeError(f"{name} must be BinnedSpikes (snn.data.bin_spikes), "
                            f"got {type(part).__name__}")
        if len(part) == 0:
            raise ValueError(f"{name} must hold at least one sample")
        if part.n_channels != model_config.n_inputs:
            raise ValueError(f"{name} has {part.n_channels} channels but the model expects "
                             f"n_inputs={model_config.n_inputs}")
        if int(part.labels.max()) >= model_config.n_outputs:
            raise ValueError(f"{name} has label {int(part.labels.max())} but the model has "
                             f"n_outputs={model_config.n_outputs}")
        if not math.isclose(part.dt, model_config.dt, rel_tol=1e-9):
            raise ValueError(f"{name} is binned at dt={part.dt:g} s but the model steps "
                             f"dt={model_config.dt:g} s")
    if config.threads is not None:
        import numba

        torch.set_num_threads(config.threads)
        numba.set_num_threads(min(config.threads, numba.config.NUMBA_NUM_THREADS))
    # Under torchrun: the process group (opened here if the caller has not; it stays open for
    # later trainings in this process, see init_distributed).
    context = init_distributed(device)
    check_global_batch(config.batch_size, len(train), context, "DelayTrainingConfig.batch_size")
    return _train(model_config, train, test, config, context, out_dir, resume, progress,
                  on_epoch, valid)


def _train(model_config: DelayNetworkConfig, train: Any, test: Any,
           config: DelayTrainingConfig, context: DistributedContext,
           out_dir: str | os.PathLike | None, resume: bool, progress: bool,
           on_epoch: Callable[[int, dict[str, list]], bool | None] | None,
           valid: Any | None) -> dict[str, Any]:
    from .data import batches

    device = context.device
    main = context.is_main
    keep_best = config.keep == "best"
    model = DelayNetwork(model_config, rng=config.seed).to(device)
    delays_before = _histograms(model)
    initial_delays = model.delays_steps()
    steps_per_epoch = -(-len(train) // config.batch_size)
    opts, scheds = _optimisers(model, config, steps_per_epoch)
    order = torch.Generator().manual_seed(config.seed + 1)
    history: dict[str, list] = {k: [] for k in ("train_loss", "train_accuracy", "test_accuracy",
                                                "test_loss", "sigma", "epoch_time_s")}
    if keep_best:
        history.update(valid_accuracy=[], valid_loss=[])
    selection = valid if valid is not None else test
    best: dict[str, Any] = {"accuracy": -1.0, "epoch": -1, "state": None}
    start_epoch = 0
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        checkpoint = out / "checkpoint.pt"
        state = None
        if main:
            out.mkdir(parents=True, exist_ok=True)
            if resume and checkpoint.exists():
                state = torch.load(checkpoint, weights_only=False, map_location="cpu")
        # Rank 0 reads; the others get its copy (their file system need not share out_dir).
        state = context.broadcast(state)
        if state is not None:
            saved = (state.get("model_config"), state.get("training_config"))
            if saved != (model_config.to_dict(), config.to_dict()):
                raise ValueError(f"resume: {checkpoint} was made with other configurations "
                                 f"{saved}; train with the same ones or another out_dir")
            model.load_state_dict(state["model"])
            for o, s in zip(opts, state["optimisers"]):
                o.load_state_dict(s)
            for o, s in zip(scheds, state["schedulers"]):
                o.load_state_dict(s)
            order.set_state(state["order"])
            model.load_dropout_rng_states(state["dropout_rng"], device)
            history, start_epoch = state["history"], state["epoch"] + 1
            best = state.get("best", best)
            delays_before = state["delays_before"]
            initial_delays = state["initial_delays"]
    # The optimisers hold the parameter tensors themselves, which wrapping keeps.
    trained = wrap_model(model, context)
    from tqdm.auto import tqdm

    bar = tqdm(range(start_epoch, config.epochs), desc=f"delays={model_config.delays}",
               unit="epoch", disable=not (progress and main), initial=start_epoch,
               total=config.epochs)
    for epoch in bar:
        sigma = model.sigma_for_epoch(epoch, config.epochs)
        model.set_sigma(sigma)
        trained.train()
        loss_sum, correct, seen = 0.0, 0, 0
        start = time.perf_counter()
        # Every process walks the same global batches (one shared order) and keeps its share.
        for shard in shard_batches(batches(train, config.batch_size, shuffle=True, rng=order,
                                           device=device, pad=config.pad), context):
            x, y = shard.x, shard.y
            for o in opts:
                o.zero_grad(set_to_none=True)
            if context.distributed:
                model.set_batch_shard(shard.start, shard.global_size)
            out_seq = trained(x)
            loss = model.loss(out_seq, y)
            (loss * shard.loss_scale if shard.loss_scale != 1.0 else loss).backward()
            for o in opts:
                o.step()
            model.clamp_delays_()
            loss_sum += float(loss.detach()) * y.numel()
            correct += int((model.scores(out_seq.detach()).argmax(1) == y).sum())
            seen += y.numel()
        model.set_batch_shard()
        (epoch_time,) = context.max([time.perf_counter() - start])
        loss_sum, correct, seen = context.sum([loss_sum, correct, seen])
        for s in scheds:
            s.step()
        if keep_best:
            valid_acc, valid_loss = evaluate_rounded(model, selection, config.batch_size,
                                                     device, config.pad, context)
            if valid is None:
                test_acc, test_loss = valid_acc, valid_loss
            else:
                test_acc, test_loss = evaluate_rounded(model, test, config.batch_size, device,
                                                       config.pad, context)
            history["valid_accuracy"].append(valid_acc)
            history["valid_loss"].append(valid_loss)
            if valid_acc > best["accuracy"]:
                best = {"accuracy": valid_acc, "epoch": epoch,
                        "state": {k: v.detach().cpu().clone()
                                  for k, v in model.state_dict().items()}}
        else:
            test_acc, test_loss = evaluate(model, test, config.batch_size, device, config.pad,
                                           context)
        for key, value in (("train_loss", loss_sum / seen), ("train_accuracy", correct / seen),
                           ("test_accuracy", test_acc), ("test_loss", test_loss),
                           ("sigma", sigma), ("epoch_time_s", epoch_time)):
            history[key].append(value)
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", train=f"{correct / seen:.3f}",
                        test=f"{test_acc:.3f}", sigma=f"{sigma:.2f}")
        if out is not None:
            # One writer; the barrier keeps the others from running ahead of a checkpoint
            # that is not complete yet.
            if main:
                torch.save({"model": model.state_dict(),
                            "optimisers": [o.state_dict() for o in opts],
                            "schedulers": [s.state_dict() for s in scheds],
                            "order": order.get_state(),
                            "dropout_rng": model.dropout_rng_states(),
                            "history": history, "epoch": epoch,
                            "delays_before": delays_before,
                            "initial_delays": initial_delays,
                            "model_config": model_config.to_dict(),
                            "training_config": config.to_dict(), "best": best},
                           out / "checkpoint.pt")
            context.barrier()
        stop = on_epoch is not None and bool(on_epoch(epoch, history))
        if context.any(stop):
            break
    bar.close()
    model = unwrap_model(trained)
    if keep_best and best["state"] is not None:
        model.load_state_dict(best["state"])
    accuracy_unrounded, _ = evaluate(model, test, config.batch_size, device, config.pad, context)
    # How far training moved the delays (steps, before rounding), per projection.
    delay_change = [float(np.abs(after - before).mean())
                    for before, after in zip(initial_delays, model.delays_steps())]
    model.round_delays_()
    accuracy, loss = evaluate(model, test, config.batch_size, device, config.pad, context)
    times = history["epoch_time_s"]
    results = {
        "model_config": model_config.to_dict(),
        "training_config": config.to_dict(),
        "history": history,
        "test_accuracy": accuracy,
        "test_loss": loss,
        "test_accuracy_unrounded": accuracy_unrounded,
        "mean_epoch_time_s": float(np.mean(times)) if times else float("nan"),
        # The first epoch also compiles or loads the CPU kernels: the median is the rate.
        "median_epoch_time_s": float(np.median(times)) if times else float("nan"),
        "n_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "delays_before": delays_before,
        "delays_after": _histograms(model),
        "mean_delay_change_steps": delay_change,
        "n_train": len(train),
        "n_test": len(test),
    }
    if keep_best:
        results.update(best_epoch=best["epoch"], best_valid_accuracy=best["accuracy"],
                       validation_split="valid" if valid is not None else "test",
                       n_valid=len(selection))
    if out is not None:
        if main:
            torch.save(model.state_dict(), out / "model.pt")
            (out / "results.json").write_text(json.dumps(results, indent=1))
        context.barrier()
    results["model"] = model
    return results



def plot_delay_histograms(results: dict[str, Any], path: str | os.PathLike | None = None):
    """Histograms of the delays (steps) of every projection before and after training, from
    the results of :func:`train_delay_network`; saved to ``path`` if given.  Returns the
    matplotlib figure."""
    import matplotlib.pyplot as plt

    before, after = results["delays_before"], results["delays_after"]
    fig, axes = plt.subplots(1, len(after), figsize=(3.6 * len(after), 3.0), squeeze=False)
    for layer, (ax, b, a) in enumerate(zip(axes[0], before, after)):
        centres = (np.asarray(a["edges"][:-1]) + np.asarray(a["edges"][1:])) / 2
        width = 0.42
        ax.bar(centres - width / 2, b["counts"], width, label="before", color="0.65")
        ax.bar(centres + width / 2, a["counts"], width, label="after (rounded)", color="C0")
        name = "readout" if layer == len(after) - 1 else f"hidden {layer}"
        ax.set(xlabel="delay (steps)", ylabel="synapses", title=f"projection to {name}")
    axes[0][0].legend(frameon=False, fontsize=8, loc="lower center")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
