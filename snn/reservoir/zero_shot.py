"""Resistive-memory liquid state machines and zero-shot cross-modal retrieval.

After Lin et al., "Resistive memory-based zero-shot liquid state machine for multimodal event
data learning" (Nat. Comput. Sci. 2025; authors' code MrLinNing/MemristorLSM).  Protocol of
:func:`zero_shot_experiment`, as the paper defines it:

* one fixed random LSM per modality (200 LIF neurons by default), its weights drawn from the
  switching stochasticity of resistive memory (:class:`SwitchingLSM`: Gaussian conductances
  in differential pairs, so both signs; Dale's-law 80/20 E/I liquids remain an option);
* only two linear projections are trained, with the symmetric contrastive (CLIP / InfoNCE)
  loss on class-matched audio/image pairs of the training classes (1-7 by default);
* test: for every single test sample of a seen class and of an unseen class (8, 9 by
  default), the nearest sample of the other modality (cosine of the projected embeddings)
  among the candidates of all test classes (top-1 cross-modal retrieval), in both
  directions; digit 0 is left out, as in the paper; accuracies of seen and unseen queries are
  reported separately beside their chance levels (:func:`retrieval_chance`).

The authors' script ranks the candidates of the seen classes and of the unseen classes
separately (two test sets); ``candidates="group"`` does that.

:class:`ResistiveLSM` is this package's earlier device model (a Dale liquid whose devices are
set to random programmable levels of a :mod:`hardware_models` preset, re-read every
``read_interval``); :func:`zero_shot_accuracy` is the earlier prototype-based measure (class
means of labelled embeddings), kept for comparison; neither is the paper's protocol.

Device model of :class:`ResistiveLSM`: every synapse is a differential pair ``(g+, g-)``; the
device carrying the synapse's sign is switched by one stochastic SET to a random one of the
preset's programmable levels, its partner RESET to ``g_min``; both get the preset's
programming noise.  The weight is ``2 w_nominal (g+ - g-) / (g_max - g_min)``, clipped at zero
(Dale's law).  Read noise: the conductances are re-read at the start of every chunk of
``read_interval`` s and held within it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from .._random import int_seed, numpy_generator
from ..results import SpikeTrains
from ..validation import check_array, check_choice, check_int, check_positive, check_real
from .lsm import LSM, LSMConfig, spike_features

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from hardware_models import DevicePreset, SwitchingPreset

    from ..data.spikes import SpikeDataset
    from ..engine import EngineState

__all__ = ["SWITCHING_LSM", "ResistiveLSM", "SwitchingLSM", "ZeroShotConfig", "check_class_split",
           "retrieval_accuracy", "retrieval_chance", "retrieval_report", "switching_weights",
           "train_projections",
           "training_macs", "zero_shot_accuracy", "zero_shot_experiment"]


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
        raise ValueError(f"labels_a and labels_b must share at least two classes (pairs are "
                         f"class-matched); shared: {classes.tolist()}")
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



def switching_weights(n_synapses: int, preset: str | SwitchingPreset | None,
                      rng: int | np.random.Generator | None = None
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random signed weights from the switching stochasticity of differential pairs.

    Each synapse is a pair of devices whose conductances ``g+`` and ``g-`` are independent
    draws of the preset's ``N(g_mean, g_std)`` (clipped at ``g_floor``); its weight is
    ``(g+ - g-) / (sqrt(2) g_std)``: mean 0, standard deviation about 1, both signs.

    Args:
        n_synapses: number of synapses (>= 0).
        preset: a :class:`hardware_models.SwitchingPreset` or its name; None for the ideal
            law (weights ``N(0, 1)`` directly, no devices).
        rng: an int seed, a ``numpy.random.Generator`` or None.

    Returns:
        ``(weights, g_pos, g_neg)``, each ``[n_synapses]`` (dimensionless, S, S); the
        conductances are NaN for the ideal law.
    """
    n_synapses = check_int("n_synapses", n_synapses, minimum=0)
    gen = numpy_generator(rng)
    if preset is None:
        nan = np.full(n_synapses, np.nan)
        return gen.normal(0.0, 1.0, n_synapses), nan, nan.copy()
    from hardware_models import get_switching_preset

    p = get_switching_preset(preset)
    g_pos = np.maximum(gen.normal(p.g_mean, p.g_std, n_synapses), p.g_floor)
    g_neg = np.maximum(gen.normal(p.g_mean, p.g_std, n_synapses), p.g_floor)
    return (g_pos - g_neg) / (np.sqrt(2.0) * p.g_std), g_pos, g_neg


class SwitchingLSM(LSM):
    """A liquid of ``config.n_neurons`` LIF neurons in one population (``"liquid"``) whose
    recurrent and input weights come from :func:`switching_weights`: signed, no Dale's law.

    ``config.w_exc`` (A) scales the recurrent weights and ``config.w_input`` (A) the input
    weights (each the standard deviation of its weights); ``frac_exc``, ``w_inh`` and
    ``weight_spread`` are not used.  Same ``run`` / ``features`` / ``transform`` as
    :class:`LSM`.

    Args:
        config: the liquid's parameters.
        n_inputs: input channels (>= 1).
        rng: draws the structure, the conductances and the initial potentials: an int seed,
            a ``numpy.random.Generator`` or None.
        switching: a switching preset (name or :class:`hardware_models.SwitchingPreset`), or
            None for ideal Gaussian weights.

    Attributes: ``g_pos``, ``g_neg`` (S, per block, NaN for ideal weights) beside
    :class:`LSM`'s.
    """

    def __init__(self, config: LSMConfig, n_inputs: int,
                 rng: int | np.random.Generator | None = None, *,
                 switching: str | SwitchingPreset | None = "rram_switching") -> None:
        from ..network import random_pairs
        from .lsm import Synapses

        if not isinstance(config, LSMConfig):
            raise TypeError(f"config must be an LSMConfig, got {type(config).__name__}")
        self.config = config
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        self.switching = switching
        gen = numpy_generator(rng)
        n = config.n_neurons
        blocks, self.g_pos, self.g_neg = [], [], []
        for pre, n_pre, p, scale in (("liquid", n, config.p_recurrent, config.w_exc),
                                     ("input", self.n_inputs, config.p_input, config.w_input)):
            i, j = random_pairs(n_pre, n, p, gen)
            if pre == "liquid":
                keep = i != j
                i, j = i[keep], j[keep]
            w, g_pos, g_neg = switching_weights(i.size, switching, gen)
            blocks.append(Synapses(pre, "liquid", "exc", i, j, scale * w))
            self.g_pos.append(g_pos)
            self.g_neg.append(g_neg)
        self.blocks = blocks
        self.v_init = gen.uniform(config.neuron.v_reset, config.neuron.v_threshold, n)
        self.inhibitory_gain = np.ones(n)
        self.network = self._build_liquid()

    def _build_liquid(self):
        from ..network import Network

        c = self.config
        net = Network(dt=c.dt, max_delay=max(c.delay, c.dt))
        net.add_population("liquid", c.n_neurons, c.neuron, v_init=self.v_init)
        net.add_spike_source("input", self.n_inputs, np.zeros(0, np.int64), np.zeros(0))
        for b in self.blocks:
            net.connect(b.pre, b.post, b.weights, pre_indices=b.pre_indices,
                        post_indices=b.post_indices,
                        delays=0.0 if b.pre == "input" else c.delay, channel="exc")
        if c.bias_current:
            net.set_current("liquid", c.bias_current)
        net.monitor_spikes("liquid")
        return net

    def features(self, result, duration: float, n_windows: int = 4, kind: str = "counts",
                 tau_trace: float = 20e-3) -> np.ndarray:
        """Readout features of one run: ``[n_windows * n_neurons]``."""
        s = result.spikes["liquid"]
        return spike_features(s.times - result.t_start, s.indices, self.config.n_neurons,
                              duration, n_windows, kind, tau_trace)


def check_class_split(train_classes: Sequence[int] | np.ndarray,
                      unseen_classes: Sequence[int] | np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Validate a zero-shot split: two non-empty, disjoint sets of integer class labels.

    Args:
        train_classes: the classes whose pairs train the projections (>= 2 of them).
        unseen_classes: the classes never seen in training (>= 1).

    Returns:
        ``(train, unseen)`` as sorted int64 arrays.
    """
    train = np.unique(check_array("train_classes", train_classes, ndim=1, kind="iu",
                                  dtype=np.int64))
    unseen = np.unique(check_array("unseen_classes", unseen_classes, ndim=1, kind="iu",
                                   dtype=np.int64))
    if train.size < 2:
        raise ValueError(f"train_classes must hold at least two classes, got {train.tolist()}")
    if unseen.size < 1:
        raise ValueError("unseen_classes must hold at least one class")
    overlap = np.intersect1d(train, unseen)
    if overlap.size:
        raise ValueError(f"unseen_classes must not overlap train_classes; both hold "
                         f"{overlap.tolist()}")
    return train, unseen


def _unit_rows(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def retrieval_accuracy(query: np.ndarray, query_labels: np.ndarray, candidates: np.ndarray,
                       candidate_labels: np.ndarray) -> float:
    """Top-1 cross-modal retrieval: the share of queries whose most similar candidate
    (cosine similarity) has the query's label.

    Args:
        query: query embeddings ``[n_query, d]``.
        query_labels: their labels ``[n_query]``.
        candidates: candidate embeddings of the other modality ``[n_candidates, d]``.
        candidate_labels: their labels ``[n_candidates]``.

    Returns:
        The accuracy in ``[0, 1]``.
    """
    q = check_array("query", query, ndim=2, kind="f", dtype=np.float64)
    c = check_array("candidates", candidates, shape=(None, q.shape[1]), kind="f",
                    dtype=np.float64)
    yq = check_array("query_labels", query_labels, shape=(q.shape[0],), kind="iu")
    yc = check_array("candidate_labels", candidate_labels, shape=(c.shape[0],), kind="iu")
    if q.shape[0] == 0 or c.shape[0] == 0:
        raise ValueError("query and candidates must each hold at least one embedding")
    best = (_unit_rows(q) @ _unit_rows(c).T).argmax(1)
    return float(np.mean(yc[best] == yq))


def retrieval_chance(query_labels: np.ndarray, candidate_labels: np.ndarray) -> float:
    """Expected top-1 accuracy of a random choice among the candidates: the mean over
    queries of the share of candidates with the query's label.

    Args:
        query_labels: labels of the queries ``[n_query]``.
        candidate_labels: labels of the candidates ``[n_candidates]`` (non-empty).

    Returns:
        The chance level in ``[0, 1]``.
    """
    yq = check_array("query_labels", query_labels, ndim=1, kind="iu")
    yc = check_array("candidate_labels", candidate_labels, ndim=1, kind="iu")
    if yc.size == 0 or yq.size == 0:
        raise ValueError("query_labels and candidate_labels must be non-empty")
    classes, counts = np.unique(yc, return_counts=True)
    share = dict(zip(classes.tolist(), (counts / yc.size).tolist()))
    return float(np.mean([share.get(int(y), 0.0) for y in yq]))


def retrieval_report(za: np.ndarray, ya: np.ndarray, zi: np.ndarray, yi: np.ndarray,
                     train_classes: np.ndarray, unseen_classes: np.ndarray,
                     candidates: str) -> dict:
    """Top-1 cross-modal retrieval of the seen and the unseen classes, both ways, with the
    chance level of each.

    Args:
        za, ya: audio embeddings ``[n_audio, d]`` and their labels ``[n_audio]``.
        zi, yi: image embeddings ``[n_image, d]`` and their labels ``[n_image]``.
        train_classes: the classes seen in training.
        unseen_classes: the held-out classes.
        candidates: ``"all"`` (every test sample of the other modality is a candidate) or
            ``"group"`` (only those of the query's group).

    Returns:
        ``{"seen": {...}, "unseen": {...}}``, each with ``audio_to_image``,
        ``image_to_audio``, their ``chance_*`` levels and the query counts.
    """
    report = {}
    for group, classes in (("seen", train_classes), ("unseen", unseen_classes)):
        qa, qi = np.isin(ya, classes), np.isin(yi, classes)
        ca, ci = (qa, qi) if candidates == "group" else (np.ones_like(qa), np.ones_like(qi))
        report[group] = {
            "audio_to_image": retrieval_accuracy(za[qa], ya[qa], zi[ci], yi[ci]),
            "image_to_audio": retrieval_accuracy(zi[qi], yi[qi], za[ca], ya[ca]),
            "chance_audio_to_image": retrieval_chance(ya[qa], yi[ci]),
            "chance_image_to_audio": retrieval_chance(yi[qi], ya[ca]),
            "n_queries_audio": int(qa.sum()), "n_queries_image": int(qi.sum()),
        }
    return report


def training_macs(n_features: int, embed_dim: int) -> int:
    """Multiply-accumulates to train one linear projection on one sample: the forward
    product (``n_features x embed_dim``) plus the backward weight gradient (the same count);
    the input gradient is not needed (the LSM before it is fixed).

    Args:
        n_features: input width (>= 1).
        embed_dim: output width (>= 1).

    Returns:
        The MAC count per sample.
    """
    n_features = check_int("n_features", n_features, minimum=1)
    embed_dim = check_int("embed_dim", embed_dim, minimum=1)
    return 2 * n_features * embed_dim


ENCODERS = ("switching", "gaussian", "dale")


def _make_encoder(encoder: str, switching, config: LSMConfig, n_inputs: int, seed: int):
    if encoder == "dale":
        return LSM(config, n_inputs, rng=seed)
    return SwitchingLSM(config, n_inputs, rng=seed,
                        switching=switching if encoder == "switching" else None)


def _pick(dataset: SpikeDataset, classes: np.ndarray, per_class: int | None,
          gen: np.random.Generator) -> np.ndarray:
    out = []
    for c in classes:
        idx = np.flatnonzero(dataset.labels == c)
        if per_class is not None and idx.size > per_class:
            idx = np.sort(gen.choice(idx, per_class, replace=False))
        out.append(idx)
    return np.concatenate(out)


def zero_shot_experiment(audio_train: SpikeDataset, audio_test: SpikeDataset,
                         image_train: SpikeDataset, image_test: SpikeDataset, *,
                         encoder: str = "switching",
                         switching: str | SwitchingPreset = "rram_switching",
                         lsm_config: LSMConfig | None = None,
                         zero_shot: ZeroShotConfig | None = None,
                         train_classes: Sequence[int] = (1, 2, 3, 4, 5, 6, 7),
                         unseen_classes: Sequence[int] = (8, 9),
                         candidates: str = "all", test_per_class: int | None = None,
                         audio_duration: float = 1.0, image_duration: float = 0.06,
                         n_windows: int = 4, rng: int | np.random.Generator | None = 0,
                         progress: bool = False) -> dict:
    """The paper's zero-shot protocol (module docstring): fixed random LSMs, contrastive
    projections trained on ``train_classes`` only, top-1 cross-modal retrieval of seen and
    unseen test samples, in both directions.

    Args:
        audio_train: audio training split (a :class:`~snn.data.SpikeDataset`).
        audio_test: audio test split.
        image_train: image training split.
        image_test: image test split.
        encoder: ``"switching"`` (weights from ``switching``, the default), ``"gaussian"``
            (the same law without devices) or ``"dale"`` (80/20 E/I liquid, ideal weights).
        switching: the switching preset (name or instance) of ``encoder="switching"``.
        lsm_config: the liquids' parameters (default ``LSMConfig(n_neurons=200)`` with the
            weight scales of :data:`SWITCHING_LSM` for the signed liquids).
        zero_shot: the projection training settings (default :class:`ZeroShotConfig`).
        train_classes: classes of the training pairs.
        unseen_classes: classes only met at test (disjoint from ``train_classes``); classes
            in neither (digit 0 by default) are left out everywhere.
        candidates: ``"all"``: each query ranks the other modality's test samples of all
            test classes; ``"group"``: seen queries rank seen candidates, unseen queries
            unseen candidates (the authors' script).
        test_per_class: at most this many test samples per class and modality (None: all).
        audio_duration: simulated time per audio sample (s).
        image_duration: simulated time per image sample (s).
        n_windows: readout windows per sample.
        rng: an int seed ``s``: the audio LSM is drawn from ``s``, the image LSM from
            ``s + 1000``, the projections and the test subsets from ``s``.
        progress: show a progress bar per transform.

    Returns:
        A dict with ``seen`` and ``unseen``, each ``{"audio_to_image", "image_to_audio",
        "chance_audio_to_image", "chance_image_to_audio", "n_queries_audio",
        "n_queries_image"}`` (accuracies in [0, 1]); ``candidates_group`` (with
        ``candidates="all"``) or ``candidates_all`` (with ``"group"``): ``{"seen",
        "unseen"}`` of the other ranking of the same embeddings; ``loss_first``,
        ``loss_last``; ``training_macs_per_pair`` (both projections, one pair);
        ``n_trained_parameters``; ``encoder``, ``candidates``, ``train_classes``,
        ``unseen_classes``.
    """
    check_choice("encoder", encoder, ENCODERS)
    check_choice("candidates", candidates, ("all", "group"))
    train_cls, unseen_cls = check_class_split(train_classes, unseen_classes)
    if test_per_class is not None:
        test_per_class = check_int("test_per_class", test_per_class, minimum=1)
    lsm_config = SWITCHING_LSM if lsm_config is None else lsm_config
    zero_shot = ZeroShotConfig() if zero_shot is None else zero_shot
    for name, d in (("audio_train", audio_train), ("image_train", image_train)):
        missing = np.setdiff1d(train_cls, d.labels)
        if missing.size:
            raise ValueError(f"{name} holds no sample of training classes {missing.tolist()}")
    for name, d in (("audio_test", audio_test), ("image_test", image_test)):
        missing = np.setdiff1d(np.concatenate([train_cls, unseen_cls]), d.labels)
        if missing.size:
            raise ValueError(f"{name} holds no sample of test classes {missing.tolist()}")
    seed = int_seed(rng)
    gen = np.random.default_rng(seed)
    test_cls = np.concatenate([train_cls, unseen_cls])
    a_tr = audio_train.subset(_pick(audio_train, train_cls, None, gen))
    i_tr = image_train.subset(_pick(image_train, train_cls, None, gen))
    a_te = audio_test.subset(_pick(audio_test, test_cls, test_per_class, gen))
    i_te = image_test.subset(_pick(image_test, test_cls, test_per_class, gen))
    lsm_a = _make_encoder(encoder, switching, lsm_config, audio_train.n_channels, seed)
    lsm_i = _make_encoder(encoder, switching, lsm_config, image_train.n_channels, seed + 1000)
    fa_tr = lsm_a.transform(a_tr, audio_duration, n_windows, progress=progress)
    fa_te = lsm_a.transform(a_te, audio_duration, n_windows, progress=progress)
    fi_tr = lsm_i.transform(i_tr, image_duration, n_windows, progress=progress)
    fi_te = lsm_i.transform(i_te, image_duration, n_windows, progress=progress)
    fa_tr, fa_te = _standardise(fa_tr, fa_te)
    fi_tr, fi_te = _standardise(fi_tr, fi_te)
    pa, pi, losses = train_projections(fa_tr, a_tr.labels, fi_tr, i_tr.labels, zero_shot,
                                       rng=seed)
    za, zi = _embed(pa, fa_te), _embed(pi, fi_te)
    ya, yi = a_te.labels, i_te.labels
    out = {"encoder": encoder, "candidates": candidates,
           "train_classes": train_cls.tolist(), "unseen_classes": unseen_cls.tolist()}
    out.update(retrieval_report(za, ya, zi, yi, train_cls, unseen_cls, candidates))
    # The same embeddings ranked the other way: both evaluations of one trained model.
    other = "group" if candidates == "all" else "all"
    out[f"candidates_{other}"] = retrieval_report(za, ya, zi, yi, train_cls, unseen_cls, other)
    d = zero_shot.embed_dim
    out["training_macs_per_pair"] = (training_macs(fa_tr.shape[1], d)
                                     + training_macs(fi_tr.shape[1], d))
    out["n_trained_parameters"] = int(sum(p.numel() for m in (pa, pi) for p in m.parameters()))
    out["loss_first"] = float(losses[0])
    out["loss_last"] = float(losses[-10:].mean())
    return out


def _embed(proj, features: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return proj(torch.from_numpy(features)).numpy()


SWITCHING_LSM = LSMConfig(n_neurons=200, p_recurrent=0.1, p_input=0.2, w_exc=60e-12,
                          w_input=800e-12)
"""Default liquid of :func:`zero_shot_experiment`: 200 LIF neurons (as the paper), 10 %
recurrent and 20 % input connectivity; signed weights of standard deviation 60 pA
(recurrent) and 800 pA (input) for :class:`SwitchingLSM` (our scales: mean rates of about
14 Hz on the digits events and 22 Hz on the FSDD spikes; with 300 pA the image liquid fired
at 2 Hz and met unseen classes at 0 %)."""
