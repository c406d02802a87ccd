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

from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from .._random import int_seed, numpy_generator
from ..results import SpikeTrains
from ..validation import check_array, check_int, check_positive, check_real
from .lsm import LSM, LSMConfig
from .readout import LogisticReadout

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from hardware_models import DevicePreset

    from ..data.spikes import SpikeDataset
    from ..engine import EngineState

__all__ = ["ResistiveLSM", "ZeroShotConfig", "train_projections", "zero_shot_accuracy",
           "zero_shot_experiment"]


class ResistiveLSM(LSM):
    """An :class:`LSM` whose weights are programmed on resistive devices.

    Args:
        config: the liquid's parameters.
        n_inputs: input channels (>= 1).
        rng: draws the liquid (as in :class:`LSM`), then the device levels, programming
            noise and read noise: an int seed, a ``numpy.random.Generator`` or None.  An
            int seed ``s`` draws the devices from a generator seeded by the first integer of
            ``numpy.random.default_rng(s)``; a Generator is drawn on in that order.
        preset: a :mod:`hardware_models` preset name or ``DevicePreset``.
        read_interval: the devices are re-read every ``read_interval`` s (>= ``config.dt``).
        t_read: time since programming (s, >= 0) that sets the read-noise level.
    """

    def __init__(self, config: LSMConfig, n_inputs: int,
                 rng: int | np.random.Generator | None = None, *,
                 preset: str | DevicePreset = "rram",
                 read_interval: float = 0.05, t_read: float = 60.0) -> None:
        from hardware_models import get_preset, noise

        super().__init__(config, n_inputs, rng)
        self.preset = get_preset(preset)
        self.read_interval = check_real("read_interval", read_interval, minimum=config.dt,
                                        unit="s")
        self.t_read = check_real("t_read", t_read, minimum=0.0, unit="s")
        gen = np.random.default_rng(numpy_generator(rng).integers(2**63))
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

    def run(self, times: np.ndarray, units: np.ndarray, duration: float, *,
            rng: int | np.random.Generator | None = 0,
            state: EngineState | None = None) -> SimpleNamespace:
        """As :meth:`LSM.run`, re-reading the devices every ``read_interval`` s.

        Args:
            times: input spike times (s) ``[n_spikes]``.
            units: their input channels ``[n_spikes]``.
            duration: simulated time (s, > 0).
            state: the state to continue from, as in :meth:`LSM.run`.
            rng: the run is cut into chunks of ``read_interval``; the chunk starting at step
                ``k`` of the sample runs with seed ``s + k``, where ``s`` is ``rng`` itself
                for an int, one integer drawn from it for a ``numpy.random.Generator``, or
                one from fresh entropy for None.

        Returns:
            An object with ``spikes`` (``exc``, ``inh``: :class:`~snn.SpikeTrains`),
            ``t_start`` (s) and ``state``.
        """
        check_positive("duration", duration, unit="s")
        base_seed = int_seed(rng)
        dt = self.config.dt
        n_steps = int(round(duration / dt))
        chunk = max(1, int(round(self.read_interval / dt)))
        parts = {"exc": [], "inh": []}
        t_start = None if state is None else state.step * dt
        done = 0
        while done < n_steps:
            steps = min(chunk, n_steps - done)
            self.set_weights(self.read_weights(noisy=True))
            res = super().run(times, units, steps * dt, rng=base_seed + done, state=state)
            t_start = res.t_start if t_start is None else t_start
            for name in parts:
                parts[name].append(res.spikes[name])
            state = res.state
            done += steps
        spikes = {name: SpikeTrains(
            times=np.concatenate([s.times for s in trains]),
            indices=np.concatenate([s.indices for s in trains]),
            n_neurons=trains[0].n_neurons, duration=n_steps * dt, t_start=t_start)
            for name, trains in parts.items()}
        return SimpleNamespace(spikes=spikes, t_start=t_start, state=state)


@dataclass(frozen=True)
class ZeroShotConfig:
    """Projections and contrastive training.

    Args:
        embed_dim: width of the shared embedding space (>= 1).
        temperature: temperature of the InfoNCE logits (> 0).
        steps: Adam steps (>= 1), each on ``pairs_per_class`` pairs of an utterance and an
            image of every class.
        learning_rate: Adam's learning rate (> 0).
        pairs_per_class: pairs per class and step (>= 1).
        weight_decay: Adam's weight decay (>= 0).
    """

    embed_dim: int = 32
    temperature: float = 0.1
    steps: int = 300
    learning_rate: float = 1e-2
    pairs_per_class: int = 4
    weight_decay: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("embed_dim", "steps", "pairs_per_class"):
            check_int(f"ZeroShotConfig.{name}", getattr(self, name), minimum=1)
        for name in ("temperature", "learning_rate"):
            check_positive(f"ZeroShotConfig.{name}", getattr(self, name))
        check_real("ZeroShotConfig.weight_decay", self.weight_decay, minimum=0.0)


def _standardise(train: np.ndarray, *others: np.ndarray):
    mean, std = train.mean(0), train.std(0) + 1e-6
    return [(x - mean) / std for x in (train, *others)]


def train_projections(feat_a: np.ndarray, labels_a: np.ndarray, feat_b: np.ndarray,
                      labels_b: np.ndarray, config: ZeroShotConfig | None = None,
                      rng: int | np.random.Generator | None = 0
                      ) -> tuple[torch.nn.Linear, torch.nn.Linear, np.ndarray]:
    """Two linear maps (torch ``Linear``) into a shared ``embed_dim`` space, trained with the
    symmetric InfoNCE loss on class-matched pairs.

    Args:
        feat_a: standardised features of modality a ``[n_a, features_a]`` (float64).
        labels_a: their integer labels ``[n_a]``.
        feat_b: standardised features of modality b ``[n_b, features_b]`` (float64).
        labels_b: their integer labels ``[n_b]``; at least two classes must be shared.
        config: the training settings (default :class:`ZeroShotConfig`).
        rng: an int seed ``s`` (or a ``numpy.random.Generator`` / None, from which one is
            drawn): the initial weights come from ``torch.Generator().manual_seed(s)``, the
            pairs from ``numpy.random.default_rng(s)``.

    Returns:
        ``(proj_a, proj_b, losses)``: the two ``torch.nn.Linear`` maps and the loss of every
        step ``[config.steps]``.
    """
    import torch

    from .._random import make_linear

    config = ZeroShotConfig() if config is None else config
    if not isinstance(config, ZeroShotConfig):
        raise TypeError(f"config must be a ZeroShotConfig, got {type(config).__name__}")
    feat_a = check_array("feat_a", feat_a, ndim=2, kind="f", dtype=np.float64)
    feat_b = check_array("feat_b", feat_b, ndim=2, kind="f", dtype=np.float64)
    labels_a = check_array("labels_a", labels_a, shape=(feat_a.shape[0],), kind="iu")
    labels_b = check_array("labels_b", labels_b, shape=(feat_b.shape[0],), kind="iu")
    classes = np.intersect1d(np.unique(labels_a), np.unique(labels_b))
    if classes.size < 2:
        raise ValueError("both modalities must share at least two classes")
    seed = int_seed(rng)
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


def zero_shot_accuracy(proj_query: torch.nn.Module, feat_query: np.ndarray,
                       labels_query: np.ndarray, proj_ref: torch.nn.Module,
                       feat_ref: np.ndarray, labels_ref: np.ndarray) -> float:
    """Accuracy of labelling each query (one modality) by the nearest class prototype
    (cosine) of the reference modality's embeddings.

    Args:
        proj_query: the projection of the query modality (from :func:`train_projections`).
        feat_query: its features ``[n_query, features_q]`` (float64).
        labels_query: their integer labels ``[n_query]``.
        proj_ref: the projection of the reference modality.
        feat_ref: its features ``[n_ref, features_r]`` (float64).
        labels_ref: their integer labels ``[n_ref]``.

    Returns:
        The accuracy in ``[0, 1]``.
    """
    import torch

    with torch.no_grad():
        zq = torch.nn.functional.normalize(proj_query(torch.from_numpy(feat_query)), dim=1)
        zr = torch.nn.functional.normalize(proj_ref(torch.from_numpy(feat_ref)), dim=1)
    classes = np.unique(labels_ref)
    protos = torch.stack([zr[torch.from_numpy(labels_ref == c)].mean(0) for c in classes])
    protos = torch.nn.functional.normalize(protos, dim=1)
    pred = classes[(zq @ protos.T).argmax(1).numpy()]
    return float(np.mean(pred == labels_query))


def zero_shot_experiment(audio_train: SpikeDataset, audio_test: SpikeDataset,
                         image_train: SpikeDataset, image_test: SpikeDataset, *,
                         weights: str = "rram", lsm_config: LSMConfig | None = None,
                         zero_shot: ZeroShotConfig | None = None,
                         audio_duration: float = 1.0,
                         image_duration: float = 0.06, n_windows: int = 4,
                         read_interval: float = 0.05,
                         rng: int | np.random.Generator | None = 0,
                         progress: bool = False) -> dict:
    """Both modalities through their own LSM, linear probes of each LSM, contrastive
    projections, and zero-shot accuracy in both directions.

    Args:
        audio_train: the audio training split (a :class:`~snn.data.SpikeDataset`).
        audio_test: the audio test split.
        image_train: the image training split.
        image_test: the image test split.
        weights: ``"ideal"`` (nominal weights) or a :mod:`hardware_models` preset name such
            as ``"rram"``.
        lsm_config: the liquids' parameters (default :class:`LSMConfig`).
        zero_shot: the projection training settings (default :class:`ZeroShotConfig`).
        audio_duration: simulated time per audio sample (s).
        image_duration: simulated time per image sample (s).
        n_windows: readout windows per sample.
        read_interval: device re-read interval (s) of resistive liquids.
        rng: an int seed ``s`` (or a ``numpy.random.Generator`` / None, from which one is
            drawn): the audio liquid is drawn from ``s``, the image liquid from ``s + 1000``,
            the projections from ``s``.
        progress: show a progress bar per transform.

    Returns:
        A dict: ``probe_audio``, ``probe_image``, ``audio_by_image_prototypes``,
        ``image_by_audio_prototypes`` (accuracies in [0, 1]), ``loss_first``, ``loss_last``
        and ``weights``.
    """
    lsm_config = LSMConfig() if lsm_config is None else lsm_config
    zero_shot = ZeroShotConfig() if zero_shot is None else zero_shot
    datasets = (audio_train, audio_test, image_train, image_test)
    if any(len(d.labels) == 0 for d in datasets):
        raise ValueError("every split must hold at least one sample")
    if not isinstance(weights, str):
        raise TypeError(f"weights must be 'ideal' or a preset name, got {weights!r}")
    seed = int_seed(rng)

    def make(n_inputs, s):
        if weights == "ideal":
            return LSM(lsm_config, n_inputs, rng=s)
        return ResistiveLSM(lsm_config, n_inputs, rng=s, preset=weights,
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
    pa, pi, losses = train_projections(fa_tr, ya_tr, fi_tr, yi_tr, zero_shot, rng=seed)
    return {
        "weights": weights,
        "probe_audio": probe_a,
        "probe_image": probe_i,
        "audio_by_image_prototypes": zero_shot_accuracy(pa, fa_te, ya_te, pi, fi_tr, yi_tr),
        "image_by_audio_prototypes": zero_shot_accuracy(pi, fi_te, yi_te, pa, fa_tr, ya_tr),
        "loss_first": float(losses[0]),
        "loss_last": float(losses[-10:].mean()),
    }
