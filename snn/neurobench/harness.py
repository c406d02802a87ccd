"""snnsim models inside NeuroBench's harness (``neurobench.benchmarks.Benchmark``).

Needs the ``neurobench`` package (extra ``neurobench``; see the guide for installing it
without its ``torchaudio`` and ``tonic`` requirements, which its core does not import).

* :class:`TimeMajorModel`: wraps a torch module that takes time-major ``[T, B, ...]`` input
  (every :mod:`snn.layers` model) for the harness, which feeds batch-first ``[B, T, ...]``
  data; its :class:`snn.layers.LIF` family layers count as activation (spiking) layers and
  its :class:`snn.layers.DelayedLinear` layers are recorded for
  :class:`DelayedSynapticOperations`.
* :class:`LayerMembraneUpdates`: NeuroBench's membrane-update count for snnsim's multi-step
  layers, whose per-step potentials the harness cannot see (it replays each layer one step
  at a time on the input it recorded).
* :class:`DelayedSynapticOperations`: synaptic operations of :class:`~snn.layers.DelayedLinear`
  layers at their rounded delays (the harness only knows ``Linear``, ``Conv`` and RNN layers).
* :class:`ESNModule`, :func:`esn_model`: a fitted :class:`snn.neurobench.ESNPredictor` as a
  torch module the harness runs free-running, batch = consecutive steps, as NeuroBench's
  own echo state network example runs.
* :func:`sequence_loader`: a ``DataLoader`` of batch-first tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from neurobench.hooks.layer import LayerHook
from neurobench.metrics.abstract.workload_metric import AccumulatedMetric
from neurobench.models import NeuroBenchModel, TorchModel
from torch import nn

from ..layers import LIF, DelayedLinear, LayerState
from .mackey_glass import ESNPredictor
from .metrics import layer_operations, membrane_updates, total_operations

__all__ = ["TimeMajorModel", "LayerMembraneUpdates", "DelayedSynapticOperations",
           "ESNModule", "esn_model", "sequence_loader"]


class TimeMajorModel(NeuroBenchModel):
    """A time-major snnsim torch model for NeuroBench's harness.

    Args:
        net: a module mapping ``[T, B, ...]`` to ``[T, B, ...]`` (or to ``[B, ...]`` with
            ``output="batch"``).
        output: ``"sequence"`` (the output is time-major and is returned batch-first
            ``[B, T, ...]``) or ``"batch"`` (returned as is).
    """

    def __init__(self, net: nn.Module, output: str = "sequence") -> None:
        super().__init__()
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        if output not in ("sequence", "batch"):
            raise ValueError(f"output must be 'sequence' or 'batch', got {output!r}")
        self.net = net
        self.net.eval()
        self.output = output
        self.add_activation_module(LIF)  # ALIF and IF are subclasses

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Run the model on batch-first ``[B, T, ...]`` data (NeuroBench's layout)."""
        with torch.no_grad():
            out = self.net(batch.transpose(0, 1))
        return out.transpose(0, 1) if self.output == "sequence" else out

    def __net__(self) -> nn.Module:
        """The wrapped module."""
        return self.net

    def register_hooks(self) -> None:
        """The harness's hooks, plus input hooks on every DelayedLinear layer."""
        super().register_hooks()
        for module in self.net.modules():
            if isinstance(module, DelayedLinear):
                self.connection_hooks.append(LayerHook(module))


class LayerMembraneUpdates(AccumulatedMetric):
    """Membrane updates per sample of snnsim's spiking layers in a :class:`TimeMajorModel`
    (NeuroBench's definition: every neuron at the first step, then each change of a
    neuron's potential from one step to the next)."""

    def __init__(self) -> None:
        super().__init__(requires_hooks=True)
        self.reset()

    def reset(self) -> None:
        """Forget the accumulated counts."""
        self.updates = 0.0
        self.total_samples = 0

    def __call__(self, model: NeuroBenchModel, preds: torch.Tensor, data: tuple) -> float:
        """Count the updates of the batch just run."""
        batch = int(data[0].size(0))
        for hook in model.activation_hooks:
            if not isinstance(hook.layer, LIF):
                continue
            recorded = list(hook.activation_inputs)
            # replay without the harness's hooks, which would record the replay too
            hook.close()
            try:
                for inputs in recorded:
                    x = inputs[0] if isinstance(inputs, tuple) else inputs
                    self.updates += membrane_updates(_potentials(hook.layer, x), 1)
            finally:
                hook.hook = hook.layer.register_forward_hook(hook.hook_fn)
                hook.hook_pre = hook.layer.register_forward_pre_hook(hook.pre_hook_fn)
        self.total_samples += batch
        return self.compute()

    def compute(self) -> float:
        """Updates per sample so far."""
        return 0.0 if self.total_samples == 0 else self.updates / self.total_samples


def _potentials(layer: LIF, x: torch.Tensor) -> torch.Tensor:
    """The layer's potential after every step ``[T, B, ...]``, one step at a time."""
    state, out = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            _, state = layer(x[t:t + 1], state, return_state=True)
            out.append(state.v.clone())
            state = LayerState(state.v, state.adaptation)
    return torch.stack(out)


class DelayedSynapticOperations(AccumulatedMetric):
    """Synaptic operations per sample of the :class:`~snn.layers.DelayedLinear` layers of a
    :class:`TimeMajorModel`, at their rounded delays (one operation per nonzero input and
    nonzero weight whose delayed arrival falls within the sequence; dense: every weight at
    every step).  Add it beside NeuroBench's ``SynapticOperations``, which counts the other
    layers."""

    def __init__(self) -> None:
        super().__init__(requires_hooks=True)
        self.reset()

    def reset(self) -> None:
        """Forget the accumulated counts."""
        self.layers = []
        self.total_samples = 0

    def __call__(self, model: NeuroBenchModel, preds: torch.Tensor, data: tuple) -> dict:
        """Count the operations of the batch just run."""
        for hook in model.connection_hooks:
            if not isinstance(hook.layer, DelayedLinear):
                continue
            layer = hook.layer
            delays = layer.delay.detach().round().clamp(0, layer.max_delay_steps)
            for inputs in hook.inputs:
                x = inputs[0] if isinstance(inputs, tuple) else inputs
                self.layers.append(layer_operations(layer.weight, x, delays.long()))
        self.total_samples += int(data[0].size(0))
        return self.compute()

    def compute(self) -> dict:
        """``{"Effective_MACs", "Effective_ACs", "Dense"}`` per sample so far."""
        if self.total_samples == 0:
            return {"Effective_MACs": 0.0, "Effective_ACs": 0.0, "Dense": 0.0}
        return total_operations(self.layers, self.total_samples)


class ESNModule(nn.Module):
    """A fitted :class:`~snn.neurobench.ESNPredictor` as torch layers (float64):
    ``input`` (``W_in`` and the bias), ``recurrent`` (``W``), ``activation`` (tanh) and
    ``readout`` (on ``[u, x]``, with its intercept).  The state is not a buffer (it is not
    part of the footprint, as in NeuroBench's own example).

    ``forward`` treats a batch ``[B, 1, 1]`` as ``B`` consecutive steps, free-running:
    only the first sample is read; each later input is the previous prediction.

    Args:
        predictor: a fitted predictor (its state continues from its training run).
    """

    def __init__(self, predictor: ESNPredictor) -> None:
        super().__init__()
        if not isinstance(predictor, ESNPredictor) or predictor.readout is None:
            raise TypeError("predictor must be a fitted ESNPredictor")
        n = predictor.n_neurons
        dtype = torch.float64 if predictor.dtype == np.float64 else torch.float32
        self.input = nn.Linear(1, n, bias=True, dtype=dtype)
        self.recurrent = nn.Linear(n, n, bias=False, dtype=dtype)
        self.readout = nn.Linear(n + 1, 1, bias=True, dtype=dtype)
        self.activation = nn.Tanh()
        with torch.no_grad():
            self.input.weight.copy_(torch.from_numpy(predictor.W_in))
            self.input.bias.copy_(torch.from_numpy(predictor.bias))
            self.recurrent.weight.copy_(torch.from_numpy(predictor.W))
            self.readout.weight.copy_(torch.from_numpy(predictor.readout.coef_.T))
            self.readout.bias.copy_(torch.from_numpy(predictor.readout.intercept_))
        self.leak = predictor.leak
        self.state = torch.from_numpy(predictor.state_after_fit.copy())[None, :]

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """``[B, 1, 1]`` -> predictions ``[B, 1]`` (free-running)."""
        out = []
        u = batch[0].reshape(1, 1).to(torch.float64)
        for _ in range(batch.shape[0]):
            pre = self.recurrent(self.state) + self.input(u)
            self.state = (1 - self.leak) * self.state + self.leak * self.activation(pre)
            u = self.readout(torch.cat([u, self.state], dim=1))
            out.append(u)
        return torch.cat(out, 0)


def esn_model(predictor: ESNPredictor) -> TorchModel:
    """A fitted predictor as a NeuroBench ``TorchModel`` whose tanh counts as an activation
    layer."""
    model = TorchModel(ESNModule(predictor))
    model.add_activation_module(nn.Tanh)
    return model


def sequence_loader(inputs: np.ndarray | torch.Tensor, targets: np.ndarray | torch.Tensor,
                    batch_size: int) -> torch.utils.data.DataLoader:
    """A DataLoader (no shuffling) over ``(inputs[i], targets[i])`` pairs.

    Args:
        inputs: ``[N, ...]`` batch-first samples (numpy or torch).
        targets: ``[N, ...]`` targets.
        batch_size: samples per batch (>= 1).

    Returns:
        The loader.
    """
    x = torch.as_tensor(np.asarray(inputs) if not torch.is_tensor(inputs) else inputs)
    y = torch.as_tensor(np.asarray(targets) if not torch.is_tensor(targets) else targets)
    dataset = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(dataset, batch_size=int(batch_size), shuffle=False)
