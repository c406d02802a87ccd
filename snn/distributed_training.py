"""Data-parallel training over several processes with torch DistributedDataParallel.

Launched with ``torchrun --nproc-per-node N ...``, every process holds a copy of the model;
each global mini-batch (the batch one process would take) is split into ``N`` consecutive
shards, one per process (equal, except that a last, smaller batch may split unevenly);
gradients are averaged across processes by
:class:`torch.nn.parallel.DistributedDataParallel`, so that every process takes the same
optimiser step as one process on the whole batch.  Without torchrun's environment
(``WORLD_SIZE`` unset) nothing here initialises ``torch.distributed`` and the training loops
run as a single process.

What keeps ``N`` processes equal to one:

* The shards are slices of the global batch, padded as the global batch is, and each local
  loss is weighted by its share of the batch (``n_local * N / n_global``), so that the
  averaged gradient is the gradient of the global batch's mean loss.
* Batch normalisation is replaced by :class:`DistributedBatchNorm`, which sums its
  statistics (and, in the backward pass, the gradient terms that couple samples) over all
  processes: the same normalisation as one process over the global batch.  torch's own
  ``SyncBatchNorm`` refuses CPU tensors; this one uses plain all-reduces, written for gloo
  and nccl alike (the tests run it on CPU with gloo).
* Random draws made per sample (dropout masks) are drawn for the whole global batch from a
  generator in the same state on every process, and each process keeps its slice.
* Only the process of rank 0 reads and writes files, shows progress and prints; a barrier
  follows every checkpoint write, and a checkpoint read by rank 0 is broadcast to the others.

Results agree with one process to float tolerance, not bitwise: averaging gradients across
processes sums the same terms in another order.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import nn

from .validation import check_choice, check_int

__all__ = [
    "DistributedContext",
    "DistributedBatchNorm",
    "Shard",
    "TORCHRUN_VARIABLES",
    "torchrun_environment",
    "init_distributed",
    "close_distributed",
    "distributed_training",
    "wrap_model",
    "unwrap_model",
    "shard_batches",
    "check_global_batch",
    "average_gradients",
    "gather_samples",
]

#: The environment variables torchrun sets and :func:`init_distributed` reads.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

BACKENDS = ("gloo", "nccl")


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) training.

    ``backend`` is None for a single process (no process group); ``device`` is the device
    this process trains on (``cuda:LOCAL_RANK`` under torchrun on GPUs).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: str = "cpu"
    owns_group: bool = False  #: whether :func:`close_distributed` destroys the group

    def __post_init__(self) -> None:
        owner = "DistributedContext"
        check_int(f"{owner}.world_size", self.world_size, minimum=1)
        check_int(f"{owner}.rank", self.rank, minimum=0, maximum=self.world_size - 1)
        check_int(f"{owner}.local_rank", self.local_rank, minimum=0)
        if self.backend is not None:
            check_choice(f"{owner}.backend", self.backend, BACKENDS)
        elif self.world_size != 1:
            raise ValueError(f"{owner}.backend must be one of {BACKENDS} when world_size > 1, "
                             f"got None")

    @property
    def distributed(self) -> bool:
        """Whether a process group is in use (``world_size > 1`` or launched by torchrun)."""
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        """Whether this is the process that writes files, prints and shows progress."""
        return self.rank == 0

    def _tensor(self, values: Sequence[float]) -> torch.Tensor:
        # nccl reduces device tensors only.
        device = self.device if self.backend == "nccl" else "cpu"
        return torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums of ``values`` over all processes (the values themselves when
        single); float64 so that counts stay exact."""
        if not self.distributed:
            return [float(v) for v in values]
        t = self._tensor(values)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
        return t.cpu().tolist()

    def max(self, values: Sequence[float]) -> list[float]:
        """Element-wise maxima of ``values`` over all processes."""
        if not self.distributed:
            return [float(v) for v in values]
        t = self._tensor(values)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return t.cpu().tolist()

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on at least one process (a decision all then share)."""
        return self.max([1.0 if flag else 0.0])[0] > 0.0

    def barrier(self) -> None:
        """Wait until every process gets here (nothing when single)."""
        if self.distributed:
            torch.distributed.barrier()

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process (picklable objects; tensors on CPU)."""
        if not self.distributed:
            return obj
        box = [obj if self.is_main else None]
        device = self.device if self.backend == "nccl" else None
        torch.distributed.broadcast_object_list(box, src=0, device=device)
        return box[0]


def _env_int(env: dict[str, str], name: str, minimum: int) -> int:
    text = env.get(name)
    if text is None:
        raise ValueError(f"{name} is not set: torchrun sets {', '.join(TORCHRUN_VARIABLES)}; "
                         f"launch with 'torchrun --nproc-per-node N ...' or unset WORLD_SIZE")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def torchrun_environment(env: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The launch described by torchrun's environment variables, or None without them.

    Args:
        env: the variables (None: ``os.environ``).

    Returns:
        ``{"rank", "world_size", "local_rank", "master_addr", "master_port"}``, or None when
        ``WORLD_SIZE`` is unset (a plain single-process run).

    Raises:
        ValueError: a variable is missing or malformed, or ``RANK >= WORLD_SIZE``.
    """
    env = dict(os.environ) if env is None else dict(env)
    if "WORLD_SIZE" not in env:
        return None
    world_size = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK", 0)
    if rank >= world_size:
        raise ValueError(f"RANK must be < WORLD_SIZE={world_size}, got {rank}")
    local_rank = _env_int(env, "LOCAL_RANK", 0)
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if not env.get(name):
            raise ValueError(f"{name} is not set: torchrun sets "
                             f"{', '.join(TORCHRUN_VARIABLES)}")
    _env_int(env, "MASTER_PORT", 1)
    return {"rank": rank, "world_size": world_size, "local_rank": local_rank,
            "master_addr": env["MASTER_ADDR"], "master_port": int(env["MASTER_PORT"])}


def init_distributed(device: str | torch.device = "cpu", backend: str | None = None,
                     env: dict[str, str] | None = None) -> DistributedContext:
    """Join the process group torchrun describes, or describe a single process.

    Without torchrun's variables this initialises nothing and returns a single-process
    context on ``device``.  Under torchrun it initialises ``torch.distributed`` (unless a
    group already exists, which is then used) with ``backend``: gloo on CPU, nccl on CUDA by
    default.  On CUDA each process takes the GPU ``cuda:LOCAL_RANK``.

    A group created here is destroyed by :func:`close_distributed`, or else when the process
    exits.  The training functions leave it open, so that several trainings in one script
    share it: within one torchrun launch a destroyed group cannot be created again (the
    processes would look for each other at the first group's addresses).

    Args:
        device: ``"cpu"`` or ``"cuda"`` (a ``cuda:K`` index is replaced by ``LOCAL_RANK``
            under torchrun).
        backend: ``"gloo"``, ``"nccl"`` or None (gloo on CPU, nccl on CUDA).
        env: the environment (None: ``os.environ``).

    Returns:
        The context; pass it to :func:`close_distributed` (or use
        :func:`distributed_training`) at the end.

    Raises:
        ValueError: malformed torchrun variables, an unknown backend, nccl without CUDA,
            or a device that is neither CPU nor CUDA.
    """
    device = torch.device(device)
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {str(device)!r}")
    if backend is not None:
        check_choice("backend", backend, BACKENDS)
    launch = torchrun_environment(env)
    chosen = backend if backend is not None else ("nccl" if device.type == "cuda" else "gloo")
    if chosen == "nccl" and not (torch.cuda.is_available() and device.type == "cuda"):
        raise ValueError("backend 'nccl' needs CUDA: pass device='cuda' on a machine with "
                         "GPUs, or use backend 'gloo' on CPU"
                         + ("" if torch.cuda.is_available() else
                            " (torch.cuda.is_available() is False here)"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked but torch.cuda.is_available() is False")
    if launch is None:
        return DistributedContext(device=str(device))
    import torch.distributed as dist

    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed")
    local_rank = launch["local_rank"]
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if dist.is_initialized():
        if dist.get_world_size() != launch["world_size"]:
            raise ValueError(f"a process group of {dist.get_world_size()} processes exists but "
                             f"WORLD_SIZE={launch['world_size']}")
        chosen = dist.get_backend()
    else:
        dist.init_process_group(chosen, init_method="env://", rank=launch["rank"],
                                world_size=launch["world_size"])
        atexit.register(_destroy_group)
        owns = True
    return DistributedContext(rank=launch["rank"], world_size=launch["world_size"],
                              local_rank=local_rank, backend=chosen, device=str(device),
                              owns_group=owns)


def _destroy_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        # Wrappers caught in reference cycles would otherwise outlive the group and tear
        # down its communication threads at exit.
        gc.collect()
        torch.distributed.destroy_process_group()


def close_distributed(context: DistributedContext) -> None:
    """Destroy the process group if ``context`` created it (nothing otherwise).

    Args:
        context: what :func:`init_distributed` returned.
    """
    if context.owns_group:
        _destroy_group()


@contextlib.contextmanager
def distributed_training(device: str | torch.device = "cpu", backend: str | None = None,
                         ) -> Iterator[DistributedContext]:
    """``with distributed_training("cpu") as ctx: ...``: :func:`init_distributed` on entry,
    :func:`close_distributed` on exit (also after an error).

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        backend: ``"gloo"``, ``"nccl"`` or None (by device).

    Yields:
        The context.
    """
    context = init_distributed(device, backend)
    try:
        yield context
    finally:
        close_distributed(context)


class _GlobalBatchNorm(torch.autograd.Function):
    """Batch normalisation over the rows of every process: ``x`` ``[M, C, ...]`` (statistics
    over all dimensions but 1).  Forward: global mean, then global biased variance (two
    reductions; the one-pass ``E[x^2] - E[x]^2`` loses digits in float32).  Backward: the
    usual formula with the sums of ``g`` and ``g * x_hat`` taken over all processes, as the
    coupling between samples runs across them."""

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.tensor([float(x.numel() // x.shape[1])], dtype=x.dtype, device=x.device)
        local_sum = torch.cat([x.sum(dims), count])
        torch.distributed.all_reduce(local_sum)
        n = local_sum[-1]
        mean = local_sum[:-1] / n
        centred = x - mean.view(shape)
        square = (centred * centred).sum(dims)
        torch.distributed.all_reduce(square)
        var = square / n
        invstd = torch.rsqrt(var + eps)
        x_hat = centred * invstd.view(shape)
        if running_mean is not None:
            with torch.no_grad():
                running_mean.mul_(1 - momentum).add_(mean, alpha=momentum)
                running_var.mul_(1 - momentum).add_(var * (n / (n - 1)), alpha=momentum)
        ctx.save_for_backward(x_hat, invstd, weight, n)
        ctx.dims, ctx.shape = dims, shape
        out = x_hat
        if weight is not None:
            out = out * weight.view(shape) + bias.view(shape)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x_hat, invstd, weight, n = ctx.saved_tensors
        dims, shape = ctx.dims, ctx.shape
        grad_bias = grad_out.sum(dims)
        grad_weight = (grad_out * x_hat).sum(dims)
        sums = torch.cat([grad_bias, grad_weight])
        torch.distributed.all_reduce(sums)
        channels = grad_bias.numel()
        mean_g, mean_gx = sums[:channels] / n, sums[channels:] / n
        scale = invstd if weight is None else invstd * weight
        grad_x = (grad_out - mean_g.view(shape) - x_hat * mean_gx.view(shape)) * scale.view(shape)
        if weight is None:
            return grad_x, None, None, None, None, None, None
        # Local parts: DistributedDataParallel averages parameter gradients itself.
        return grad_x, grad_weight, grad_bias, None, None, None, None


class DistributedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch normalisation whose training statistics cover the global batch of all processes.

    A drop-in for ``BatchNorm1d/2d/3d`` (the same parameters, buffers and state-dict keys):
    inputs ``[M, C, ...]``, statistics over every dimension but ``C``.  In evaluation mode,
    or without a process group, it is plain batch normalisation.  Momentum must be a number
    (the cumulative average, ``momentum=None``, is not supported).
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"input must be [M, C, ...] with C={self.num_features}, got shape "
                             f"{tuple(input.shape)}")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalise ``input`` ``[M, C, ...]`` (see the class docstring)."""
        synced = (self.training and torch.distributed.is_available()
                  and torch.distributed.is_initialized()
                  and torch.distributed.get_world_size() > 1)
        if not synced:
            return super().forward(input)
        self._check_input_dim(input)
        track = self.track_running_stats
        if track:
            self.num_batches_tracked.add_(1)
        return _GlobalBatchNorm.apply(input, self.weight, self.bias,
                                      self.running_mean if track else None,
                                      self.running_var if track else None,
                                      self.momentum, self.eps)

    @classmethod
    def convert(cls, module: nn.Module) -> nn.Module:
        """``module`` with every ``BatchNorm1d/2d/3d`` replaced by this class (sharing the
        parameter and buffer tensors); returns the module (the same object unless it is
        itself a batch norm)."""
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, cls):
            if module.momentum is None:
                raise ValueError("DistributedBatchNorm needs a numeric momentum, got None")
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats)
            new.weight, new.bias = module.weight, module.bias
            new.running_mean, new.running_var = module.running_mean, module.running_var
            new.num_batches_tracked = module.num_batches_tracked
            new.train(module.training)
            new._original_class = type(module)
            return new
        for name, child in module.named_children():
            setattr(module, name, cls.convert(child))
        return module

    @classmethod
    def revert(cls, module: nn.Module) -> nn.Module:
        """Undo :meth:`convert`: each of these back to the batch-norm class it replaced."""
        if isinstance(module, cls) and hasattr(module, "_original_class"):
            old = module._original_class(module.num_features, module.eps, module.momentum,
                                         module.affine, module.track_running_stats)
            old.weight, old.bias = module.weight, module.bias
            old.running_mean, old.running_var = module.running_mean, module.running_var
            old.num_batches_tracked = module.num_batches_tracked
            old.train(module.training)
            return old
        for name, child in module.named_children():
            setattr(module, name, cls.revert(child))
        return module


def wrap_model(model: nn.Module, context: DistributedContext) -> nn.Module:
    """``model`` ready for data-parallel training: batch norms made global
    (:class:`DistributedBatchNorm`) and wrapped in ``DistributedDataParallel``; the model
    itself when single.

    ``DistributedDataParallel`` broadcasts rank 0's parameters and buffers on construction,
    so every process starts from the same model.  Use :func:`unwrap_model` to get the
    module back (evaluation, checkpoints).

    Args:
        model: the module, already on ``context.device``.
        context: from :func:`init_distributed`.

    Returns:
        The wrapped module (or ``model``).
    """
    if not context.distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    model = DistributedBatchNorm.convert(model)
    device = torch.device(context.device)
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` wrapper, with its batch norms back to
    their own classes (the module itself when not wrapped).

    Args:
        model: what :func:`wrap_model` returned.

    Returns:
        The plain module.
    """
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        return DistributedBatchNorm.revert(model.module)
    return model


class Shard(NamedTuple):
    """This process's part of one global mini-batch."""

    x: torch.Tensor  #: the inputs of the shard (the batch dimension cut)
    y: torch.Tensor  #: the labels ``[n_local]``
    start: int  #: index of the shard's first sample in the global batch
    global_size: int  #: samples in the global batch
    loss_scale: float  #: ``n_local * world_size / global_size``: weight of the local mean loss


def check_global_batch(batch_size: int, n_samples: int, context: DistributedContext,
                       name: str = "batch_size") -> int:
    """Refuse a global batch that cannot be split evenly across the processes.

    Args:
        batch_size: samples per global batch (what one process would take).
        n_samples: samples per epoch (the last batch holds ``n_samples % batch_size``).
        context: from :func:`init_distributed`.
        name: the argument's name in messages.

    Returns:
        ``batch_size // world_size``, the samples each process takes.

    Raises:
        ValueError: ``batch_size`` not divisible by the number of processes, or a last
            batch smaller than the number of processes (a process would get no sample).
    """
    batch_size = check_int(name, batch_size, minimum=1)
    world = context.world_size
    if batch_size % world:
        raise ValueError(f"{name}={batch_size} must be divisible by the number of processes "
                         f"({world}): each process takes {name} / {world} samples of every "
                         f"global batch")
    rest = n_samples % batch_size
    if 0 < rest < world:
        raise ValueError(f"the last batch of an epoch holds {rest} of {n_samples} samples, fewer "
                         f"than the {world} processes: change {name} or the number of samples")
    return batch_size // world


def shard_batches(batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                  context: DistributedContext, batch_dim: int = 1) -> Iterator[Shard]:
    """This process's consecutive share of each global batch ``(x, y)``.

    A global batch of ``n`` samples is cut into ``world_size`` consecutive parts whose sizes
    differ by at most one (equal when ``world_size`` divides ``n``); a process may get an
    empty part only if ``n < world_size`` (:func:`check_global_batch` refuses that for
    training).  Single process: the whole batch, ``loss_scale`` 1.

    Args:
        batches: global batches, ``x`` with the samples along ``batch_dim``, ``y`` ``[n]``.
        context: from :func:`init_distributed`.
        batch_dim: the sample dimension of ``x`` (1 for time-major ``[T, B, ...]``).

    Yields:
        :class:`Shard` s.
    """
    world, rank = context.world_size, context.rank
    for x, y in batches:
        n = int(y.shape[0])
        if world == 1:
            yield Shard(x, y, 0, n, 1.0)
            continue
        base, extra = divmod(n, world)
        start = rank * base + min(rank, extra)
        size = base + (1 if rank < extra else 0)
        local = x.narrow(batch_dim, start, size).contiguous()
        yield Shard(local, y[start:start + size], start, n, size * world / n)


def average_gradients(model: nn.Module, context: DistributedContext) -> None:
    """Average the gradients of ``model``'s parameters over the processes, in place.

    What ``DistributedDataParallel`` does during the backward pass, done explicitly after it
    for training code whose loss does not come from the module's ``forward`` (DDP arms its
    hooks there only).  One all-reduce of all gradients flattened together.  Nothing when
    single.

    Args:
        model: the module (the same parameters, in the same order, on every process).
        context: from :func:`init_distributed`.
    """
    if not context.distributed:
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    torch.distributed.all_reduce(flat)
    flat /= context.world_size
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def gather_samples(local: torch.Tensor, n_local: int, context: DistributedContext,
                   n_steps: int = 1) -> torch.Tensor:
    """Rows of every process's shard put back in the order of the global batch.

    ``local`` holds ``n_steps`` groups (time steps, outermost) of ``n_local`` samples of
    ``rows_per_sample`` rows each: ``[n_steps * n_local * rows_per_sample, D]``.  The result
    is the same layout for the whole global batch, as one process would have computed it.
    Shards may differ in size (the last batch).  The local tensor itself when single.

    Args:
        local: this process's rows (detached; it is copied to the CPU and pickled).
        n_local: samples in this process's shard (>= 1).
        context: from :func:`init_distributed`.
        n_steps: time-step groups in the rows (1: rows grouped by sample only).

    Returns:
        The global rows ``[n_steps * n_global * rows_per_sample, D]``.
    """
    if not context.distributed:
        return local
    n_local = check_int("n_local", n_local, minimum=1)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    if local.shape[0] % (n_local * n_steps):
        raise ValueError(f"local has {local.shape[0]} rows, not a multiple of n_steps * n_local "
                         f"= {n_steps * n_local}")
    grouped = local.detach().cpu().reshape(n_steps, n_local, -1, *local.shape[1:])
    parts: list[Any] = [None] * context.world_size
    torch.distributed.all_gather_object(parts, grouped)
    return torch.cat(parts, 1).reshape(-1, *local.shape[1:]).to(local.device)
