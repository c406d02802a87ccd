"""Resistive-memory liquid state machines and zero-shot cross-modal classification.

After "Resistive memory-based zero-shot liquid state machine for multimodal event data
learning": each modality has a fixed random LSM whose weights come from stochastic resistive
switching; only two small linear projections are trained, with a contrastive (CLIP-style,
symmetric InfoNCE) loss that pulls together the embeddings of an image and an utterance of
the same digit.  Classes are then recognised across modalities without a classifier for
that modality: an utterance is labelled by the nearest image prototype (mean image embedding
of a class) and an image by the nearest audio prototype.

Device model (:class:`ResistiveLSM`): every synapse of the LSM is a differential pair
``(g+, g-)`` on a preset of :mod:`hardware_models`.  The device carrying the synapse's sign is
switched by one stochastic SET to a random one of the preset's programmable levels (uniform
over ``[g_min, g_max]``), its partner is RESET to ``g_min``; both then get the preset's
programming noise (:func:`hardware_models.noise.program`).  The weight is
``2 w_nominal (g+ - g-) / (g_max - g_min)`` (mean about the nominal weight), clipped at zero
so that Dale's law holds.  Read noise: the engine cannot re-read weights at every step, so
the conductances are re-read (:func:`hardware_models.noise.read`, fresh normals) at the start
of every chunk of ``read_interval`` s and held within it; with ``read_interval = dt`` this is
exactly a read per step (slow), the default 50 ms is the approximation used in the benchmark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from ..results import SpikeTrains
from .lsm import LSM, LSMConfig
from .readout import LogisticReadout

__all__ = ["ResistiveLSM", "ZeroShotConfig", "train_projections", "zero_shot_accuracy",
           "zero_shot_experiment"]


class ResistiveLSM(LSM):
    """An :class:`LSM` whose weights are programmed on resistive devices (``preset``, a name
    or :class:`hardware_models.DevicePreset`), read with noise every ``read_interval`` s;
    ``t_read`` (s since programming) sets the read-noise level."""

    def __init__(self, config: LSMConfig, n_inputs: int, seed=None, *, preset="rram",
                 read_interval: float = 0.05, t_read: float = 60.0) -> None:
        from hardware_models import get_preset, noise

        super().__init__(config, n_inputs, seed)
        self.preset = get_preset(preset)
        if not (isinstance(read_interval, (int, float)) and math.isfinite(read_interval)
                and read_interval >= config.dt):
            raise ValueError(f"read_interval must be a number of seconds >= dt "
                             f"({config.dt:g}), got {read_interval!r}")
        self.read_interval = float(read_interval)
        self.t_read = float(t_read)
        gen = np.random.default_rng(np.random.default_rng(seed).integers(2**63))
        self._read_gen = np.random.default_rng(gen.integers(2**63))
        p = self.preset
        self.g_pos, self.g_neg, self.nominal = [], [], []
        for b in self.blocks:
            n = b.weights.size
            nominal = {"exc": config.w_exc, "inh": config.w_inh, "input": config.w_input}[b.pre]
            levels = p.levels or 256
            level = gen.integers(0, levels, n)
            g_set = p.g_min + level * (p.g_max - p.g_min) / (levels - 1)
            g_pos = noise.program(g_set, noise.draw_normals(self._normals_shape(n), gen), p)
            g_neg = noise.program(np.full(n, p.g_min),
                                  noise.draw_normals(self._normals_shape(n), gen), p)
            self.g_pos.append(np.asarray(g_pos, dtype=np.float64))
            self.g_neg.append(np.asarray(g_neg, dtype=np.float64))
            self.nominal.append(nominal * (-1.0 if b.pre == "inh" else 1.0))
        self.ideal_weights = [b.weights for b in self.blocks]
        self.blocks = [type(b)(b.pre, b.post, b.channel, b.pre_indices, b.post_indices, w)
                       for b, w in zip(self.blocks, self.read_weights(noisy=False))]
        self.apply_inhibitory_gain()

    def _normals_shape(self, n: int) -> tuple[int, ...]:
        return (2, n) if self.preset.device_variation > 0 else (n,)

    def read_weights(self, noisy: bool = True) -> list[np.ndarray]:
        """Weights (A) of every block from one read of the devices (noiseless if not
        ``noisy``)."""
        from hardware_models import noise

        p = self.preset
        out = []
        for g_pos, g_neg, nominal in zip(self.g_pos, self.g_neg, self.nominal):
            if noisy:
                g_pos = noise.read(g_pos, noise.draw_normals(g_pos.shape, self._read_gen),
                                   self.t_read, p)
                g_neg = noise.read(g_neg, noise.draw_normals(g_neg.shape, self._read_gen),
                                   self.t_read, p)
            m = np.maximum(2.0 * (np.asarray(g_pos) - np.asarray(g_neg)) / (p.g_max - p.g_min),
                           0.0)
            out.append(nominal * m)
        return out

    def run(self, times, units, duration: float, *, rng: int = 0, state=None):
        """As :meth:`LSM.run`, re-reading the devices every ``read_interval`` s; ``rng`` is an
        int seed here (the chunk starting at step ``k`` of the sample runs with seed
        ``rng + k``).  Returns an object with ``spikes`` (``exc``, ``inh``:
        :class:`~snn.SpikeTrains`), ``t_start`` and ``state``."""
        if not (isinstance(duration, (int, float)) and math.isfinite(duration)
                and duration > 0):
            raise ValueError(f"duration must be a finite number of seconds > 0, got {duration!r}")
        dt = self.config.dt
        n_steps = int(round(duration / dt))
        chunk = max(1, int(round(self.read_interval / dt)))
        parts = {"exc": [], "inh": []}
        t_start = None if state is None else state.step * dt
        done = 0
        while done < n_steps:
            steps = min(chunk, n_steps - done)
            self.set_weights(self.read_weights(noisy=True))
            res = super().run(times, units, steps * dt, rng=rng + done, state=state)
            t_start = res.t_start if t_start is None else t_start
            for name in parts:
                parts[name].append(res.spikes[name])
            state = res.state
            done += steps
        spikes = {name: SpikeTrains(
            times=np.concatenate([s.times for s in trains]),
            indices=np.concatenate([s.indices for s in trains]),
            size=trains[0].size, duration=n_steps * dt, t_start=t_start)
            for name, trains in parts.items()}
        return SimpleNamespace(spikes=spikes, t_start=t_start, state=state)


@dataclass(frozen=True)
class ZeroShotConfig:
    """Projections and contrastive training: ``embed_dim`` (width of the shared space),
    ``temperature`` of the InfoNCE logits, ``steps`` of Adam at ``learning_rate``, each step
    one pair per class (``pairs_per_class`` pairs of an utterance and an image of that
    class)."""

    embed_dim: int = 32
    temperature: float = 0.1
    steps: int = 300
    learning_rate: float = 1e-2
    pairs_per_class: int = 4
    weight_decay: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("embed_dim", "steps", "pairs_per_class"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        for name in ("temperature", "learning_rate"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")


def _standardise(train: np.ndarray, *others: np.ndarray):
    mean, std = train.mean(0), train.std(0) + 1e-6
    return [(x - mean) / std for x in (train, *others)]


def train_projections(feat_a: np.ndarray, labels_a: np.ndarray, feat_b: np.ndarray,
                      labels_b: np.ndarray, config: ZeroShotConfig | None = None,
                      seed: int = 0):
    """Two linear maps (torch ``Linear``) into a shared ``embed_dim`` space, trained with the
    symmetric InfoNCE loss on class-matched pairs drawn from ``(feat_a, labels_a)`` and
    ``(feat_b, labels_b)`` (standardised features ``[n, features]``).  Returns
    ``(proj_a, proj_b, losses)``."""
    import torch

    from .._random import make_linear

    config = ZeroShotConfig() if config is None else config
    classes = np.intersect1d(np.unique(labels_a), np.unique(labels_b))
    if classes.size < 2:
        raise ValueError("both modalities must share at least two classes")
    gen = np.random.default_rng(seed)
    init = torch.Generator().manual_seed(seed)
    proj_a = make_linear(feat_a.shape[1], config.embed_dim, init, dtype=torch.float64)
    proj_b = make_linear(feat_b.shape[1], config.embed_dim, init, dtype=torch.float64)
    opt = torch.optim.Adam([*proj_a.parameters(), *proj_b.parameters()],
                           lr=config.learning_rate, weight_decay=config.weight_decay)
    xa, xb = torch.from_numpy(feat_a), torch.from_numpy(feat_b)
    by_a = [np.flatnonzero(labels_a == c) for c in classes]
    by_b = [np.flatnonzero(labels_b == c) for c in classes]
    k = config.pairs_per_class
    pair_class = torch.from_numpy(np.repeat(np.arange(classes.size), k))
    # Pairs of the same class are positives of each other (no false negatives in a batch).
    positive = (pair_class[:, None] == pair_class[None, :]).double()
    positive = positive / positive.sum(1, keepdim=True)
    losses = []
    # Tiny matrices: one thread avoids most of torch's per-op threading overhead.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(config.steps):
            losses.append(_contrastive_step(proj_a, proj_b, opt, xa, xb, by_a, by_b, k,
                                            positive, config.temperature, gen))
    finally:
        torch.set_num_threads(threads)
    return proj_a, proj_b, np.array(losses)


def _contrastive_step(proj_a, proj_b, opt, xa, xb, by_a, by_b, k, positive, temperature,
                      gen) -> float:
    import torch

    ia = np.concatenate([gen.choice(idx, k) for idx in by_a])
    ib = np.concatenate([gen.choice(idx, k) for idx in by_b])
    za = torch.nn.functional.normalize(proj_a(xa[ia]), dim=1)
    zb = torch.nn.functional.normalize(proj_b(xb[ib]), dim=1)
    logits = za @ zb.T / temperature
    loss = 0.5 * (-(positive * logits.log_softmax(1)).sum(1).mean()
                  - (positive * logits.T.log_softmax(1)).sum(1).mean())
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def zero_shot_accuracy(proj_query, feat_query, labels_query, proj_ref, feat_ref,
                       labels_ref) -> float:
    """Accuracy of labelling each query (one modality) by the nearest class prototype
    (cosine) of the reference modality's embeddings."""
    import torch

    with torch.no_grad():
        zq = torch.nn.functional.normalize(proj_query(torch.from_numpy(feat_query)), dim=1)
        zr = torch.nn.functional.normalize(proj_ref(torch.from_numpy(feat_ref)), dim=1)
    classes = np.unique(labels_ref)
    protos = torch.stack([zr[torch.from_numpy(labels_ref == c)].mean(0) for c in classes])
    protos = torch.nn.functional.normalize(protos, dim=1)
    pred = classes[(zq @ protos.T).argmax(1).numpy()]
    return float(np.mean(pred == labels_query))


def zero_shot_experiment(audio_train, audio_test, image_train, image_test, *,
                         weights: str = "rram", lsm_config: LSMConfig | None = None,
                         zero_shot: ZeroShotConfig | None = None, audio_duration=1.0,
                         image_duration=0.06, n_windows: int = 4, read_interval: float = 0.05,
                         seed: int = 0, progress: bool = False) -> dict:
    """Both modalities (:class:`~snn.data.SpikeDataset` splits) through their own LSM
    (``weights``: ``"ideal"`` nominal weights or a :mod:`hardware_models` preset name such as
    ``"rram"``), linear probes of each LSM, contrastive projections, and zero-shot accuracy in
    both directions.  Returns a dict of accuracies in [0, 1] and the loss curve."""
    lsm_config = LSMConfig() if lsm_config is None else lsm_config
    zero_shot = ZeroShotConfig() if zero_shot is None else zero_shot
    datasets = (audio_train, audio_test, image_train, image_test)
    if any(len(d.labels) == 0 for d in datasets):
        raise ValueError("every split must hold at least one sample")
    if not isinstance(weights, str):
        raise TypeError(f"weights must be 'ideal' or a preset name, got {weights!r}")

    def make(n_inputs, s):
        if weights == "ideal":
            return LSM(lsm_config, n_inputs, seed=s)
        return ResistiveLSM(lsm_config, n_inputs, seed=s, preset=weights,
                            read_interval=read_interval)

    lsm_a = make(audio_train.n_channels, seed)
    lsm_i = make(image_train.n_channels, seed + 1000)
    fa_tr = lsm_a.transform(audio_train, audio_duration, n_windows, progress=progress)
    fa_te = lsm_a.transform(audio_test, audio_duration, n_windows, progress=progress)
    fi_tr = lsm_i.transform(image_train, image_duration, n_windows, progress=progress)
    fi_te = lsm_i.transform(image_test, image_duration, n_windows, progress=progress)
    fa_tr, fa_te = _standardise(fa_tr, fa_te)
    fi_tr, fi_te = _standardise(fi_tr, fi_te)
    ya_tr, ya_te = audio_train.labels, audio_test.labels
    yi_tr, yi_te = image_train.labels, image_test.labels
    probe_a = LogisticReadout(c=0.1).fit(fa_tr, ya_tr).score(fa_te, ya_te)
    probe_i = LogisticReadout(c=0.1).fit(fi_tr, yi_tr).score(fi_te, yi_te)
    pa, pi, losses = train_projections(fa_tr, ya_tr, fi_tr, yi_tr, zero_shot, seed)
    return {
        "weights": weights,
        "probe_audio": probe_a,
        "probe_image": probe_i,
        "audio_by_image_prototypes": zero_shot_accuracy(pa, fa_te, ya_te, pi, fi_tr, yi_tr),
        "image_by_audio_prototypes": zero_shot_accuracy(pi, fi_te, yi_te, pa, fa_tr, ya_tr),
        "loss_first": float(losses[0]),
        "loss_last": float(losses[-10:].mean()),
    }
