"""torch backend: B independent trials of one network at once, on CPU or CUDA.

It follows the per-step algorithm of :mod:`snn.engine` in the reference backend's order, with
every quantity carrying a trial axis: the neuron state is a tensor ``[R, B, N]`` (rows as
in the plan: each model's :attr:`snn.NeuronModel.engine_rows`) and the ring buffer
``[D, 2, B, N]`` (delay slot,
channel, trial, neuron; so that ``ring[slot]`` lines up with the synaptic rows
``state[1:3]``).  The trials share the network, its initial state and its currents and
differ only by their input-source spike schedules (e.g. independent Poisson draws).

Each population is advanced by its model's step function (:class:`snn.NeuronModel`) on tensors of
shape ``[B, n_pop]``.  Spike propagation is one gather and one ``index_add_`` per step: the
CSR rows of all spiking (trial, source) pairs are expanded into one list of synapses whose
flat indices into the state or ring tensor then receive the weights.  The list is ordered by
trial, then source id (neurons, then input sources), then synapse, and ``index_add_`` on the
CPU adds in list order, so every cell receives its additions in the reference's
``np.add.at`` order: in float64 on the CPU results equal the reference bit for bit.  On CUDA
``index_add_`` adds with atomics in no fixed order, so sums can differ in the last bits.

Plastic projections (STDP) learn per trial: each trial has its own weights and traces
(:class:`_Learning`), updated element-wise over the synapses that receive a spike or whose
neuron fired at each step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from ..models import heaviside
from ..plasticity import stdp_post_event, stdp_pre_event
from ..random_streams import drive_counts
from ..vector_exp import exp_torch
from . import BackendOutput, PlasticOutput

__all__ = ["simulate", "resolve_device", "resolve_dtype", "DTYPES"]

DTYPES = (torch.float32, torch.float64)

Schedule = tuple[np.ndarray, np.ndarray]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The torch device for ``device`` (None: CPU); a ValueError names ``device`` when it is
    not a CPU or CUDA device, or when CUDA is requested but not available."""
    if device is None:
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a torch device string (e.g. 'cpu', 'cuda:0') or a "
                        f"torch.device, got {type(device).__name__}")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"device must be a valid torch device such as 'cpu' or 'cuda:0', "
                         f"got {device!r}") from err
    if resolved.type == "cpu":
        return resolved
    if resolved.type != "cuda":
        raise ValueError(f"device must be a CPU or CUDA device, got {device!r}")
    if not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requests CUDA, but CUDA is not available "
                         f"(torch {torch.__version__}, torch.cuda.is_available() is False)")
    if resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ValueError(f"device={device!r} does not exist: {torch.cuda.device_count()} CUDA "
                         f"device(s) available")
    return resolved


def resolve_dtype(dtype: torch.dtype | None) -> torch.dtype:
    """The floating dtype for ``dtype`` (None: float64); only float32 and float64 exist."""
    if dtype is None:
        return torch.float64
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, "
                        f"got {type(dtype).__name__}")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dtype


def _check_schedules(schedules: Sequence[Schedule], n_steps: int, first_id: int,
                     n_ids: int) -> list[Schedule]:
    if not isinstance(schedules, Sequence) or isinstance(schedules, str) or not schedules:
        raise ValueError("schedules must be a non-empty list of (input_ptr, input_ids) pairs")
    checked = []
    for b, pair in enumerate(schedules):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"schedules[{b}] must be an (input_ptr, input_ids) pair")
        ptr, ids = (np.asarray(a) for a in pair)
        if (ptr.shape != (n_steps + 1,) or ids.ndim != 1 or ptr[0] != 0
                or ptr[-1] != ids.size or np.any(np.diff(ptr) < 0)):
            raise ValueError(f"schedules[{b}] must be a CSR over {n_steps} steps: input_ptr "
                             f"of shape ({n_steps + 1},) rising from 0 to len(input_ids)")
        if ids.size and (ids.min() < first_id or ids.max() >= n_ids):
            raise ValueError(f"schedules[{b}] input_ids must be input-source ids in "
                             f"[{first_id}, {n_ids})")
        checked.append((ptr.astype(np.int64), ids.astype(np.int64)))
    return checked


def _merge_schedules(schedules: list[Schedule], n_steps: int
                     ) -> tuple[list[int], np.ndarray, np.ndarray]:
    """All trials' input spikes as one CSR over steps: (ptr as a list, trial, id), each step's
    spikes ordered by trial, then as in that trial's schedule."""
    steps = np.concatenate([np.repeat(np.arange(n_steps), np.diff(ptr)) for ptr, _ in schedules])
    trial = np.concatenate([np.full(ids.size, b, dtype=np.int64)
                            for b, (_, ids) in enumerate(schedules)])
    ids = np.concatenate([ids for _, ids in schedules])
    order = np.argsort(steps, kind="stable")
    ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n_steps), out=ptr[1:])
    return ptr.tolist(), trial[order], ids[order]


def simulate(plan, *, schedules: Sequence[Schedule] | None = None, progress: bool = False,
             device: str | torch.device | None = None, dtype: torch.dtype | None = torch.float64
             ) -> list[BackendOutput]:
    """Run ``plan`` (:class:`snn.engine.Plan`) for one trial per entry of ``schedules``.

    ``schedules`` is a list of B ``(input_ptr, input_ids)`` pairs in the plan's layout
    (int64 CSR over the plan's steps of input-source ids); None runs the plan's own schedule
    as one trial.  ``device`` (None: CPU) and ``dtype`` (float32 or float64) select where and
    in which precision the state evolves.

    Returns one :class:`snn.backends.BackendOutput` per trial, in schedule order, as every
    backend does; float32 results are widened to float64 exactly, so that every backend's
    results have the same form.
    """
    device = resolve_device(device)
    dtype = resolve_dtype(dtype)
    n_steps = plan.n_steps
    n = plan.n_neurons
    n_ids = plan.indptr.size - 1
    if schedules is None:
        schedules = [(plan.input_ptr, plan.input_ids)]
    schedules = _check_schedules(schedules, n_steps, n, n_ids)
    n_trials = len(schedules)
    plane = n_trials * n  # elements of one state row [B, N]

    def ints(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=np.int64), device=device)

    def floats(a: np.ndarray) -> torch.Tensor:
        # float64 -> float32 rounds to nearest, as numpy's astype does.
        return torch.as_tensor(np.asarray(a, dtype=np.float64), device=device).to(dtype)

    state = floats(plan.state)[:, None, :].repeat(1, n_trials, 1)  # [5, B, N]
    depth = plan.ring.shape[0]
    ring = floats(plan.ring)[:, :, None, :].repeat(1, 1, n_trials, 1)  # [D, 2, B, N]
    state_flat, ring_flat = state.view(-1), ring.view(-1)
    i_ext = floats(plan.i_const)  # [N], the same for every trial
    current_table, current_target = floats(plan.current_table), ints(plan.current_target)
    has_table = plan.current_target.size > 0

    # The ring and direct path carry the static synapses; plastic ones transmit on arrival.
    static = plan.syn_rule < 0 if plan.plastic else np.ones(plan.targets.size, dtype=bool)
    static_indptr = plan.indptr
    if not static.all():
        pre = np.repeat(np.arange(n_ids), np.diff(plan.indptr))
        static_indptr = np.concatenate([[0], np.cumsum(np.bincount(pre[static],
                                                                   minlength=n_ids))])
    indptr, weights = ints(static_indptr), floats(plan.weights[static])
    delays = ints(plan.delays[static])
    # Flat offset of each synapse's (channel, target) cell within a [2, B, N] block, trial 0.
    cell = ints((plan.channels.astype(np.int64) * plane + plan.targets)[static])
    in_ptr, in_trial, in_ids = _merge_schedules(schedules, n_steps)
    in_trial, in_ids = ints(in_trial), ints(in_ids)

    learning = _Learning(plan, n_trials, device, dtype) if plan.plastic else None

    trial_base = torch.arange(n_trials, device=device)[:, None] * n
    probe_flat = ints(plan.probe_var * plane + plan.probe_idx)[None, :] + trial_base  # [B, M]
    probes = torch.empty((n_steps, n_trials, plan.probe_idx.size), dtype=dtype, device=device)
    recorded_mask = ints(plan.spike_mask).bool()
    recorded, recorded_counts = [], []
    fired = torch.zeros((n_trials, n), dtype=dtype, device=device)
    pops = [(int(a), int(b), m, c) for a, b, m, c in zip(plan.pop_start, plan.pop_stop,
                                                         plan.pop_models, plan.pop_coeffs)]

    drive_target = None
    if plan.drive_target.size:
        if n_trials > 1:
            raise ValueError("a network with Poisson drive runs one trial per call: its "
                             "streams are keyed by the run's seed")
        drive_target = plan.drive_target
    for t in tqdm(range(n_steps), disable=not progress, desc="torch", unit="step"):
        absolute = plan.step0 + t
        if probes.shape[2]:
            probes[t] = state_flat[probe_flat]
        if has_table:
            i_ext[current_target] = current_table[t]
        for start, stop, model, c in pops:
            rows = model.engine_rows
            s = model.state_type(*(state[row, :, start:stop] for row in rows))
            new, spike = model.step(s, i_ext[start:stop], c, heaviside, exp_torch)
            for row, values in zip(rows, new):  # row by row: no stacked temporary
                state[row, :, start:stop] = values
            fired[:, start:stop] = spike
        # Row-major nonzero: (trial, neuron) pairs ordered by trial, then neuron id.
        spiking = torch.nonzero(fired)
        kept = spiking[recorded_mask[spiking[:, 1]]]
        recorded.append(kept)
        recorded_counts.append(kept.shape[0])
        lo, hi = in_ptr[t], in_ptr[t + 1]
        # Within each trial: neurons, then input sources, as in the reference.
        spike_trial = torch.cat([spiking[:, 0], in_trial[lo:hi]])
        spike_src = torch.cat([spiking[:, 1], in_ids[lo:hi]])
        _propagate(spike_trial, spike_src, absolute, n, plane, depth, indptr, cell, delays,
                   weights, state_flat, ring_flat)
        if depth > 1:
            slot = absolute % depth
            state[1:3] += ring[slot]
            ring[slot] = 0.0
        if drive_target is not None:
            counts = drive_counts(plan.drive_key, plan.drive_mean, plan.drive_exp, absolute)
            hit = counts != 0
            # Sequential accumulation in entry order, as the other backends add them.
            state_flat.index_put_((ints(plan.drive_row[hit] * plane
                                        + plan.drive_target[hit]),),
                                  floats(counts[hit] * plan.drive_weight[hit]),
                                  accumulate=True)
        if learning is not None:
            learning.step(absolute, spike_trial, spike_src, spiking, state_flat)

    pairs = torch.cat(recorded).cpu().numpy() if recorded else np.zeros((0, 2), np.int64)
    steps = np.repeat(np.arange(n_steps, dtype=np.int64), recorded_counts)
    probes_np = probes.to(torch.float64).cpu().numpy()
    state_np = state.to(torch.float64).cpu().numpy()
    ring_np = ring.to(torch.float64).cpu().numpy()
    out = []
    for b in range(n_trials):
        mine = pairs[:, 0] == b
        out.append(BackendOutput(
            steps[mine], pairs[mine, 1].copy(), np.ascontiguousarray(probes_np[:, b]),
            np.ascontiguousarray(state_np[:, b]), np.ascontiguousarray(ring_np[:, :, b]),
            None if learning is None else PlasticOutput(*learning.result(b, plan.step0 + n_steps))))
    return out


class _Learning:
    """Pair-based STDP on the plastic synapses of every trial at once.

    The spikes of the last ``Q`` steps (``Q`` one more than the longest plastic delay) are
    kept as (trial, source) lists; at each step the plastic synapses whose delay brings one
    of them to this step are expanded from a CSR over (source, delay), and those onto the
    neurons that fired from a CSR over targets, so the work follows the events.  Arriving
    weights are added in the reference's queue order (earlier emission first, then synapse
    id), so on the CPU in float64 the sums round as the reference's; each synapse's own
    update is the rule of :mod:`snn.plasticity` on tensors, element-wise.  Weight
    dependence (``mu > 0``) uses ``torch.pow``, which may round differently from the C
    library's ``pow`` in the last bit.
    """

    def __init__(self, plan, n_trials: int, device: torch.device, dtype: torch.dtype) -> None:
        def ints(a):
            return torch.as_tensor(np.asarray(a, dtype=np.int64), device=device)

        self.device, self.n_trials, self.n = device, n_trials, plan.n_neurons
        self.plane = n_trials * self.n
        n_ids = plan.indptr.size - 1
        ids = np.flatnonzero(plan.syn_rule >= 0)  # global id of plastic synapse p
        pre = np.repeat(np.arange(n_ids), np.diff(plan.indptr))[ids]
        delay = plan.delays[ids].astype(np.int64)
        self.depth = depth = plan.queue.shape[0]
        self.ids_np, self.pre_np, self.delay_np = ids, pre, delay
        self.rule = ints(plan.syn_rule[ids])
        self.cell = ints(plan.channels[ids].astype(np.int64) * self.plane + plan.targets[ids])
        # CSR over (source, delay) and over targets, of plastic indices p.
        key = pre * depth + delay
        self.sd_order = np.argsort(key, kind="stable")
        sd_ptr = np.zeros(n_ids * depth + 1, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=n_ids * depth), out=sd_ptr[1:])
        self.sd_ptr_np = sd_ptr
        self.sd_ptr, self.sd_p = ints(sd_ptr), ints(self.sd_order)
        target = plan.targets[ids]
        post_ptr = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(np.bincount(target, minlength=self.n), out=post_ptr[1:])
        self.post_ptr, self.post_p = ints(post_ptr), ints(np.argsort(target, kind="stable"))
        self.delays_desc = sorted(set(delay.tolist()), reverse=True)
        empty = ints(np.zeros(0))
        self.events = [(empty, empty) for _ in range(depth)]
        # Arrivals still pending from an earlier run: their spikes, back in the history.
        pending = {}
        for slot in range(depth):
            for k in plan.queue[slot, :plan.queue_len[slot]]:
                emitted = (slot - int(plan.delays[k])) % depth
                src = pre[np.searchsorted(ids, k)]
                pending.setdefault(emitted, set()).add(int(src))
        for slot, sources in pending.items():
            src = np.array(sorted(sources), dtype=np.int64)
            self.events[slot] = (ints(np.repeat(np.arange(n_trials), src.size)),
                                 ints(np.tile(src, n_trials)))
        state = torch.as_tensor(plan.syn_state[ids], device=device).to(dtype)
        self.state = state[None].repeat(n_trials, 1, 1)  # [B, P, 4]
        self.params = torch.as_tensor(plan.rule_params, device=device).to(dtype)
        self.table = torch.as_tensor(plan.decay_table, device=device).to(dtype)
        self.plan_syn_state = plan.syn_state

    @staticmethod
    def _expand(ptr: torch.Tensor, order: torch.Tensor, rows: torch.Tensor,
                trials: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(trial, p) for every entry of CSR ``rows`` (entries ``order[ptr[r]:ptr[r + 1]]``)."""
        first = ptr[rows]
        count = ptr[rows + 1] - first
        total = int(count.sum())
        if total == 0:
            return trials[:0], trials[:0]
        start = torch.cumsum(count, 0) - count
        pos = (torch.repeat_interleave(first - start, count, output_size=total)
               + torch.arange(total, device=rows.device))
        return torch.repeat_interleave(trials, count, output_size=total), order[pos]

    def _event(self, b: torch.Tensor, p: torch.Tensor, absolute: int, post: bool) -> None:
        """The spike events at step ``absolute`` of the synapses ``(b, p)`` (trial, plastic
        index; each pair at most once): the rule of :func:`snn.plasticity.stdp_post_event`
        (``post``) or :func:`snn.plasticity.stdp_pre_event`, elementwise."""
        rows = self.state[b, p]
        r = self.rule[p]
        prm = self.params[r]
        # Decay factors since each synapse's last event, as the reference's _decay_factors.
        gap = absolute - rows[:, 3].to(torch.int64)
        inside = gap < self.table.shape[2]
        index = torch.where(inside, gap, 0)
        decays = []
        for trace, col in ((0, 2), (1, 3)):
            far = exp_torch(-(gap.to(rows.dtype) * prm[:, col]))
            factor = torch.where(inside, self.table[r, trace, index], far)
            decays.append(torch.where(gap != 0, factor, 1.0))
        drift = gap.to(rows.dtype) * prm[:, 7]
        if post:
            weight, pre_trace, post_trace = stdp_post_event(
                rows[:, 0], rows[:, 1], rows[:, 2], decays[0], decays[1], drift, prm[:, 0],
                prm[:, 8], prm[:, 4], prm[:, 5], prm[:, 6], _weight_dependence, torch.minimum,
                torch.maximum)
        else:
            weight, pre_trace, post_trace = stdp_pre_event(
                rows[:, 0], rows[:, 1], rows[:, 2], decays[0], decays[1], drift, prm[:, 1],
                prm[:, 4], prm[:, 5], prm[:, 6], _weight_dependence, torch.minimum,
                torch.maximum)
        rows[:, 0], rows[:, 1], rows[:, 2] = weight, pre_trace, post_trace
        rows[:, 3] = float(absolute)
        self.state[b, p] = rows

    def step(self, absolute: int, spike_trial: torch.Tensor, spike_src: torch.Tensor,
             spiking: torch.Tensor, state_flat: torch.Tensor) -> None:
        """Step 7 and 8 of the engine for every trial: ``spike_trial``/``spike_src`` are this
        step's spikes (neurons, then input sources, per trial); ``spiking`` the neurons'
        (trial, neuron) pairs."""
        self.events[absolute % self.depth] = (spike_trial, spike_src)
        parts_b, parts_p = [], []
        for d in self.delays_desc:  # earlier emission first, as queued in the reference
            trials, src = self.events[(absolute - d) % self.depth]
            if trials.numel():
                b, p = self._expand(self.sd_ptr, self.sd_p, src * self.depth + d, trials)
                parts_b.append(b)
                parts_p.append(p)
        if parts_b:
            b, p = torch.cat(parts_b), torch.cat(parts_p)
            order = torch.argsort(b, stable=True)
            b, p = b[order], p[order]
            if b.numel():
                state_flat.index_add_(0, b * self.n + self.cell[p] + self.plane,
                                      self.state[b, p, 0])
                self._event(b, p, absolute, post=False)
        if spiking.shape[0]:
            b, p = self._expand(self.post_ptr, self.post_p, spiking[:, 1], spiking[:, 0])
            if b.numel():
                self._event(b, p, absolute, post=True)

    def result(self, trial: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trial ``trial``'s learning state in the other backends' form: ``syn_state`` over
        all synapses and the queue of arrivals still pending after step ``end - 1``."""
        syn_state = self.plan_syn_state.copy()
        syn_state[self.ids_np] = self.state[trial].to(torch.float64).cpu().numpy()
        rows = []  # (emission step, synapse id, arrival step)
        for lag in range(1, self.depth):
            step = end - lag
            trials, src = self.events[step % self.depth]
            for s in src[trials == trial].cpu().numpy():
                for d in range(lag, self.depth):
                    key = s * self.depth + d
                    for p in self.sd_order[self.sd_ptr_np[key]:self.sd_ptr_np[key + 1]]:
                        rows.append((step, self.ids_np[p], step + d))
        rows.sort()
        queue_len = np.zeros(self.depth, dtype=np.int64)
        queue = np.zeros((self.depth, max(1, len(rows))), dtype=np.int64)
        for _, k, arrival in rows:
            slot = arrival % self.depth
            queue[slot, queue_len[slot]] = k
            queue_len[slot] += 1
        return syn_state, queue, queue_len


def _weight_dependence(distance: torch.Tensor, span: torch.Tensor, mu: torch.Tensor
                       ) -> torch.Tensor:
    """``(distance / span) ** mu`` elementwise, exactly 1 where ``mu == 0`` (the tensor form
    of :func:`snn.plasticity.weight_dependence_scalar`)."""
    return torch.where(mu != 0, torch.pow(distance / span, mu), 1.0)


def _propagate(trial: torch.Tensor, src: torch.Tensor, absolute: int, n: int, plane: int,
               depth: int, indptr: torch.Tensor, cell: torch.Tensor, delays: torch.Tensor,
               weights: torch.Tensor, state_flat: torch.Tensor, ring_flat: torch.Tensor) -> None:
    """Add the synapses of every spiking (``trial``, ``src``) pair to the ring slot of their
    delay, or straight to the synaptic rows of the state when no delay exists (depth 1)."""
    first = indptr[src]
    count = indptr[src + 1] - first
    total = int(count.sum())
    if total == 0:
        return
    # Synapse k of pair p is first[p] + k: one arange over all pairs, rebased per pair.
    row_start = torch.cumsum(count, 0) - count
    syn = (torch.repeat_interleave(first - row_start, count, output_size=total)
           + torch.arange(total, device=src.device))
    offset = torch.repeat_interleave(trial, count, output_size=total) * n + cell[syn]
    if depth == 1:
        state_flat.index_add_(0, offset + plane, weights[syn])  # rows 1 + channel
    else:
        slot = torch.remainder(delays[syn] + absolute, depth)
        ring_flat.index_add_(0, offset + slot * (2 * plane), weights[syn])
