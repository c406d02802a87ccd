"""The jointly trained baseline of the zero-shot LSM: a spiking recurrent network per modality,
trained end to end (input, recurrent and projection weights) with the same symmetric
contrastive loss, on the same split (the paper's "SRNN-CLIP").

Each modality's encoder is one recurrent layer of ``n_hidden`` LIF units over binned input
``x[t]`` (``[T, B, n_inputs]``, bins of ``dt``):

    v[t] = beta v[t-1] + W_in x[t] + W_rec s[t-1] - theta s[t-1],   s[t] = H(v[t] - theta),

with ``beta = exp(-dt / tau_mem)``, subtractive reset and a fast-sigmoid surrogate gradient
(:mod:`snn.layers.surrogate`); the embedding is a linear map of the spike counts in
``n_windows`` equal windows.  Evaluation is the retrieval of
:func:`snn.reservoir.zero_shot.zero_shot_experiment` (same keys).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._random import int_seed
from ..validation import check_choice, check_int, check_positive
from .zero_shot import (
    ZeroShotConfig,
    _pick,
    check_class_split,
    retrieval_report,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..data.spikes import SpikeDataset

__all__ = ["SRNNClipConfig", "srnn_clip_experiment", "srnn_training_macs"]


@dataclass(frozen=True)
class SRNNClipConfig:
    """Spiking recurrent encoders trained end to end.

    Args:
        n_hidden: recurrent LIF units per modality (>= 1; 200 as the LSM).
        audio_dt: bin width of the audio input (s, > 0).
        image_dt: bin width of the image input (s, > 0).
        tau_mem: membrane time constant (s, > 0).
        threshold: firing threshold (dimensionless, > 0).
        n_windows: spike-count windows per sample that the projection reads (>= 1).
        input_scale: standard deviation of the initial input weights times
            ``sqrt(n_inputs)`` (> 0).
        recurrent_scale: the same for the recurrent weights, times ``sqrt(n_hidden)`` (> 0).
        seed: default seed of the initial weights and the pairs.
    """

    n_hidden: int = 200
    audio_dt: float = 20e-3
    image_dt: float = 2e-3
    tau_mem: float = 20e-3
    threshold: float = 1.0
    n_windows: int = 2
    input_scale: float = 3.0
    recurrent_scale: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_hidden", "n_windows"):
            check_int(f"SRNNClipConfig.{name}", getattr(self, name), minimum=1)
        for name in ("audio_dt", "image_dt", "tau_mem"):
            check_positive(f"SRNNClipConfig.{name}", getattr(self, name), unit="s")
        for name in ("threshold", "input_scale", "recurrent_scale"):
            check_positive(f"SRNNClipConfig.{name}", getattr(self, name))
        check_int("SRNNClipConfig.seed", self.seed)


def srnn_training_macs(n_inputs: int, n_hidden: int, n_steps: int, n_windows: int,
                       embed_dim: int) -> int:
    """Multiply-accumulates to train one encoder and its projection on one sample.

    Forward: ``n_steps (n_inputs + n_hidden) n_hidden`` for the recurrent layer plus
    ``n_windows n_hidden embed_dim`` for the projection; the backward pass through time
    costs about twice the forward (input gradient and weight gradient of every product).

    Args:
        n_inputs: input channels (>= 1).
        n_hidden: recurrent units (>= 1).
        n_steps: time steps per sample (>= 1).
        n_windows: count windows read by the projection (>= 1).
        embed_dim: embedding width (>= 1).

    Returns:
        The MAC count per sample (forward + backward).
    """
    for name, value in (("n_inputs", n_inputs), ("n_hidden", n_hidden), ("n_steps", n_steps),
                        ("n_windows", n_windows), ("embed_dim", embed_dim)):
        check_int(name, value, minimum=1)
    forward = n_steps * (n_inputs + n_hidden) * n_hidden + n_windows * n_hidden * embed_dim
    return 3 * forward


def _binned(dataset: SpikeDataset, dt: float, duration: float):
    import torch

    from ..data.binning import bin_spikes

    n_steps = max(1, int(math.ceil(duration / dt - 1e-9)))
    counts = bin_spikes(dataset, dt, n_steps=n_steps).counts  # [N, T, C] uint8
    return torch.from_numpy(np.ascontiguousarray(counts.transpose(1, 0, 2))).float()


class _Encoder:
    """One modality: recurrent LIF layer + linear projection of windowed spike counts."""

    def __init__(self, n_inputs: int, config: SRNNClipConfig, embed_dim: int, dt: float,
                 gen) -> None:
        import torch

        h = config.n_hidden
        self.beta = math.exp(-dt / config.tau_mem)
        self.threshold = config.threshold
        self.n_windows = config.n_windows
        self.w_in = (torch.randn(n_inputs, h, generator=gen, dtype=torch.float32)
                     * (config.input_scale / math.sqrt(n_inputs))).requires_grad_()
        self.w_rec = (torch.randn(h, h, generator=gen, dtype=torch.float32)
                      * (config.recurrent_scale / math.sqrt(h))).requires_grad_()
        bound = 1.0 / math.sqrt(config.n_windows * h)
        self.w_out = ((torch.rand(config.n_windows * h, embed_dim, generator=gen) * 2 - 1)
                      * bound).requires_grad_()
        self.b_out = torch.zeros(embed_dim, requires_grad=True)

    def parameters(self) -> list:
        return [self.w_in, self.w_rec, self.w_out, self.b_out]

    def __call__(self, x):
        import torch

        from ..layers.surrogate import Surrogate, spike

        surrogate = Surrogate("fast_sigmoid", 10.0)
        n_steps, batch, _ = x.shape
        drive = x @ self.w_in  # [T, B, H], all steps at once
        v = torch.zeros(batch, self.w_rec.shape[0])
        s = torch.zeros_like(v)
        spikes = []
        for t in range(n_steps):
            v = self.beta * v + drive[t] + s @ self.w_rec - self.threshold * s
            s = spike(v - self.threshold, surrogate)
            spikes.append(s)
        counts = torch.stack(spikes)  # [T, B, H]
        edges = np.linspace(0, n_steps, self.n_windows + 1).round().astype(int)
        windows = [counts[a:b].sum(0) for a, b in zip(edges[:-1], edges[1:])]
        return torch.cat(windows, 1) @ self.w_out + self.b_out


def srnn_clip_experiment(audio_train: SpikeDataset, audio_test: SpikeDataset,
                         image_train: SpikeDataset, image_test: SpikeDataset, *,
                         config: SRNNClipConfig | None = None,
                         zero_shot: ZeroShotConfig | None = None,
                         train_classes: Sequence[int] = (1, 2, 3, 4, 5, 6, 7),
                         unseen_classes: Sequence[int] = (8, 9), candidates: str = "all",
                         test_per_class: int | None = None, audio_duration: float = 1.0,
                         image_duration: float = 0.06,
                         rng: int | np.random.Generator | None = None) -> dict:
    """Train the two spiking recurrent encoders end to end with the contrastive loss on
    ``train_classes`` pairs; test by top-1 cross-modal retrieval as
    :func:`~snn.reservoir.zero_shot.zero_shot_experiment`.

    Args:
        audio_train: audio training split.
        audio_test: audio test split.
        image_train: image training split.
        image_test: image test split.
        config: the encoders (default :class:`SRNNClipConfig`).
        zero_shot: loss and optimiser settings (``embed_dim``, ``temperature``, ``steps``,
            ``learning_rate``, ``pairs_per_class``, ``weight_decay``).
        train_classes: classes of the training pairs.
        unseen_classes: classes only met at test (disjoint from ``train_classes``).
        candidates: ``"all"`` or ``"group"``, as in ``zero_shot_experiment``.
        test_per_class: at most this many test samples per class and modality.
        audio_duration: audio time binned per sample (s).
        image_duration: image time binned per sample (s).
        rng: seed of the initial weights, the pairs and the test subsets (None:
            ``config.seed``).

    Returns:
        The keys of ``zero_shot_experiment`` (``seen``, ``unseen``, ``candidates_group`` or
        ``candidates_all``, ``loss_first``, ``loss_last``, ``n_trained_parameters``) with
        ``training_macs_per_pair`` from :func:`srnn_training_macs` for both encoders.
    """
    import torch

    config = SRNNClipConfig() if config is None else config
    zero_shot = ZeroShotConfig() if zero_shot is None else zero_shot
    check_choice("candidates", candidates, ("all", "group"))
    train_cls, unseen_cls = check_class_split(train_classes, unseen_classes)
    seed = config.seed if rng is None else int_seed(rng)
    gen = np.random.default_rng(seed)
    tgen = torch.Generator().manual_seed(seed)
    test_cls = np.concatenate([train_cls, unseen_cls])
    a_tr = audio_train.subset(_pick(audio_train, train_cls, None, gen))
    i_tr = image_train.subset(_pick(image_train, train_cls, None, gen))
    a_te = audio_test.subset(_pick(audio_test, test_cls, test_per_class, gen))
    i_te = image_test.subset(_pick(image_test, test_cls, test_per_class, gen))
    xa_tr, xa_te = (_binned(d, config.audio_dt, audio_duration) for d in (a_tr, a_te))
    xi_tr, xi_te = (_binned(d, config.image_dt, image_duration) for d in (i_tr, i_te))
    d = zero_shot.embed_dim
    enc_a = _Encoder(audio_train.n_channels, config, d, config.audio_dt, tgen)
    enc_i = _Encoder(image_train.n_channels, config, d, config.image_dt, tgen)
    params = enc_a.parameters() + enc_i.parameters()
    opt = torch.optim.Adam(params, lr=zero_shot.learning_rate,
                           weight_decay=zero_shot.weight_decay)
    by_a = [np.flatnonzero(a_tr.labels == c) for c in train_cls]
    by_i = [np.flatnonzero(i_tr.labels == c) for c in train_cls]
    k = zero_shot.pairs_per_class
    pair_class = torch.from_numpy(np.repeat(np.arange(train_cls.size), k))
    positive = (pair_class[:, None] == pair_class[None, :]).float()
    positive = positive / positive.sum(1, keepdim=True)
    losses: list[float] = []
    # Small matrices: one thread avoids most of torch's per-op threading overhead.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _train(enc_a, enc_i, opt, xa_tr, xi_tr, by_a, by_i, k, positive, zero_shot.temperature,
               zero_shot.steps, gen, losses)
        with torch.no_grad():
            za, zi = enc_a(xa_te).double().numpy(), enc_i(xi_te).double().numpy()
    finally:
        torch.set_num_threads(threads)
    ya, yi = a_te.labels, i_te.labels
    out = {"encoder": "srnn", "candidates": candidates,
           "train_classes": train_cls.tolist(), "unseen_classes": unseen_cls.tolist()}
    out.update(retrieval_report(za, ya, zi, yi, train_cls, unseen_cls, candidates))
    other = "group" if candidates == "all" else "all"  # the other ranking, same embeddings
    out[f"candidates_{other}"] = retrieval_report(za, ya, zi, yi, train_cls, unseen_cls, other)
    out["training_macs_per_pair"] = (
        srnn_training_macs(audio_train.n_channels, config.n_hidden, xa_tr.shape[0],
                           config.n_windows, d)
        + srnn_training_macs(image_train.n_channels, config.n_hidden, xi_tr.shape[0],
                             config.n_windows, d))
    out["n_trained_parameters"] = int(sum(p.numel() for p in params))
    out["loss_first"] = float(losses[0])
    out["loss_last"] = float(np.mean(losses[-10:]))
    return out


def _train(enc_a, enc_i, opt, xa, xi, by_a, by_i, k, positive, temperature, steps, gen,
           losses) -> None:
    import torch

    for _ in range(steps):
        ia = np.concatenate([gen.choice(idx, k) for idx in by_a])
        ii = np.concatenate([gen.choice(idx, k) for idx in by_i])
        za = torch.nn.functional.normalize(enc_a(xa[:, ia]), dim=1)
        zi = torch.nn.functional.normalize(enc_i(xi[:, ii]), dim=1)
        logits = za @ zi.T / temperature
        loss = 0.5 * (-(positive * logits.log_softmax(1)).sum(1).mean()
                      - (positive * logits.T.log_softmax(1)).sum(1).mean())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
