"""Analog emulation of trained models: torch layers and engine projections.

:func:`convert` copies a torch model and replaces each ``nn.Linear``, ``nn.Conv1d``,
``nn.Conv2d`` and ``snn.layers.DelayedLinear`` by an analog layer whose weights live on a
programmed :class:`~hardware_models.crossbar.AnalogMatrix`; the spiking neurons (``LIF``,
``ALIF``, ``IF``), norms and biases stay digital.  :func:`apply` does the same for the
projections of an engine :class:`snn.Network`.  Re-programming (:func:`reprogram`) and the time
after programming (:func:`set_time`) are explicit calls; a fixed chip seed gives a fixed chip.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from snn._random import int_seed
from snn.layers import DelayedLinear, delayed_linear
from snn.validation import check_nonnegative, check_real

from .crossbar import AnalogMatrix, CrossbarConfig

if TYPE_CHECKING:  # pragma: no cover
    from snn.network import Network
from .presets import DevicePreset, get_preset

__all__ = ["AnalogConv", "AnalogDelayedLinear", "AnalogLinear", "analog_layers", "apply",
           "calibrate_adc", "convert", "reprogram", "set_time"]


def _layer_seed(seed: int, index: int) -> int:
    # Independent, reproducible streams per layer from one chip seed.
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


class _AnalogLayer(nn.Module):
    """Common part: the crossbar, its chip seed, and an optional digital bias.  ``rng``: the
    chip seed, as in :class:`~hardware_models.crossbar.AnalogMatrix`."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, preset: DevicePreset,
                 config: CrossbarConfig, rng: int, t: float) -> None:
        super().__init__()
        self.crossbar = AnalogMatrix(weight.reshape(weight.shape[0], -1), preset, config,
                                     rng=rng, t=t)
        self.weight_shape = tuple(weight.shape)
        self.register_buffer("bias", None if bias is None else bias.detach().clone())
        self.generator: torch.Generator | None = None

    def program(self, rng: int) -> None:
        self.crossbar.program(rng)

    def set_time(self, t: float) -> None:
        self.crossbar.set_time(t)

    def _apply(self, fn, recurse=True):
        # Module.to / .cuda move buffers; the crossbar's tensors follow.
        result = super()._apply(fn, recurse)
        probe = fn(torch.zeros(1, dtype=torch.float64))
        if probe.device != self.crossbar.device:
            self.crossbar.to(probe.device)
        return result

    def extra_repr(self) -> str:
        c = self.crossbar
        return (f"{self.weight_shape}, preset={c.preset.name!r}, t={c.t:g} s, seed={c.seed}, "
                f"tiles={c.n_row_tiles}x{c.n_col_tiles}")


class AnalogLinear(_AnalogLayer):
    """``nn.Linear`` on a crossbar: ``y = crossbar(x) + bias`` for ``x`` ``[..., in]``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.crossbar.matmul(x, self.generator, self.bias)


class AnalogConv(_AnalogLayer):
    """``nn.Conv1d`` / ``nn.Conv2d`` on a crossbar (im2col: one crossbar row per input
    channel x kernel position)."""

    def __init__(self, conv: nn.Conv1d | nn.Conv2d, preset, config, rng, t) -> None:
        if conv.groups != 1 or conv.padding_mode != "zeros":
            raise ValueError("convert supports convolutions with groups=1 and zero padding, "
                             f"got groups={conv.groups}, padding_mode={conv.padding_mode!r}")
        if isinstance(conv.padding, str):
            raise ValueError(f"convert needs numeric conv padding, got {conv.padding!r}")
        super().__init__(conv.weight, conv.bias, preset, config, rng, t)
        self.dims = 1 if isinstance(conv, nn.Conv1d) else 2
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation

    def _as_2d(self, v: tuple, fill: int = 1) -> tuple:
        return (fill, *v) if self.dims == 1 else tuple(v)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cb = self.crossbar
        if cb.config.adc_bits is None:
            w = cb.read_weight(self.generator, dtype=x.dtype).reshape(self.weight_shape)
            conv = nn.functional.conv1d if self.dims == 1 else nn.functional.conv2d
            bias = None if self.bias is None else self.bias.to(x.dtype)
            return conv(cb.dac(x), w, bias, self.stride, self.padding, self.dilation)
        else:
            x4 = x.unsqueeze(-2) if self.dims == 1 else x
            kernel = self._as_2d(self.weight_shape[2:])
            cols = nn.functional.unfold(x4, kernel, dilation=self._as_2d(self.dilation),
                                        padding=self._as_2d(self.padding, 0),
                                        stride=self._as_2d(self.stride))  # [B, C*k, L]
            y = cb.matmul(cols.transpose(1, 2), self.generator).transpose(1, 2)
            h_out = (x4.shape[-2] + 2 * self._as_2d(self.padding, 0)[0]
                     - self._as_2d(self.dilation)[0] * (kernel[0] - 1) - 1) \
                // self._as_2d(self.stride)[0] + 1
            y = y.reshape(x.shape[0], self.weight_shape[0], h_out, -1)
            if self.dims == 1:
                y = y.squeeze(-2)
        if self.bias is not None:
            y = y + self.bias.to(y.dtype).reshape(-1, *([1] * self.dims))
        return y


class AnalogDelayedLinear(_AnalogLayer):
    """``DelayedLinear`` whose weights are read from a crossbar (one read per forward) while
    its delays stay as trained.  The delay line mixes time steps before the sum, so there is
    no per-tile ADC here: the DAC and the drift compensation apply, ``adc_bits`` is ignored."""

    def __init__(self, layer: DelayedLinear, preset, config, rng, t) -> None:
        super().__init__(layer.weight, layer.bias, preset, config, rng, t)
        self.register_buffer("delay", layer.delay.detach().clone())
        self.max_delay_steps = layer.max_delay_steps
        self.sigma = float(layer.sigma)
        self.backend = layer.backend
        self.in_features, self.out_features = layer.in_features, layer.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.crossbar.read_weight(self.generator, dtype=x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return delayed_linear(self.crossbar.dac(x), w, self.delay.to(x.dtype),
                              self.max_delay_steps, sigma=self.sigma, bias=bias,
                              backend=self.backend)


def _convertible(module: nn.Module) -> bool:
    return isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, DelayedLinear))


def convert(model: nn.Module, preset: DevicePreset | str, *,
            rng: int | np.random.Generator | None = 0, t: float = 0.0,
            config: CrossbarConfig | None = None) -> nn.Module:
    """A copy of ``model`` with its weight layers on analog crossbars.  The original model is
    untouched.

    Args:
        model: a torch module; its ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and
            ``DelayedLinear`` layers go onto crossbars.
        preset: a preset name or :class:`~hardware_models.DevicePreset`.
        rng: the chip seed ``s``: an int, or a ``numpy.random.Generator`` / None from which
            one is drawn.  Layer ``k`` (in module order) gets ``SeedSequence([s, k])``.
        t: time after programming (s, >= 0).
        config: the periphery (default :class:`~hardware_models.CrossbarConfig`).

    Returns:
        The analog copy.
    """
    preset = get_preset(preset)
    t = check_nonnegative("t", t, unit="s")
    config = CrossbarConfig() if config is None else config
    if not isinstance(config, CrossbarConfig):
        raise TypeError(f"config must be a CrossbarConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    seed = int_seed(rng)
    for name, p in model.named_parameters():
        if not torch.isfinite(p).all():
            raise ValueError(f"model parameter {name!r} has NaN or inf values")
    analog = copy.deepcopy(model)
    counter = [0]

    def make(module: nn.Module) -> nn.Module:
        s = _layer_seed(seed, counter[0])
        counter[0] += 1
        if isinstance(module, DelayedLinear):
            return AnalogDelayedLinear(module, preset, config, s, t)
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            return AnalogConv(module, preset, config, s, t)
        return AnalogLinear(module.weight, module.bias, preset, config, s, t)

    if _convertible(analog):
        return make(analog)

    def walk(parent: nn.Module) -> None:
        for name, child in parent.named_children():
            if _convertible(child):
                setattr(parent, name, make(child))
            else:
                walk(child)

    walk(analog)
    return analog


def analog_layers(model: nn.Module) -> list[_AnalogLayer]:
    """The analog layers of a converted model, in module order."""
    return [m for m in model.modules() if isinstance(m, _AnalogLayer)]


def reprogram(model: nn.Module, rng: int | np.random.Generator | None) -> nn.Module:
    """Program every analog layer of ``model`` again (time -> 0 s) from the chip seed ``rng``
    (an int, or a ``numpy.random.Generator`` / None from which one is drawn; layers get
    seeds as in :func:`convert`); returns ``model``."""
    seed = int_seed(rng)
    for k, layer in enumerate(analog_layers(model)):
        layer.program(_layer_seed(seed, k))
    return model


def set_time(model: nn.Module, t: float) -> nn.Module:
    """Drift every analog layer of ``model`` to ``t`` seconds after programming."""
    t = check_nonnegative("t", t, unit="s")
    for layer in analog_layers(model):
        layer.set_time(t)
    return model


def _columns(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The crossbar row inputs ``[vectors, in]`` that layer ``module`` sees for input ``x``."""
    conv = module if isinstance(module, (nn.Conv1d, nn.Conv2d)) else None
    if isinstance(module, AnalogConv):
        conv = module
    if conv is None:
        return x.reshape(-1, x.shape[-1])
    dims = 1 if isinstance(conv, nn.Conv1d) or getattr(conv, "dims", 2) == 1 else 2
    kernel = (conv.weight_shape if isinstance(conv, AnalogConv) else conv.weight.shape)[2:]
    def as2(v, fill=1):
        return (fill, *v) if dims == 1 else tuple(v)

    x4 = x.unsqueeze(-2) if dims == 1 else x
    cols = nn.functional.unfold(x4, as2(tuple(kernel)), dilation=as2(conv.dilation),
                                padding=as2(conv.padding, 0), stride=as2(conv.stride))
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


@torch.no_grad()
def calibrate_adc(model: nn.Module, x: torch.Tensor, quantile: float = 0.999) -> list[float]:
    """Set each analog layer's ADC range to the ``quantile`` of its noise-free ``|partial
    sums|`` on calibration input ``x`` (one run of ``model``), instead of the worst-case full
    scale; returns the ranges.  Outputs beyond the range saturate."""
    quantile = check_real("quantile", quantile, minimum=0.0, maximum=1.0,
                          exclusive_minimum=True)
    layers = analog_layers(model)
    ranges: dict[nn.Module, float] = {}

    def hook(module, inputs, _output):
        xin = inputs[0]
        if isinstance(module, AnalogConv):
            xin = _columns(module, xin)
        partial = module.crossbar.partial_sums(xin).abs().flatten()
        if partial.numel() > 1_000_000:  # torch.quantile's size limit; a strided subsample
            partial = partial[:: partial.numel() // 1_000_000 + 1]
        ranges[module] = max(float(torch.quantile(partial, quantile)), 1e-12)

    handles = [layer.register_forward_hook(hook) for layer in layers
               if not isinstance(layer, AnalogDelayedLinear)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    for layer, r in ranges.items():
        layer.crossbar.set_adc_range(r)
    return [ranges[layer] for layer in layers if layer in ranges]


def apply(network: Network, preset: DevicePreset | str, *,
          rng: int | np.random.Generator | None = 0, t: float = 0.0,
          config: CrossbarConfig | None = None,
          read_rng: int | np.random.Generator | None = None) -> Network:
    """A copy of engine network ``network`` whose projection weights are one read of analog
    devices.  Each projection is one matrix of its synapses (``w_max`` = its largest
    ``|w|``); the engine then uses these weights for every spike, i.e. the read noise is
    frozen for the run.  ``network`` is untouched.

    Args:
        network: an :class:`snn.Network`.
        preset: a preset name or :class:`~hardware_models.DevicePreset`.
        rng: the chip seed ``s`` (an int, or a ``numpy.random.Generator`` / None from which
            one is drawn); projection ``k`` gets ``SeedSequence([s, k])``.
        t: time after programming (s, >= 0).
        config: the periphery (default :class:`~hardware_models.CrossbarConfig`).
        read_rng: the seed of the read noise, taken like ``rng`` (default: the chip seed).

    Returns:
        The analog copy of the network.
    """
    from snn.network import Network

    if not isinstance(network, Network):
        raise TypeError(f"network must be an snn.Network, got {type(network).__name__}")
    preset = get_preset(preset)
    t = check_nonnegative("t", t, unit="s")
    config = CrossbarConfig() if config is None else config
    seed = int_seed(rng)
    read_seed = seed if read_rng is None else int_seed(read_rng, "read_rng")
    result = copy.deepcopy(network)
    for k, proj in enumerate(list(result.projections)):
        weights = torch.from_numpy(np.asarray(proj.weights, dtype=np.float64)).reshape(-1, 1)
        if weights.numel() == 0:
            continue
        if not torch.isfinite(weights).all():
            raise ValueError(f"projection {k} ({proj.pre} -> {proj.post}) has NaN weights")
        chip = AnalogMatrix(weights, preset, config, rng=_layer_seed(seed, k), t=t)
        gen = torch.Generator().manual_seed(_layer_seed(read_seed, 10_000 + k))
        read = chip.read_weight(gen).reshape(-1).numpy().astype(proj.weights.dtype)
        result.set_weights(k, read, order="csr")
    return result
