"""The reference side of the learnable-delays benchmark: the method of Hammouamri,
Khalfaoui-Hassani and Masquelier, "Learning Delays in Spiking Neural Networks using Dilated
Convolutions with Learnable Spacings" (ICLR 2024), built from the public APIs of the ``dcls``
package (``DCLS.construct.modules.Dcls1d``) and SpikingJelly 2.0
(``spikingjelly.activation_based``), with the settings of the authors' SHD configuration.

``benchmarks/delays.py`` imports this module and runs it beside snnsim's ``DelayedLinear`` on
the same data in the same run.  DCLS and SpikingJelly are imported on first use
(:func:`peers`), so this module imports without them.  This is an independent implementation
written from the paper and the two libraries' documented behaviour; the authors' repository
was read for facts only.

Network (everything time-major ``[T, B, features]``, times in steps of the data's bin):

* ``n_hidden_layers`` hidden layers, each::

      Dcls1d(in, n_hidden, kernel_count=1, dilated_kernel_size=K, bias=False, version="gauss")
        -> BatchNorm1d over channels -> LIFNode -> Dropout (mask fixed over time)

* readout: the same delayed ``Dcls1d`` to ``n_outputs``, then a ``LIFNode`` whose threshold
  (1e9) is never reached; its membrane potential sequence is the network's output.

Every ``Dcls1d`` sees its input as ``[B, C, T]`` padded with ``K - 1`` zeros on the left and
``(K - 1) // 2`` on the right, so a layer maps ``T`` steps to
``T + (K - 1) - K + 1 + (K - 1) // 2 = T + (K - 1) // 2`` steps, and the whole network maps
``T`` to ``T + (n_hidden_layers + 1) * ((K - 1) // 2)`` (``K`` is odd, so ``(K - 1) // 2 ==
K // 2``).  ``F.conv1d`` is a cross-correlation, so output step ``t`` reads the padded input at
``t + k`` for tap ``k``, i.e. the original input at ``t + k - (K - 1)``: a tap at ``k`` is a
delay of ``K - 1 - k`` steps.  DCLS centres the single tap of a synapse at
``k = P + K // 2`` (``P`` clamped to ``[-(K // 2), K // 2]``), hence

    delay = K - 1 - (P + K // 2) = K // 2 - P    (0 .. K - 1 steps)

(``tests/test_delays_reference.py`` checks this by passing a single spike through a
``Dcls1d``).  The right padding means that a spike whose delay carries it more than
``(K - 1) // 2`` steps past the end of the input is cut off, as in the reference.

Neurons: SpikingJelly ``LIFNode(tau=1.005, decay_input=False, v_threshold=1, v_reset=0,
surrogate_function=ATan(alpha=5), detach_reset=True, step_mode="m")``:
``h[t] = v[t-1] - v[t-1] / tau + x[t]``, spike ``h >= 1``, hard reset to 0 (``tau`` = 10.05 ms
membrane time constant / 10 ms bins).  SpikingJelly 2.0 has no per-module ``backend``
attribute any more: on CPU its LIF runs its registered pure-torch implementation (the only CPU
path, what "backend='torch'" selected in SpikingJelly 0.0.0.0.14); on CUDA it chooses its own
kernels unless ``SJ_LIF_CUDA_IMPLEMENTATION=torch`` is set before it is imported.

Training (per the authors' SHD configuration):

* loss: cross-entropy of ``sum_t softmax(v_out[t])`` (used as the logits); prediction: argmax
  of that sum;
* init: weights ``kaiming_uniform_(nonlinearity="relu")``; positions ``P`` uniform in
  ``[-(K // 2), K // 2]``; ``SIG`` constant ``sigma_init`` (default ``K // 2``), not learned;
* Adam on the weights (``lr_w``, weight decay ``weight_decay``) with the BatchNorm affine
  parameters as a second parameter group of the same optimiser (same learning rate, no weight
  decay), under ``OneCycleLR(max_lr=5 * lr_w, total_steps=epochs)`` stepped once per epoch;
  Adam on the positions (``lr_pos``, no weight decay) under ``CosineAnnealingLR(T_max=epochs)``
  stepped once per epoch; after every optimiser step the positions are clamped
  (``Dcls1d.clamp_parameters``) and the network state is reset (``functional.reset_net``);
* sigma schedule: after epoch ``e`` (from 0), while ``e < final_epoch`` and sigma > 0.23,
  ``SIG *= (0.23 / sigma_init) ** (1 / final_epoch)``, so that sigma reaches 0.23 (DCLS's
  effective Gaussian width ``|SIG| + 0.27`` = 0.5 step) after ``final_epoch =
  max(1, floor(sigma_final_epoch_fraction * epochs))`` epochs;
* after training: positions rounded (``P.round_()`` then clamped) and, as the authors'
  evaluation does, ``SIG`` set to 0 and the kernels switched to DCLS's ``"max"`` (triangle)
  construction, which for integer ``P`` puts the whole weight on one tap: the network then has
  exact integer delays.  Test accuracy is reported before and after.

Where this differs from the authors' code, and why:

* their positions are drawn uniform in ``[-K // 2, K // 2]`` as Python evaluates it, i.e.
  ``[-(K // 2) - 1, K // 2]``, then clamped, which piles 1/K of the synapses on the largest
  delay; here they are uniform in ``[-(K // 2), K // 2]`` as the method states;
* their ``final_epoch = epochs // 4`` is 0 for runs shorter than 4 epochs, which then keep
  sigma at ``K // 2`` and lose most of their accuracy when the delays are rounded; here it is
  at least 1 (identical from 4 epochs on; ``sigma_final_epoch_fraction=0`` keeps sigma fixed);
* the last batch of an epoch may be smaller (as their ``DataLoader``), the train accuracy is
  averaged over samples rather than over batches, and there is no validation split, data
  augmentation or checkpointing of the best epoch: the benchmark compares fixed-epoch runs.

Usage::

    from snn.peers.dcls_delays import ReferenceConfig, train_reference
    result = train_reference(train_x, train_y, test_x, test_y,
                             ReferenceConfig(n_inputs=64, n_outputs=10, n_hidden=128,
                                             max_delay_steps=13, epochs=2, batch_size=128))
    print(result["epoch_time_s"], result["test_accuracy_rounded"])
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import math
import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..validation import check_int, check_nonnegative, check_positive, check_real

__all__ = [
    "SIGMA_FINAL",
    "peers",
    "peers_available",
    "ReferenceConfig",
    "ReferenceDelayNetwork",
    "build_reference_model",
    "delay_histogram",
    "discretise_delays",
    "evaluate_reference",
    "reference_loss",
    "reference_scores",
    "synaptic_delays",
    "train_reference",
]

SIGMA_FINAL = 0.23
"""Value of ``SIG`` at the end of the sigma schedule (effective Gaussian width 0.5 step)."""

OUTPUT_THRESHOLD = 1e9
"""Threshold of the readout LIF: never reached, the readout only integrates."""

PEER_PACKAGES = ("DCLS", "spikingjelly")
"""Import names of the two peer packages (distributions ``dcls`` and ``spikingjelly``)."""


def peers_available() -> bool:
    """Whether DCLS and SpikingJelly can be imported (without importing them)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in PEER_PACKAGES)


def peers() -> SimpleNamespace:
    """The peer modules, imported on first use so that importing this module needs neither:
    ``Dcls1d`` (``DCLS.construct.modules``) and SpikingJelly's ``functional``, ``layer``,
    ``neuron`` and ``surrogate`` (``spikingjelly.activation_based``)."""
    try:
        from DCLS.construct.modules import Dcls1d
        from spikingjelly.activation_based import functional, layer, neuron, surrogate
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "snn.peers.dcls_delays needs the 'dcls' and 'spikingjelly' packages "
            "(pip install -e '.[bench]'; SpikingJelly comes with .ci/venv.sh)"
        ) from error
    return SimpleNamespace(Dcls1d=Dcls1d, functional=functional, layer=layer, neuron=neuron,
                           surrogate=surrogate)


@dataclass(frozen=True)
class ReferenceConfig:
    """Settings of the reference network and its training; the defaults are the authors' SHD
    configuration (700 channels binned by 5, 10 ms time bins).

    Sizes are neuron counts; ``max_delay_steps`` is in time steps (bins) and becomes the kernel size
    ``K`` (made odd by adding 1 when even), so delays range over ``0 .. K - 1`` steps.
    ``lr_w`` / ``lr_pos`` are Adam learning rates (weights / delay positions), ``dropout`` the
    probability of zeroing a hidden neuron for a whole sample, ``sigma_init`` the initial
    Gaussian ``SIG`` (``None``: ``K // 2``), ``sigma_final_epoch_fraction`` the part of training
    after which sigma has shrunk to 0.23 (0: sigma stays at ``sigma_init``), ``tau_steps`` the
    LIF membrane time constant in steps (10.05 ms / 10 ms), ``threads`` the number of torch CPU
    threads during training (``None``: leave torch's setting), ``device`` a torch device.
    """

    n_inputs: int = 140
    n_outputs: int = 20
    n_hidden: int = 256
    n_hidden_layers: int = 2
    max_delay_steps: int = 25
    epochs: int = 150
    batch_size: int = 256
    seed: int = 0
    dropout: float = 0.4
    lr_w: float = 1e-3
    lr_pos: float = 0.1
    weight_decay: float = 1e-5
    sigma_init: float | None = None
    sigma_final_epoch_fraction: float = 0.25
    tau_steps: float = 1.005
    threads: int | None = None
    device: str = "cpu"

    def __post_init__(self):
        for name in ("n_inputs", "n_outputs", "n_hidden", "n_hidden_layers", "max_delay_steps",
                     "epochs", "batch_size"):
            check_int(f"ReferenceConfig.{name}", getattr(self, name), minimum=1)
        check_int("ReferenceConfig.seed", self.seed, minimum=0)
        check_real("ReferenceConfig.dropout", self.dropout, minimum=0.0)
        if not self.dropout < 1:
            raise ValueError(f"ReferenceConfig.dropout must be a probability in [0, 1), "
                             f"got {self.dropout!r}")
        check_positive("ReferenceConfig.lr_w", self.lr_w)
        for name in ("lr_pos", "weight_decay"):
            check_nonnegative(f"ReferenceConfig.{name}", getattr(self, name))
        if self.sigma_init is not None:
            check_positive("ReferenceConfig.sigma_init", self.sigma_init, unit="steps")
        check_real("ReferenceConfig.sigma_final_epoch_fraction",
                   self.sigma_final_epoch_fraction, minimum=0.0, maximum=1.0)
        check_real("ReferenceConfig.tau_steps", self.tau_steps, minimum=1.0,
                   exclusive_minimum=True, unit="steps")
        if self.threads is not None:
            check_int("ReferenceConfig.threads", self.threads, minimum=1)
        try:
            torch.device(self.device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"ReferenceConfig.device must name a torch device such as 'cpu' "
                             f"or 'cuda', got {self.device!r}") from error

    @property
    def kernel_size(self) -> int:
        """``K``: ``max_delay_steps`` made odd (+1 when even); delays span ``0 .. K - 1``
        steps."""
        k = self.max_delay_steps
        return k if k % 2 == 1 else k + 1

    @property
    def sigma_start(self) -> float:
        """Initial ``SIG`` of every synapse: ``sigma_init``, or ``K // 2`` when it is None."""
        return float(self.kernel_size // 2 if self.sigma_init is None else self.sigma_init)

    @property
    def final_epoch(self) -> int:
        """Epochs over which sigma shrinks to 0.23 (0: it never shrinks).  The authors use
        ``epochs // 4``; at least 1 here, so that runs shorter than 4 epochs shrink it too."""
        if self.sigma_final_epoch_fraction == 0:
            return 0
        return max(1, int(math.floor(self.sigma_final_epoch_fraction * self.epochs + 1e-9)))

    def output_steps(self, n_steps: int) -> int:
        """Length of the output sequence for an input of ``n_steps`` steps: every delayed
        layer adds ``(K - 1) // 2`` steps."""
        return n_steps + (self.n_hidden_layers + 1) * ((self.kernel_size - 1) // 2)

    def to_dict(self) -> dict:
        """The fields plus the derived kernel size, initial sigma and final epoch."""
        return dict(dataclasses.asdict(self), kernel_size=self.kernel_size,
                    sigma_start=self.sigma_start, final_epoch=self.final_epoch)


class ReferenceDelayNetwork(torch.nn.Module):
    """DCLS + SpikingJelly delayed SNN.  ``forward(x)``: ``x [T, B, n_inputs]`` float32
    (time-major) -> readout membrane potentials ``[config.output_steps(T), B, n_outputs]``.

    Stateful like every SpikingJelly network: call ``spikingjelly...functional.reset_net``
    (or :meth:`reset_state`; a method named ``reset`` would be called back by
    ``reset_net`` itself) between batches.  Build it with :func:`build_reference_model`, which
    also applies the reference initialisation."""

    def __init__(self, config: ReferenceConfig):
        super().__init__()
        peer = peers()
        self.config = config
        k = config.kernel_size
        self.padding = (k - 1, (k - 1) // 2)
        sizes = [config.n_inputs] + [config.n_hidden] * config.n_hidden_layers
        sizes.append(config.n_outputs)
        self.synapses = torch.nn.ModuleList(
            peer.Dcls1d(n_in, n_out, kernel_count=1, dilated_kernel_size=k, bias=False,
                   version="gauss")
            for n_in, n_out in zip(sizes[:-1], sizes[1:]))
        self.norms = torch.nn.ModuleList(
            peer.layer.BatchNorm1d(config.n_hidden, step_mode="m")
            for _ in range(config.n_hidden_layers))
        self.neurons = torch.nn.ModuleList(
            self._lif(config, 1.0, store_v_seq=False) for _ in range(config.n_hidden_layers))
        self.dropouts = torch.nn.ModuleList(
            peer.layer.Dropout(config.dropout, step_mode="m")
            for _ in range(config.n_hidden_layers))
        self.readout = self._lif(config, OUTPUT_THRESHOLD, store_v_seq=True)

    @staticmethod
    def _lif(config: ReferenceConfig, threshold: float, store_v_seq: bool):
        peer = peers()
        return peer.neuron.LIFNode(
            tau=float(config.tau_steps), decay_input=False, v_threshold=threshold,
            surrogate_function=peer.surrogate.ATan(alpha=5.0), detach_reset=True,
            step_mode="m", store_v_seq=store_v_seq)

    def delayed(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Synaptic layer ``index`` on ``x [T, B, C_in]`` -> ``[T + (K - 1) // 2, B, C_out]``."""
        x = F.pad(x.permute(1, 2, 0), self.padding)
        return self.synapses[index](x).permute(2, 0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[2] != self.config.n_inputs:
            raise ValueError(f"x must be time-major [T, B, {self.config.n_inputs}], "
                             f"got shape {tuple(x.shape)}")
        for i in range(self.config.n_hidden_layers):
            x = self.delayed(i, x)
            x = self.norms[i](x)
            x = self.neurons[i](x)
            x = self.dropouts[i](x)
        self.readout(self.delayed(self.config.n_hidden_layers, x))
        return self.readout.v_seq

    def reset_state(self) -> None:
        """Reset membrane potentials and dropout masks (``functional.reset_net``)."""
        peers().functional.reset_net(self)

    def clamp_positions(self) -> None:
        """``Dcls1d.clamp_parameters`` on every synaptic layer (``P`` into
        ``[-(K // 2), K // 2]``)."""
        for synapse in self.synapses:
            synapse.clamp_parameters()

    @property
    def sigma(self) -> float:
        """Current ``SIG`` (the same for every synapse), read from the last layer."""
        return float(self.synapses[-1].SIG.detach().reshape(-1)[0])

    def scale_sigma(self, factor: float) -> None:
        with torch.no_grad():
            for synapse in self.synapses:
                synapse.SIG.mul_(factor)


def build_reference_model(config: ReferenceConfig) -> ReferenceDelayNetwork:
    """The reference network on ``config.device``, initialised as the authors do, from
    ``config.seed`` (the caller's global torch RNG state is left as it was): weights
    ``kaiming_uniform_(nonlinearity="relu")``, positions uniform in ``[-(K // 2), K // 2]``,
    ``SIG = config.sigma_start`` with ``requires_grad=False``.

    ``model(x)`` maps time-major ``x [T, B, n_inputs]`` (float32) to membrane potentials
    ``[config.output_steps(T), B, n_outputs]``."""
    if not isinstance(config, ReferenceConfig):
        raise TypeError(f"config must be a ReferenceConfig, got {type(config).__name__}")
    generator = torch.Generator().manual_seed(config.seed)
    lim = config.kernel_size // 2
    with torch.random.fork_rng(devices=[]):  # Dcls1d's own init draws from the global RNG
        model = ReferenceDelayNetwork(config)
    with torch.no_grad():
        for synapse in model.synapses:
            torch.nn.init.kaiming_uniform_(synapse.weight, nonlinearity="relu",
                                           generator=generator)
            torch.nn.init.uniform_(synapse.P, -lim, lim, generator=generator)
            synapse.clamp_parameters()
            synapse.SIG.fill_(config.sigma_start)
            synapse.SIG.requires_grad_(False)
    return model.to(torch.device(config.device))


def reference_scores(v_out: torch.Tensor) -> torch.Tensor:
    """``[T, B, classes]`` membrane potentials -> ``[B, classes]``: the sum over time of the
    softmax over classes (the authors' "sum" readout)."""
    return torch.softmax(v_out, dim=2).sum(dim=0)


def reference_loss(v_out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of :func:`reference_scores` (taken as logits) against ``labels [B]``."""
    return F.cross_entropy(reference_scores(v_out), labels)


def synaptic_delays(model: ReferenceDelayNetwork) -> list[np.ndarray]:
    """Current (continuous) delays in steps, one ``[n_out, n_in]`` float array per synaptic
    layer (hidden layers first, readout last): ``delay = K - 1 - (P + K // 2) = K // 2 - P``."""
    k = model.config.kernel_size
    return [(k // 2 - synapse.P.detach()[0, :, :, 0]).cpu().numpy().astype(np.float64)
            for synapse in model.synapses]


def delay_histogram(model: ReferenceDelayNetwork) -> np.ndarray:
    """Counts of synapses per integer delay: int64 ``[n_layers, K]``, row ``i`` = synaptic
    layer ``i`` (readout last), column ``d`` = number of synapses whose delay rounds to ``d``
    steps (``P`` rounded half to even, as ``P.round_()`` does)."""
    k = model.config.kernel_size
    rows = []
    for synapse in model.synapses:
        p = torch.round(synapse.P.detach()).clamp(-(k // 2), k // 2)
        delays = (k // 2 - p).reshape(-1).long().cpu()
        rows.append(torch.bincount(delays, minlength=k).numpy())
    return np.stack(rows).astype(np.int64)


def discretise_delays(model: ReferenceDelayNetwork) -> None:
    """Make every delay an exact integer, in place, as the authors' evaluation does: round
    ``P`` (then clamp), set ``SIG`` to 0 and switch DCLS to its ``"max"`` kernel, which for an
    integer position puts the whole weight on a single tap.  Not reversible."""
    with torch.no_grad():
        for synapse in model.synapses:
            synapse.P.round_()
            synapse.clamp_parameters()
            synapse.SIG.zero_()
            synapse.version = "max"
            synapse.DCK.version = "max"


def evaluate_reference(model: ReferenceDelayNetwork, x, y, batch_size: int = 256,
                       ) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` (eval mode, no dropout, BatchNorm running
    statistics) on sample-major ``x [N, T, n_inputs]`` and labels ``y [N]``."""
    config = model.config
    x = _as_inputs(x, "x", config.n_inputs)
    y = _as_labels(y, "y", x.shape[0], config.n_outputs)
    return _evaluate(model, x, y, batch_size, torch.device(config.device))


def _evaluate(model, x, y, batch_size, device) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            xb = x[start:start + batch_size].transpose(0, 1).contiguous().to(device)
            yb = y[start:start + batch_size].to(device)
            model.reset_state()
            scores = reference_scores(model(xb))
            total_loss += float(F.cross_entropy(scores, yb, reduction="sum"))
            correct += int((scores.argmax(dim=1) == yb).sum())
            model.reset_state()
    model.train(was_training)
    return total_loss / x.shape[0], correct / x.shape[0]


def _as_inputs(x, name: str, n_inputs: int) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        tensor = x.detach().to("cpu", torch.float32)
    else:
        try:
            tensor = torch.from_numpy(np.asarray(x, dtype=np.float32))
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be a float32 tensor or numpy array [N, T, "
                            f"{n_inputs}], got {type(x).__name__}") from error
    if tensor.dim() != 3 or tensor.shape[2] != n_inputs or min(tensor.shape) < 1:
        raise ValueError(f"{name} must have shape [N, T, {n_inputs}] (samples, steps, "
                         f"input channels; N, T >= 1), got {tuple(tensor.shape)}")
    if not bool(torch.isfinite(tensor).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return tensor


def _as_labels(y, name: str, n_samples: int, n_outputs: int) -> torch.Tensor:
    array = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if array.shape != (n_samples,) or not (
            np.issubdtype(array.dtype, np.integer)
            or (array.dtype.kind == "f" and np.all(array == np.round(array)))):
        raise ValueError(f"{name} must be integer class labels of shape [{n_samples}], got "
                         f"dtype {array.dtype} and shape {array.shape}")
    labels = torch.from_numpy(array.astype(np.int64))
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_outputs):
        raise ValueError(f"{name} must hold classes in 0 .. {n_outputs - 1}, got values in "
                         f"{int(labels.min())} .. {int(labels.max())}")
    return labels


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return None


def _n_parameters(model: ReferenceDelayNetwork) -> dict[str, int]:
    weights = sum(s.weight.numel() for s in model.synapses)
    positions = sum(s.P.numel() for s in model.synapses)
    norms = sum(p.numel() for n in model.norms for p in n.parameters())
    return {"total": weights + positions + norms, "weights": weights,
            "positions": positions, "batchnorm": norms}


def train_reference(train_x, train_y, test_x, test_y, config: ReferenceConfig,
                    progress: bool = True) -> dict:
    """Train the reference network and evaluate it on the test set after every epoch.

    ``train_x`` / ``test_x``: float32 tensors or numpy arrays ``[N, T, n_inputs]``
    (sample-major; each batch is transposed to time-major), e.g. binned spike counts;
    ``train_y`` / ``test_y``: int64 class labels ``[N]`` in ``0 .. n_outputs - 1``.
    Batches are drawn in an order shuffled by ``torch.Generator().manual_seed(seed)``; model
    init and dropout are seeded from ``config.seed`` inside a forked RNG, so two calls with the
    same arguments give the same result on the same machine, and the caller's global RNG state
    is untouched.  ``config.threads`` (when set) applies for the duration of the call.

    Returns a JSON-serialisable dict:

    * per epoch (lists of length ``epochs``): ``train_loss``, ``train_accuracy`` (over the
      epoch's batches, in train mode), ``epoch_time_s`` (wall time of the training pass alone:
      batching, forward, backward, optimiser steps, clamping and resets, measured with
      ``time.perf_counter``; evaluation excluded), ``test_loss``, ``test_accuracy`` (after the
      epoch, Gaussian kernels with the current sigma), ``sigma`` (during the epoch), ``lr_w``,
      ``lr_pos`` (during the epoch);
    * ``mean_epoch_time_s`` (the first epoch includes one-time warm-up);
      ``test_accuracy_before_rounding`` (the last epoch's); ``final_sigma``;
      ``test_accuracy_rounded`` / ``test_loss_rounded`` (after :func:`discretise_delays`:
      exact integer delays); ``delay_histogram`` (after rounding, ``[n_layers][K]``);
    * ``n_parameters`` (trainable: ``total``, ``weights``, ``positions``, ``batchnorm``),
      ``config`` (:meth:`ReferenceConfig.to_dict`), ``n_train``, ``n_test``, ``n_steps``,
      ``output_steps``, ``batches_per_epoch``, ``torch_threads``, ``device``, ``versions``.
    """
    if not isinstance(config, ReferenceConfig):
        raise TypeError(f"config must be a ReferenceConfig, got {type(config).__name__}")
    train_x = _as_inputs(train_x, "train_x", config.n_inputs)
    train_y = _as_labels(train_y, "train_y", train_x.shape[0], config.n_outputs)
    test_x = _as_inputs(test_x, "test_x", config.n_inputs)
    test_y = _as_labels(test_y, "test_y", test_x.shape[0], config.n_outputs)
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"ReferenceConfig.device is {config.device!r} but CUDA is not "
                         f"available")

    previous_threads = torch.get_num_threads()
    cuda_devices = [device] if device.type == "cuda" else []
    try:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(config.seed)
            return _train(train_x, train_y, test_x, test_y, config, device, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _train(train_x, train_y, test_x, test_y, config, device, progress) -> dict:
    model = build_reference_model(config)
    weights = [s.weight for s in model.synapses]
    norm_parameters = [p for n in model.norms for p in n.parameters()]
    positions = [s.P for s in model.synapses]
    optimiser_w = torch.optim.Adam(
        [{"params": weights, "weight_decay": config.weight_decay},
         {"params": norm_parameters, "weight_decay": 0.0}], lr=config.lr_w)
    optimiser_pos = torch.optim.Adam(positions, lr=config.lr_pos, weight_decay=0.0)
    scheduler_w = torch.optim.lr_scheduler.OneCycleLR(
        optimiser_w, max_lr=5 * config.lr_w, total_steps=config.epochs)
    scheduler_pos = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser_pos,
                                                               T_max=config.epochs)
    final_epoch = config.final_epoch
    alpha = (SIGMA_FINAL / config.sigma_start) ** (1 / final_epoch) if final_epoch else 1.0

    generator = torch.Generator().manual_seed(config.seed)
    n_train, batch = train_x.shape[0], config.batch_size
    history: dict[str, list[float]] = {key: [] for key in (
        "train_loss", "train_accuracy", "epoch_time_s", "test_loss", "test_accuracy",
        "sigma", "lr_w", "lr_pos")}
    bar = tqdm(range(config.epochs), desc="DCLS reference", unit="epoch", disable=not progress)
    for epoch in bar:
        history["sigma"].append(model.sigma)
        history["lr_w"].append(float(optimiser_w.param_groups[0]["lr"]))
        history["lr_pos"].append(float(optimiser_pos.param_groups[0]["lr"]))
        model.train()
        model.reset_state()
        losses, corrects = [], []
        _synchronise(device)
        start_time = time.perf_counter()
        order = torch.randperm(n_train, generator=generator)
        for start in range(0, n_train, batch):
            index = order[start:start + batch]
            xb = train_x[index].transpose(0, 1).contiguous().to(device)
            yb = train_y[index].to(device)
            optimiser_w.zero_grad(set_to_none=True)
            optimiser_pos.zero_grad(set_to_none=True)
            v_out = model(xb)
            scores = reference_scores(v_out)
            loss = F.cross_entropy(scores, yb)
            loss.backward()
            optimiser_w.step()
            optimiser_pos.step()
            model.clamp_positions()
            model.reset_state()
            losses.append(loss.detach() * len(index))
            corrects.append((scores.detach().argmax(dim=1) == yb).sum())
        train_loss = float(torch.stack(losses).sum()) / n_train
        train_accuracy = int(torch.stack(corrects).sum()) / n_train
        _synchronise(device)
        history["epoch_time_s"].append(time.perf_counter() - start_time)
        scheduler_w.step()
        scheduler_pos.step()
        if epoch < final_epoch and model.sigma > SIGMA_FINAL:
            model.scale_sigma(alpha)

        test_loss, test_accuracy = _evaluate(model, test_x, test_y, batch, device)
        history["train_loss"].append(train_loss)
        history["train_accuracy"].append(train_accuracy)
        history["test_loss"].append(test_loss)
        history["test_accuracy"].append(test_accuracy)
        bar.set_postfix(loss=f"{train_loss:.3f}", train=f"{train_accuracy:.3f}",
                        test=f"{test_accuracy:.3f}", s=f"{history['epoch_time_s'][-1]:.1f}")
    bar.close()

    final_sigma = model.sigma
    discretise_delays(model)
    rounded_loss, rounded_accuracy = _evaluate(model, test_x, test_y, batch, device)
    return {
        "implementation": "DCLS Dcls1d (gauss) + SpikingJelly LIFNode",
        **history,
        "mean_epoch_time_s": float(np.mean(history["epoch_time_s"])),
        "test_accuracy_before_rounding": history["test_accuracy"][-1],
        "test_accuracy_rounded": rounded_accuracy,
        "test_loss_rounded": rounded_loss,
        "final_sigma": final_sigma,
        "delay_histogram": delay_histogram(model).tolist(),
        "n_parameters": _n_parameters(model),
        "config": config.to_dict(),
        "n_train": int(n_train),
        "n_test": int(test_x.shape[0]),
        "n_steps": int(train_x.shape[1]),
        "output_steps": config.output_steps(int(train_x.shape[1])),
        "batches_per_epoch": math.ceil(n_train / batch),
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "versions": {"torch": torch.__version__, "dcls": _version("dcls"),
                     "spikingjelly": _version("spikingjelly")},
    }


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)

