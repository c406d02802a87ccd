"""NeuroBench's tasks that need a download, each in one call: read the data in its public
layout, build the task's baseline spiking network from :mod:`snn.layers`, train it, test it,
and score it with NeuroBench's metrics (:mod:`snn.neurobench.metrics`, per sample) in one
leaderboard row beside the published baselines (:data:`PUBLISHED_BASELINES`).

Tasks (``task`` of :class:`DownloadTaskConfig`) and their networks:

* ``"gsc"``: Google Speech Commands v0.02, 35 words.  NeuroBench's front end (20 log mel
  bands every 5 ms, delta-modulated into +1 / -1 spikes, 200 steps) ->
  ``Linear(20, H) -> LIF -> Linear(H, H) -> LIF -> Linear(H, H) -> LIF -> Linear(H, 35) ->
  LIF`` with ``beta = 0.9``, NeuroBench's GSC SNN example.
* ``"shd"``: Spiking Heidelberg Digits (``shd_{train,test}.h5``, directly in ``data`` or in
  ``data/SHD/`` as tonic stores them).  700 channels pooled by 5, 10 ms bins, 1 s ->
  ``Linear(140, H) -> LIF -> Linear(H, 20) -> LIF``.
* ``"mswc-fscil"``: the MSWC keyword subset of NeuroBench's few-shot class-incremental task.
  A two-hidden-layer network (20 log mel bands, 10 ms frames, as currents) is trained on
  the base classes; then, as in NeuroBench, each incremental session adds ``n_way = 10``
  words of one language (``MSWC/<lang>/``, the languages in a random order) from
  ``k_shot = 5`` clips each; every class (base and new) is a prototype, the mean spike count
  vector of the last hidden layer over its training clips, and a clip is classified by the
  nearest prototype (Euclidean), on the base test clips and the other clips of every new
  word so far.  Reported: the accuracy after the base session and the average over all
  sessions (NeuroBench's two numbers).
* ``"dvs-gesture"``: IBM DVS Gesture, 11 classes.  Events down-sampled 4x to 32 x 32, two
  polarities, counted in ``n_frames`` equal time bins per sample (150 as in NeuroBench's
  example; its denoising filter is not applied) -> three ``Conv2d(5 x 5, same) ->
  MaxPool(2) -> LIF`` stages (16, 32, 64 channels) -> ``Linear(1024, 11) -> LIF``, the
  layout of NeuroBench's DVS Gesture SNN example with one ``beta = 0.9`` for every layer.
* ``"primate-reaching"``: the O'Doherty et al. sessions (``*.mat`` in ``data``, or one
  file).  4 ms bins -> ``Linear(n_units, 50) -> LIF(beta 0.96, reset to 0) -> Linear(50, 2)``
  read out by a leaky integrator without reset (``v[t] = 0.96 v[t-1] + I[t]``, the
  prediction), the layout of NeuroBench's ``SNN2``.  Each session is cut into 4 equal
  chunks; in each, the first half trains, the next quarter validates, the last quarter
  tests.  R2 as NeuroBench computes it (per velocity component over all test bins, then
  averaged); the row gives the mean over sessions.

Classifiers are trained on the cross-entropy of the output spike counts (surrogate
gradients, Adam); the class is the output neuron with the most spikes.  The metrics are
those of the test run, per sample (per 4 ms step for primate reaching).
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._random import numpy_generator, torch_generator
from ..layers import LIF
from ..validation import check_choice, check_int, check_positive
from .metrics import (
    LayerOperations,
    connection_sparsity,
    footprint,
    is_spiking,
    layer_operations,
    total_operations,
)

__all__ = [
    "DOWNLOAD_TASKS",
    "LEADERBOARD_COLUMNS",
    "PUBLISHED_BASELINES",
    "TASK_NAMES",
    "DownloadTaskConfig",
    "run_download_task",
    "write_leaderboard",
]

#: The tasks :func:`run_download_task` runs.
DOWNLOAD_TASKS = ("gsc", "shd", "mswc-fscil", "dvs-gesture", "primate-reaching")

#: Columns of a leaderboard row (NeuroBench's leaderboard, plus the source of the row).
LEADERBOARD_COLUMNS = ("task", "model", "metric", "value", "footprint",
                       "connection_sparsity", "activation_sparsity", "dense", "macs", "acs",
                       "source")

_NB_LEADERBOARD = "NeuroBench leaderboard.rst (Yik et al., Nat. Commun. 2025)"

#: Published numbers of each task (NeuroBench's own), with their source.  ``value`` is in
#: the unit of ``metric``; operations are per sample (per step for primate reaching).
PUBLISHED_BASELINES: dict[str, list[dict[str, Any]]] = {
    "gsc": [
        {"model": "NeuroBench GSC SNN (20-256-256-256-35, speech2spikes)",
         "metric": "accuracy %", "value": 85.63, "footprint": 583900,
         "connection_sparsity": 0.0, "activation_sparsity": 0.967, "dense": 29030400,
         "macs": 0.0, "acs": 3289834,
         "source": "NeuroBench examples/gsc/benchmark_snn.py (its printed results)"},
        {"model": "NeuroBench GSC M5 ANN", "metric": "accuracy %", "value": 86.53,
         "footprint": 109228, "connection_sparsity": 0.0, "activation_sparsity": 0.385,
         "dense": 1880256, "macs": 1728071, "acs": 0.0,
         "source": "NeuroBench examples/gsc/benchmark_ann.py (its printed results)"},
    ],
    "shd": [],  # NeuroBench publishes no SHD baseline
    "mswc-fscil": [
        {"model": "M5 ANN (NeuroBench baseline)", "metric": "accuracy % base / session avg",
         "value": "97.09 / 89.27", "footprint": 6.03e6, "connection_sparsity": 0.0,
         "activation_sparsity": 0.783, "dense": 2.59e7, "macs": 7.85e6, "acs": 0.0,
         "source": _NB_LEADERBOARD},
        {"model": "SNN (NeuroBench baseline)", "metric": "accuracy % base / session avg",
         "value": "93.48 / 75.27", "footprint": 1.36e7, "connection_sparsity": 0.0,
         "activation_sparsity": 0.916, "dense": 3.39e6, "macs": 0.0, "acs": 3.65e5,
         "source": _NB_LEADERBOARD},
    ],
    "dvs-gesture": [
        {"model": "NeuroBench DVS Gesture CSNN", "metric": "accuracy %", "value": 86.36,
         "footprint": 304828, "connection_sparsity": 0.0, "activation_sparsity": 0.951,
         "dense": 891206400, "macs": 9227012, "acs": 30564618,
         "source": "NeuroBench examples/dvs_gesture/benchmark_snn.py (its printed results)"},
    ],
    "primate-reaching": [
        {"model": "Baseline SNN (NeuroBench)", "metric": "R2", "value": 0.593,
         "footprint": 19648, "connection_sparsity": 0.0, "activation_sparsity": 0.997,
         "dense": 4900, "macs": 0.0, "acs": 276, "source": _NB_LEADERBOARD},
        {"model": "Baseline ANN (NeuroBench)", "metric": "R2", "value": 0.593,
         "footprint": 20824, "connection_sparsity": 0.0, "activation_sparsity": 0.683,
         "dense": 4704, "macs": 3836, "acs": 0.0, "source": _NB_LEADERBOARD},
        {"model": "tinyRSNN", "metric": "R2", "value": 0.66, "footprint": 27144,
         "connection_sparsity": 0.455, "activation_sparsity": 0.984, "dense": 13440,
         "macs": 0.0, "acs": 304, "source": _NB_LEADERBOARD},
    ],
}

#: The leaderboard's name of each task.
TASK_NAMES = {"gsc": "Keyword spotting (GSC)", "shd": "SHD", "mswc-fscil": "Keyword FSCIL",
               "dvs-gesture": "DVS Gesture", "primate-reaching": "Primate reaching"}
_DEFAULT_HIDDEN = {"gsc": 256, "shd": 128, "mswc-fscil": 256, "dvs-gesture": 0,
                   "primate-reaching": 50}


@dataclass(frozen=True)
class DownloadTaskConfig:
    """Settings of one run of :func:`run_download_task`.

    Args:
        task: one of :data:`DOWNLOAD_TASKS`.
        epochs: training epochs (>= 1).
        hidden: hidden neurons per layer (>= 1; 0: the task's default, 256 / 128 / 256 /
            unused / 50 in the order of :data:`DOWNLOAD_TASKS`).
        batch_size: samples per batch (>= 1; primate reaching: windows per batch).
        learning_rate: Adam's step size (> 0).
        max_samples: at most this many samples per split, drawn with ``seed`` (>= 1; 0: all),
            for quick runs.
        n_frames: time bins per DVS Gesture sample (>= 1).
        n_way: new classes per FSCIL session (>= 1).
        k_shot: training clips per new class (>= 1).
        seed: draws the weights, the batch order and the subsets.
    """

    task: str
    epochs: int = 10
    hidden: int = 0
    batch_size: int = 64
    learning_rate: float = 1e-3
    max_samples: int = 0
    n_frames: int = 150
    n_way: int = 10
    k_shot: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("DownloadTaskConfig.task", self.task, DOWNLOAD_TASKS)
        for name, minimum in (("epochs", 1), ("hidden", 0), ("batch_size", 1),
                              ("max_samples", 0), ("n_frames", 1), ("n_way", 1),
                              ("k_shot", 1), ("seed", 0)):
            check_int(f"DownloadTaskConfig.{name}", getattr(self, name), minimum=minimum)
        check_positive("DownloadTaskConfig.learning_rate", self.learning_rate)

    @property
    def n_hidden(self) -> int:
        """The hidden layer size used (``hidden``, or the task's default)."""
        return self.hidden or _DEFAULT_HIDDEN[self.task]


# ------------------------------------------------------------------ networks
class _PerStep(nn.Module):
    """Applies ``module`` to every step of a time-major ``[T, B, ...]`` tensor."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, b = x.shape[:2]
        y = self.module(x.reshape(t * b, *x.shape[2:]))
        return y.reshape(t, b, *y.shape[1:])


class _Stage(nn.Module):
    """One connection (a ``Linear`` or a ``Conv2d`` with optional pooling) and its LIF."""

    def __init__(self, connection: nn.Module, lif: LIF | None, pool: int = 0,
                 flatten: bool = False) -> None:
        super().__init__()
        self.connection = connection
        self.pool = nn.MaxPool2d(pool) if pool else None
        self.lif = lif
        self.flatten = flatten

    def current(self, x: torch.Tensor) -> torch.Tensor:
        if self.flatten:
            x = x.flatten(2)
        if isinstance(self.connection, nn.Conv2d):
            y = _PerStep(self.connection)(x)
            return _PerStep(self.pool)(y) if self.pool is not None else y
        return self.connection(x)


class TaskNet(nn.Module):
    """A feed-forward stack of :class:`_Stage` s, time-major.

    ``forward(x)`` maps ``[T, B, *features]`` to the last stage's spikes ``[T, B, n_out]``
    (for a regression net, the readout potential ``[T, B, n_out]``).
    """

    def __init__(self, stages: list[_Stage], readout_beta: float | None = None) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.readout_beta = readout_beta

    def forward(self, x: torch.Tensor, record: dict | None = None) -> torch.Tensor:
        for index, stage in enumerate(self.stages):
            if record is not None:
                _record_operations(record, index, stage, x)
            x = stage.current(x)
            if stage.lif is not None:
                x = stage.lif(x)
                if record is not None:
                    record["zeros"] += int((x == 0).sum())
                    record["outputs"] += int(x.numel())
        if self.readout_beta is not None:
            x = _leaky_readout(x, self.readout_beta)
        return x

    def hidden_counts(self, x: torch.Tensor) -> torch.Tensor:
        """Spike counts ``[B, n]`` of the last hidden stage (the FSCIL embedding)."""
        for stage in self.stages[:-1]:
            x = stage.lif(stage.current(x))
        return x.sum(0)


def _leaky_readout(current: torch.Tensor, beta: float) -> torch.Tensor:
    # v[t] = beta v[t-1] + I[t], no threshold: the prediction of the regression nets.
    out, v = [], torch.zeros_like(current[0])
    for t in range(current.shape[0]):
        v = beta * v + current[t]
        out.append(v)
    return torch.stack(out)


def _conv_operations(conv: nn.Conv2d, x: torch.Tensor) -> LayerOperations:
    # A convolution applies its [out, in * k * k] matrix to every patch: the dense-layer
    # count over the unfolded inputs; zero padding is not an input, so it counts for none.
    frames = x.reshape(-1, *x.shape[2:])
    kwargs = dict(kernel_size=conv.kernel_size, padding=conv.padding if conv.padding != "same"
                  else tuple(k // 2 for k in conv.kernel_size), stride=conv.stride)
    patches = nn.functional.unfold(frames, **kwargs).transpose(1, 2)  # [F, L, in k k]
    inside = nn.functional.unfold(torch.ones_like(frames[:1]), **kwargs)[0]  # [in k k, L]
    weight = conv.weight.detach().reshape(conv.out_channels, -1)
    ops = layer_operations(weight, patches)
    dense = int(inside.sum()) * conv.out_channels * frames.shape[0]
    return LayerOperations(ops.effective, dense, is_spiking(frames))


def _record_operations(record: dict, index: int, stage: _Stage, x: torch.Tensor) -> None:
    if isinstance(stage.connection, nn.Conv2d):
        ops = _conv_operations(stage.connection, x)
    else:
        inputs = x.flatten(2) if stage.flatten else x
        ops = layer_operations(stage.connection.weight.detach(), inputs)
    previous = record["ops"].get(index)
    if previous is not None:
        ops = LayerOperations(previous.effective + ops.effective, previous.dense + ops.dense,
                              previous.spiking and ops.spiking)
    record["ops"][index] = ops


def _linear(n_in: int, n_out: int, gen: torch.Generator, bias: bool = True) -> nn.Linear:
    layer = nn.Linear(n_in, n_out, bias=bias)
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=gen)
        if bias:
            layer.bias.uniform_(-bound, bound, generator=gen)
    return layer


def _conv(n_in: int, n_out: int, gen: torch.Generator) -> nn.Conv2d:
    conv = nn.Conv2d(n_in, n_out, 5, padding="same")
    bound = 1.0 / math.sqrt(n_in * 25)
    with torch.no_grad():
        conv.weight.uniform_(-bound, bound, generator=gen)
        conv.bias.uniform_(-bound, bound, generator=gen)
    return conv


def _mlp(sizes: list[int], beta: float, gen: torch.Generator) -> TaskNet:
    return TaskNet([_Stage(_linear(a, b, gen), LIF(beta=beta)) for a, b in zip(sizes, sizes[1:])])


def _gesture_net(gen: torch.Generator) -> TaskNet:
    stages = [_Stage(_conv(a, b, gen), LIF(beta=0.9), pool=2)
              for a, b in ((2, 16), (16, 32), (32, 64))]
    stages.append(_Stage(_linear(64 * 4 * 4, 11, gen), LIF(beta=0.9), flatten=True))
    return TaskNet(stages)


def _reaching_net(n_units: int, hidden: int, gen: torch.Generator) -> TaskNet:
    return TaskNet([_Stage(_linear(n_units, hidden, gen, bias=False),
                           LIF(beta=0.96, reset="value")),
                    _Stage(_linear(hidden, 2, gen, bias=False), None)], readout_beta=0.96)


# ------------------------------------------------------------------ data
def _subset(n: int, limit: int, gen: np.random.Generator) -> np.ndarray:
    return np.arange(n) if not limit or limit >= n else np.sort(gen.choice(n, limit, False))


def _log_mel_inputs(audio: np.ndarray) -> np.ndarray:
    from ..data import LogMelConfig, log_mel

    return log_mel(audio, LogMelConfig(n_mels=20))  # [N, 101, 20] dB


#: NeuroBench's GSC front end (speech2spikes, Stewart et al. 2023, as NeuroBench's
#: S2SPreProcessor configures it): mel power at 16 kHz, 512-point FFT, 20 bands over
#: 20-4000 Hz, 5 ms hop, natural log, delta modulation with threshold 1.
_S2S_THRESHOLD = 1.0


def _speech_spikes(audio: np.ndarray) -> np.ndarray:
    """Ternary spikes ``int8 [N, 200, 20]`` of 1 s clips: the log mel energies delta-
    modulated (a channel emits +1 / -1 when its energy has moved more than the threshold
    above / below the level it tracks, and the level follows by one threshold)."""
    from ..data import LogMelConfig, log_mel

    config = LogMelConfig(resample_rate=16000, n_fft=512, hop_length=80, n_mels=20,
                          f_min=20.0, f_max=4000.0, amin=1e-6)
    energy = log_mel(audio, config).astype(np.float64) * (math.log(10.0) / 10.0)  # ln power
    return _delta_modulate(energy, _S2S_THRESHOLD)[:, 1:]  # the first frame sets the levels


def _delta_modulate(signal: np.ndarray, threshold: float) -> np.ndarray:
    """``int8`` events of ``signal`` ``[N, T, C]``: the level starts at the first value
    rounded; at each step +1 (-1) where the signal is more than ``threshold`` above (below)
    the level, which then moves by ``threshold`` in that direction."""
    level = np.round(signal[:, 0])
    events = np.zeros(signal.shape, np.int8)
    for t in range(signal.shape[1]):
        step = ((signal[:, t] - level > threshold).astype(np.int8)
                - (signal[:, t] - level < -threshold).astype(np.int8))
        events[:, t] = step
        level += step * threshold
    return events


def _clip_features(paths: list[Path], front_end=_log_mel_inputs) -> np.ndarray:
    """``front_end`` of 16 kHz wav clips, read a chunk at a time (the whole of Speech
    Commands as raw audio would take 5 GB)."""
    from ..data.fsdd import read_wav

    parts = []
    for first in range(0, len(paths), 1000):
        chunk = paths[first:first + 1000]
        audio = np.zeros((len(chunk), 16000), np.float32)
        for i, path in enumerate(chunk):
            x, rate = read_wav(path)
            if rate != 16000:
                raise ValueError(f"{path}: sample rate {rate} Hz, expected 16000 Hz")
            audio[i, :min(x.size, 16000)] = x[:16000]
        parts.append(front_end(audio))
    return np.concatenate(parts)


def _standardise(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean, std = float(train.mean()), float(train.std()) or 1.0
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]


def _gsc_data(root: Path, config: DownloadTaskConfig, gen: np.random.Generator) -> dict:
    from ..data import speech_commands_files

    splits = {}
    for split in ("train", "test"):
        paths, labels = speech_commands_files(root, split)
        keep = _subset(labels.size, config.max_samples, gen)
        splits[split] = (_clip_features([paths[i] for i in keep], _speech_spikes),
                         labels[keep])
    return {"train": splits["train"], "test": splits["test"], "n_classes": 35}


def _shd_folder(root: Path) -> Path:
    for folder in (root, root / "SHD"):
        if any(folder.glob("shd_train.h5*")):
            return folder
    raise ValueError(f"{root} holds no shd_train.h5 (directly or in SHD/, tonic's layout)")


def _shd_data(root: Path, config: DownloadTaskConfig, gen: np.random.Generator) -> dict:
    from ..data import bin_spikes, load_shd

    folder = _shd_folder(root)
    out: dict[str, Any] = {"n_classes": 20}
    for split in ("train", "test"):
        data = load_shd(folder, split)
        data = data.subset(_subset(len(data), config.max_samples, gen))
        binned = bin_spikes(data, 0.01, max_time=1.0, pool=5)
        out[split] = (binned.counts, binned.labels)  # uint8 counts
    return out


def _gesture_frames(samples: list, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    frames = np.zeros((len(samples), n_frames, 2, 32, 32), np.uint16)  # event counts
    for i, s in enumerate(samples):
        if s.t.size == 0:
            continue
        t = s.t - s.t.min()
        span = max(int(t.max()), 1)
        bins = np.minimum(t * n_frames // (span + 1), n_frames - 1)
        np.add.at(frames[i], (bins, s.p.astype(np.int64), np.minimum(s.y // 4, 31),
                              np.minimum(s.x // 4, 31)), 1)
    return frames, np.array([s.label for s in samples], np.int64)


def _gesture_data(root: Path, config: DownloadTaskConfig, gen: np.random.Generator) -> dict:
    from ..data import load_dvs_gesture

    out: dict[str, Any] = {"n_classes": 11}
    for split in ("train", "test"):
        samples = load_dvs_gesture(root, split)
        keep = _subset(len(samples), config.max_samples, gen)
        out[split] = _gesture_frames([samples[i] for i in keep], config.n_frames)
    return out


def _mswc_split(root: Path, split: str, language: str = "en"
                ) -> tuple[list[Path], np.ndarray, tuple[str, ...]]:
    from ..data import mswc_fscil_files

    rows = mswc_fscil_files(root, split, language)
    words = tuple(sorted({word for _, word in rows}))
    index = {word: i for i, word in enumerate(words)}
    paths = [p if p.suffix.lower() == ".wav" else p.with_suffix(".wav") for p, _ in rows]
    return paths, np.array([index[w] for _, w in rows], np.int64), words


def _mswc_data(root: Path, config: DownloadTaskConfig, gen: np.random.Generator) -> dict:
    train_paths, train_y, words = _mswc_split(root, "base_train")
    test_paths, test_words_y, test_words = _mswc_split(root, "base_test")
    index = {w: i for i, w in enumerate(words)}
    test_y = np.array([index[test_words[k]] for k in test_words_y], np.int64)
    keep_train = _subset(train_y.size, config.max_samples, gen)
    keep_test = _subset(test_y.size, config.max_samples, gen)
    raw_train = _clip_features([train_paths[i] for i in keep_train])
    stats = (float(raw_train.mean()), float(raw_train.std()) or 1.0)
    train_x, test_x = _standardise(raw_train,
                                   _clip_features([test_paths[i] for i in keep_test]))
    languages = sorted(p.parent.name for p in Path(root, "MSWC").glob("*/evaluation.csv"))
    return {"train": (train_x, train_y[keep_train]), "test": (test_x, test_y[keep_test]),
            "n_classes": len(words), "languages": languages, "feature_stats": stats}


# ------------------------------------------------------------------ training
def _time_major(x: np.ndarray) -> torch.Tensor:
    # inputs are stored compactly (spike counts as integers) and made float32 per batch
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(x, 0, 1), dtype=np.float32))


def _train_classifier(net: TaskNet, x: np.ndarray, y: np.ndarray,
                      config: DownloadTaskConfig, gen: np.random.Generator) -> None:
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    targets = torch.from_numpy(y)
    net.train()
    for _ in range(config.epochs):
        order = gen.permutation(y.size)
        for start in range(0, y.size, config.batch_size):
            idx = np.sort(order[start:start + config.batch_size])
            counts = net(_time_major(x[idx])).sum(0)
            loss = nn.functional.cross_entropy(counts, targets[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()


def _evaluate_classifier(net: TaskNet, x: np.ndarray, y: np.ndarray,
                         batch_size: int) -> tuple[float, dict]:
    record: dict[str, Any] = {"ops": {}, "zeros": 0, "outputs": 0}
    correct = 0
    with torch.no_grad():
        for start in range(0, y.size, batch_size):
            counts = net(_time_major(x[start:start + batch_size]), record).sum(0)
            correct += int((counts.argmax(1).numpy() == y[start:start + batch_size]).sum())
    return correct / y.size, _metrics(net, record, y.size)


def _metrics(net: TaskNet, record: dict, n_samples: int) -> dict:
    tensors = [t.detach() for t in list(net.parameters()) + list(net.buffers())]
    weights = [stage.connection.weight for stage in net.stages]
    outputs = record["outputs"]
    return {
        "Footprint": footprint(tensors),
        "ConnectionSparsity": connection_sparsity(weights),
        "ActivationSparsity": record["zeros"] / outputs if outputs else 0.0,
        "SynapticOperations": total_operations(list(record["ops"].values()), n_samples),
    }


def _classification(task: str, data: dict, config: DownloadTaskConfig,
                     gen: np.random.Generator) -> dict:
    tgen = torch_generator(config.seed)
    n_in = int(np.prod(data["train"][0].shape[2:]))
    h = config.n_hidden
    if task == "gsc":
        net = _mlp([n_in, h, h, h, data["n_classes"]], 0.9, tgen)
    elif task == "shd":
        net = _mlp([n_in, h, data["n_classes"]], 0.9, tgen)
    else:
        net = _gesture_net(tgen)
    _train_classifier(net, *data["train"], config, gen)
    accuracy, metrics = _evaluate_classifier(net, *data["test"], config.batch_size)
    return {"value": round(100 * accuracy, 2), "metric": "accuracy %",
            "test_accuracy": accuracy, "metrics": metrics,
            "model": _model_name(task, config)}


def _model_name(task: str, config: DownloadTaskConfig) -> str:
    h = config.n_hidden
    return {"gsc": f"snnsim SNN 20-{h}-{h}-{h}-35 (delta-modulated log mel)",
            "shd": f"snnsim SNN 140-{h}-20",
            "mswc-fscil": f"snnsim SNN 20-{h}-{h}-base, prototypes",
            "dvs-gesture": "snnsim CSNN 16c5-32c5-64c5-11",
            "primate-reaching": f"snnsim SNN n_units-{h}-2, leaky readout"}[task]


def _fscil(data: dict, root: Path, config: DownloadTaskConfig,
           gen: np.random.Generator) -> dict:
    tgen = torch_generator(config.seed)
    h = config.n_hidden
    net = _mlp([20, h, h, data["n_classes"]], 0.9, tgen)
    train_x, train_y = data["train"]
    test_x, test_y = data["test"]
    _train_classifier(net, train_x, train_y, config, gen)
    readout_accuracy, metrics = _evaluate_classifier(net, test_x, test_y, config.batch_size)

    def embed(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return np.concatenate([net.hidden_counts(_time_major(x[i:i + 256])).numpy()
                                   for i in range(0, len(x), 256)])

    train_e = embed(train_x)
    prototypes = [train_e[train_y == c].mean(0) for c in range(data["n_classes"])]
    query_e, query_y = [embed(test_x)], [test_y]
    accuracies = [_prototype_accuracy(np.stack(prototypes), query_e, query_y)]
    mean, std = data["feature_stats"]  # new clips are standardised as the base ones
    # one language per session, in a random order (as NeuroBench draws them)
    for language in gen.permutation(data["languages"]).tolist() if data["languages"] else []:
        paths, labels, words = _mswc_split(root, "evaluation", language)
        chosen = gen.choice(len(words), min(config.n_way, len(words)), replace=False)
        support, queries, classes = [], [], []
        for word in np.sort(chosen):
            clips = gen.permutation(np.flatnonzero(labels == word))
            if clips.size <= config.k_shot:
                continue  # no clip left to test the class on
            support.append(clips[:config.k_shot])
            queries.append(clips[config.k_shot:])
            classes.append(len(prototypes) + len(classes))
        if not classes:
            continue
        # read only the clips used: the support shots of each class, then every query
        used = np.concatenate(support + queries)
        feats = ((_clip_features([paths[i] for i in used]) - mean) / std).astype(np.float32)
        n_support = sum(shots.size for shots in support)
        for k, shots in enumerate(support):
            prototypes.append(embed(feats[k * config.k_shot:k * config.k_shot + shots.size])
                              .mean(0))
        query_e.append(embed(feats[n_support:]))
        query_y.append(np.concatenate([np.full(q.size, c) for q, c in zip(queries, classes)]))
        accuracies.append(_prototype_accuracy(np.stack(prototypes), query_e, query_y))
    base, average = 100 * accuracies[0], 100 * float(np.mean(accuracies))
    return {"value": f"{base:.2f} / {average:.2f}", "metric": "accuracy % base / session avg",
            "base_accuracy": accuracies[0], "session_accuracies": accuracies,
            "session_average": float(np.mean(accuracies)),
            "readout_base_accuracy": readout_accuracy, "metrics": metrics,
            "model": _model_name("mswc-fscil", config)}


def _prototype_accuracy(prototypes: np.ndarray, embeddings: list[np.ndarray],
                        labels: list[np.ndarray]) -> float:
    e, y = np.concatenate(embeddings), np.concatenate(labels)
    distance = ((e[:, None, :] - prototypes[None]) ** 2).sum(-1)
    return float((distance.argmin(1) == y).mean())


# ------------------------------------------------------------------ primate reaching
def _reaching_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    files = sorted(root.glob("*.mat"))
    if not files:
        raise ValueError(f"{root} holds no *.mat session file")
    return files


def _reaching_split(n_bins: int) -> dict[str, list[tuple[int, int]]]:
    # NeuroBench cuts a session into 4 chunks: in each, the first half trains, the next
    # quarter validates and the last quarter tests.
    parts: dict[str, list[tuple[int, int]]] = {"train": [], "valid": [], "test": []}
    edges = np.linspace(0, n_bins, 5).astype(int)
    for a, b in zip(edges[:-1], edges[1:]):
        half, three = a + (b - a) // 2, a + 3 * (b - a) // 4
        parts["train"].append((a, half))
        parts["valid"].append((half, three))
        parts["test"].append((three, b))
    return parts


def _r2(prediction: np.ndarray, target: np.ndarray) -> float:
    # NeuroBench's R2: one per velocity component over all bins, then their mean.
    sse = ((target - prediction) ** 2).sum(0)
    return float(np.mean(1.0 - sse / (target.var(0) * target.shape[0])))


def _reaching_session(path: Path, config: DownloadTaskConfig,
                      gen: np.random.Generator) -> tuple[float, dict]:
    from ..data import read_primate_reaching

    session = read_primate_reaching(path)
    spikes = session.spikes.astype(np.float32)
    scale = float(session.velocity.std()) or 1.0
    velocity = (session.velocity / scale).astype(np.float32)
    parts = _reaching_split(spikes.shape[0])
    window = 250  # 1 s of 4 ms bins per training sequence
    starts = [s for a, b in parts["train"] for s in range(a, max(b - window, a) + 1, window // 2)
              if s + 2 <= b]
    if config.max_samples:
        starts = [starts[i] for i in _subset(len(starts), config.max_samples, gen)]
    net = _reaching_net(spikes.shape[1], config.n_hidden, torch_generator(config.seed))
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    for _ in range(config.epochs):
        order = gen.permutation(len(starts))
        for first in range(0, len(order), config.batch_size):
            batch = [starts[i] for i in order[first:first + config.batch_size]]
            length = min(window, min(_part_end(parts["train"], s) - s for s in batch))
            x = torch.from_numpy(np.stack([spikes[s:s + length] for s in batch], 1))
            y = torch.from_numpy(np.stack([velocity[s:s + length] for s in batch], 1))
            loss = nn.functional.mse_loss(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    record: dict[str, Any] = {"ops": {}, "zeros": 0, "outputs": 0}
    predictions, targets = [], []
    with torch.no_grad():
        for a, b in parts["test"]:
            x = torch.from_numpy(spikes[a:b])[:, None]
            predictions.append(net(x, record)[:, 0].numpy())
            targets.append(velocity[a:b])
    n_steps = sum(b - a for a, b in parts["test"])
    # operations per step: NeuroBench feeds the model one 4 ms bin per sample
    return _r2(np.concatenate(predictions), np.concatenate(targets)), _metrics(net, record,
                                                                              n_steps)


def _part_end(parts: list[tuple[int, int]], start: int) -> int:
    return next(b for a, b in parts if a <= start < b)


def _reaching(root: Path, config: DownloadTaskConfig, gen: np.random.Generator) -> dict:
    scores, metrics = [], []
    for path in _reaching_files(root):
        score, m = _reaching_session(path, config, gen)
        scores.append(score)
        metrics.append(m)
    mean_metrics = {
        "Footprint": float(np.mean([m["Footprint"] for m in metrics])),
        "ConnectionSparsity": float(np.mean([m["ConnectionSparsity"] for m in metrics])),
        "ActivationSparsity": float(np.mean([m["ActivationSparsity"] for m in metrics])),
        "SynapticOperations": {k: float(np.mean([m["SynapticOperations"][k] for m in metrics]))
                               for k in ("Effective_MACs", "Effective_ACs", "Dense")},
    }
    return {"value": round(float(np.mean(scores)), 4), "metric": "R2", "r2_sessions": scores,
            "sessions": [p.name for p in _reaching_files(root)], "metrics": mean_metrics,
            "model": _model_name("primate-reaching", config)}


# ------------------------------------------------------------------ entry points
def run_download_task(config: DownloadTaskConfig, data: str | os.PathLike) -> dict:
    """Train and test the task's baseline network on the data in ``data``.

    Args:
        config: the task and its settings.
        data: the folder of the task's public layout (``"gsc"``: the unpacked Speech
            Commands v0.02; ``"shd"``: the folder of ``shd_*.h5`` or its parent holding
            ``SHD/``; ``"mswc-fscil"``: the folder holding ``MSWC/``; ``"dvs-gesture"``: the
            unpacked ``DvsGesture`` folder; ``"primate-reaching"``: a folder of ``*.mat``
            sessions or one session file).

    Returns:
        ``{"row": ..., "published": [...], "details": ...}``: ``row`` is this run's
        leaderboard row (the keys of :data:`LEADERBOARD_COLUMNS`), ``published`` the
        task's published rows, ``details`` the per-task numbers and NeuroBench's metrics.
    """
    if not isinstance(config, DownloadTaskConfig):
        raise TypeError(f"config must be a DownloadTaskConfig, got {type(config).__name__}")
    root = Path(data).expanduser()
    if not root.exists():
        raise ValueError(f"data must be an existing folder or file, got {root}")
    gen = numpy_generator(config.seed)
    task = config.task
    if task == "primate-reaching":
        details = _reaching(root, config, gen)
    elif task == "mswc-fscil":
        loaded = _mswc_data(root, config, gen)
        details = _fscil(loaded, root, config, gen)
    else:
        loader = {"gsc": _gsc_data, "shd": _shd_data, "dvs-gesture": _gesture_data}[task]
        details = _classification(task, loader(root, config, gen), config, gen)
    details["config"] = asdict(config)
    return {"row": _row(task, details["model"], details["metric"], details["value"],
                        details["metrics"]),
            "published": [dict(task=TASK_NAMES[task], **r) for r in PUBLISHED_BASELINES[task]],
            "details": details}


def _row(task: str, model: str, metric: str, value: Any, metrics: dict) -> dict:
    ops = metrics["SynapticOperations"]
    return {"task": TASK_NAMES[task], "model": model, "metric": metric, "value": value,
            "footprint": metrics["Footprint"],
            "connection_sparsity": round(metrics["ConnectionSparsity"], 4),
            "activation_sparsity": round(metrics["ActivationSparsity"], 4),
            "dense": ops["Dense"], "macs": ops["Effective_MACs"], "acs": ops["Effective_ACs"],
            "source": "snnsim (this run)"}


def write_leaderboard(result: dict, folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write this run's row beside the published ones, as JSON and CSV.

    Args:
        result: what :func:`run_download_task` returned.
        folder: the output folder (created if missing).

    Returns:
        The paths of ``leaderboard.json`` and ``leaderboard.csv``.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rows = [result["row"], *result["published"]]
    json_path, csv_path = out / "leaderboard.json", out / "leaderboard.csv"
    json_path.write_text(json.dumps({"rows": rows, "details": result["details"]},
                                    indent=2, default=float) + "\n")
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LEADERBOARD_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return json_path, csv_path
