"""Crossbar tiles: a weight matrix held as differential conductance pairs on analog devices.

A weight matrix ``W`` ``[out, in]`` is mapped onto pairs ``(g_plus, g_minus)`` with
``g_plus - g_minus = scale * W`` and ``scale = (g_max - g_min) / w_max``; the inputs drive the
rows (``in``), the outputs are read on the columns (``out``).  Rows are cut into tiles of at
most ``tile_rows`` (columns into ``tile_cols``); each tile's partial sums go through the ADC on
their own and are then added digitally.  The chip is programmed once (:meth:`program`, with a
chip seed: same seed, same chip), drifts to the time set by :meth:`set_time` (seconds after
programming), and every matrix product reads the devices with fresh read noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from snn._random import int_seed, torch_generator
from snn.validation import check_int, check_nonnegative, check_positive, check_real

from . import noise
from .presets import DevicePreset, get_preset

__all__ = ["AnalogMatrix", "CrossbarConfig", "quantize_adc", "quantize_uniform"]


@dataclass(frozen=True)
class CrossbarConfig:
    """Peripheral settings of the crossbar tiles.

    ``tile_rows`` x ``tile_cols``: largest tile (devices); a larger matrix is split and its
    partial sums added digitally.  ``dac_bits`` / ``dac_range`` ``(lo, hi)``: input quantisation
    (``None`` bits: ideal inputs).  ``adc_bits`` / ``adc_range``: output quantisation of each
    tile, saturating at ``+-adc_range`` (output units); ``adc_range=None`` uses the tile's full
    scale (the largest column sum of ``|W|`` times the largest input), which never saturates.
    ``drift_compensation``: scale the outputs by the global ratio of a reference read at
    programming time to one at the current time.  ``w_max``: weight magnitude mapped onto
    ``g_max - g_min`` (``None``: the matrix's largest ``|w|``).
    """

    tile_rows: int = 256
    tile_cols: int = 256
    dac_bits: int | None = None
    dac_range: tuple[float, float] = (0.0, 1.0)
    adc_bits: int | None = None
    adc_range: float | None = None
    drift_compensation: bool = True
    w_max: float | None = None

    def __post_init__(self) -> None:
        for name in ("tile_rows", "tile_cols"):
            check_int(f"CrossbarConfig.{name}", getattr(self, name), minimum=1)
        for name in ("dac_bits", "adc_bits"):
            if getattr(self, name) is not None:  # None: no converter
                check_int(f"CrossbarConfig.{name}", getattr(self, name), minimum=1)
        if not isinstance(self.dac_range, (tuple, list)) or len(self.dac_range) != 2:
            raise TypeError(f"CrossbarConfig.dac_range must be a pair (lo, hi), got "
                            f"{self.dac_range!r}")
        lo = check_real("CrossbarConfig.dac_range[0]", self.dac_range[0])
        hi = check_real("CrossbarConfig.dac_range[1]", self.dac_range[1])
        if not lo < hi:
            raise ValueError(f"CrossbarConfig.dac_range must be (lo, hi) with lo < hi, got "
                             f"{self.dac_range!r}")
        for name in ("adc_range", "w_max"):
            if getattr(self, name) is not None:
                check_positive(f"CrossbarConfig.{name}", getattr(self, name))
        if not isinstance(self.drift_compensation, bool):
            raise TypeError(f"CrossbarConfig.drift_compensation must be a bool, got "
                            f"{type(self.drift_compensation).__name__}")


def quantize_uniform(x: torch.Tensor, bits: int, lo: float, hi: float) -> torch.Tensor:
    """Clip ``x`` to ``[lo, hi]`` and round it to ``2**bits`` evenly spaced levels."""
    step = (hi - lo) / (2**bits - 1)
    return torch.round((x.clamp(lo, hi) - lo) / step) * step + lo


def quantize_adc(y: torch.Tensor, bits: int, full_scale: float) -> torch.Tensor:
    """Signed ADC saturating at ``+-full_scale``: a mid-tread quantiser with ``2**bits - 1``
    levels symmetric about 0 (zero is a level, so small outputs are not pushed to a step);
    one bit is a comparator giving ``+-full_scale / 2``."""
    codes, step = _adc_codes_(y.clone(), bits, full_scale)
    return codes.mul_(step)


def _adc_codes_(y: torch.Tensor, bits: int, full_scale: float) -> tuple[torch.Tensor, float]:
    """In place: ``y`` becomes the ADC's integer codes; returns them and the step."""
    if bits == 1:
        return y.sign_(), full_scale / 2
    half = 2 ** (bits - 1) - 1
    step = full_scale / half
    return y.mul_(1.0 / step).round_().clamp_(-half, half), step


class AnalogMatrix:
    """A weight matrix ``[out, in]`` programmed onto differential device pairs.

    ``program(rng)`` draws the chip (programming noise, device variation, stuck-at faults,
    drift exponents) from one chip seed alone; ``set_time(t)`` drifts it to ``t`` s after
    programming; :meth:`read_weight` and :meth:`matmul` read it with fresh read noise from the
    chip's read generator (seeded with the chip seed + 1) or a generator you pass.

    Args:
        weight: the matrix ``[out, in]`` (weight units), finite.
        preset: a preset name or :class:`~hardware_models.DevicePreset`.
        config: the periphery (default :class:`CrossbarConfig`).
        rng: the chip seed: an int, or a ``numpy.random.Generator`` / None from which one is
            drawn; kept as the attribute ``seed``.
        t: time after programming (s, >= 0).
    """

    def __init__(self, weight: torch.Tensor, preset: DevicePreset | str,
                 config: CrossbarConfig | None = None, *,
                 rng: int | np.random.Generator | None = 0, t: float = 0.0) -> None:
        if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
            raise ValueError(f"weight must be a 2-D tensor [out, in], got "
                             f"{getattr(weight, 'shape', type(weight).__name__)}")
        weight = weight.detach().to(torch.float64)
        if not torch.isfinite(weight).all():
            raise ValueError("weight must be finite (found NaN or inf)")
        self.preset = get_preset(preset)
        self.config = config if config is not None else CrossbarConfig()
        if not isinstance(self.config, CrossbarConfig):
            raise TypeError(f"config must be a CrossbarConfig, got {type(config).__name__}")
        self.weight = weight
        self.out_features, self.in_features = weight.shape
        w_max = self.config.w_max or float(weight.abs().max())
        self.w_max = w_max if w_max > 0 else 1.0
        self.scale = (self.preset.g_max - self.preset.g_min) / self.w_max  # S per weight unit
        self.n_row_tiles = math.ceil(self.in_features / self.config.tile_rows)
        self.rows_per_tile = min(self.config.tile_rows, self.in_features)
        self.n_col_tiles = math.ceil(self.out_features / self.config.tile_cols)
        self.t = 0.0
        self.program(rng)
        self.set_time(t)

    # ----------------------------------------------------------------- mapping
    @property
    def device(self) -> torch.device:
        return self.weight.device

    @property
    def n_tiles(self) -> int:
        return self.n_row_tiles * self.n_col_tiles

    def target_conductances(self) -> torch.Tensor:
        """Target conductances ``[2, out, in]`` (S): ``[0]`` g_plus, ``[1]`` g_minus, on the
        preset's levels."""
        w = self.weight.clamp(-self.w_max, self.w_max)
        g_min = self.preset.g_min
        g = torch.stack([g_min + self.scale * w.clamp(min=0), g_min + self.scale * (-w).clamp(
            min=0)])
        return noise.quantize_levels(g, self.preset)

    # ----------------------------------------------------------------- programming
    def program(self, rng: int | np.random.Generator | None) -> AnalogMatrix:
        """(Re-)program the chip from the chip seed ``rng`` (an int, or a
        ``numpy.random.Generator`` / None from which one is drawn): the same seed gives the
        same conductances, faults and drift exponents.  Time goes back to 0 s after
        programming."""
        self.seed = int_seed(rng)
        gen = torch.Generator().manual_seed(self.seed)
        p = self.preset
        g_target = self.target_conductances()
        shape = tuple(g_target.shape)
        dev = self.device
        n_prog = noise.draw_normals(((2,) if p.device_variation > 0 else ()) + shape, gen,
                                    device=dev)
        g_prog = noise.program(g_target, n_prog, p)
        g_prog, stuck = noise.stuck_at_faults(g_prog, noise.draw_uniforms(shape, gen, device=dev),
                                              p)
        nu = noise.sample_drift_exponents(g_target, noise.draw_normals(shape, gen, device=dev), p)
        # Stuck devices neither drift nor follow their target.
        nu = torch.where(stuck != 0, torch.zeros_like(nu), nu)
        self.g_target, self.g_prog, self.nu, self.stuck = g_target, g_prog, nu, stuck
        self.read_generator = torch.Generator(device=dev).manual_seed(self.seed + 1)
        self._ref0 = self._reference(g_prog)
        if not hasattr(self, "_full_scale"):  # the periphery keeps a calibrated range
            self._full_scale = self._compute_full_scale()
        self.t = 0.0
        self._set_drifted(0.0)
        return self

    def _reference(self, g: torch.Tensor) -> float:
        # Global drift compensation: the summed |output| for an all-ones input (a reference
        # read, taken without read noise: the calibration averages it out).
        return float(((g[0] - g[1]).sum(1)).abs().sum())

    def _set_drifted(self, t: float) -> None:
        self.g_drift = noise.drift(self.g_prog, self.nu, t, self.preset)
        self._read_cache: dict = {}
        # Devices exactly at their targets (the ideal device) hold exactly the weights.
        self._exact = (self.preset.read_noise_coeff == 0.0
                       and torch.equal(self.g_drift, self.g_target)
                       and bool((self.weight.abs() <= self.w_max).all()))
        ref_t = self._reference(self.g_drift)
        self.compensation = (self._ref0 / ref_t if self.config.drift_compensation and ref_t > 0
                             else 1.0)

    def set_time(self, t: float) -> AnalogMatrix:
        """Drift the chip to ``t`` seconds after programming (t >= 0)."""
        t = check_nonnegative("t", t, unit="s")
        self.t = t
        self._set_drifted(t)
        return self

    at = set_time

    def to(self, device) -> AnalogMatrix:
        """Move the chip's state to ``device``."""
        for name in ("weight", "g_target", "g_prog", "nu", "stuck", "g_drift"):
            setattr(self, name, getattr(self, name).to(device))
        self._read_cache = {}
        # Read noise is drawn where the devices are; the new stream restarts from the chip seed.
        self.read_generator = torch.Generator(device=self.device).manual_seed(self.seed + 1)
        return self

    # ----------------------------------------------------------------- reading
    def _read_rng(self, rng) -> torch.Generator:
        return self.read_generator if rng is None else torch_generator(rng)

    def read_conductances(self, rng: torch.Generator | int | None = None) -> torch.Tensor:
        """One read of all devices ``[2, out, in]`` (S) at the current time; the read noise
        comes from ``rng`` (a ``torch.Generator`` or an int seed) or, for None, the chip's
        read generator."""
        p = self.preset
        if p.read_noise_coeff == 0.0:
            return self.g_drift
        gen = self._read_rng(rng)
        normals = torch.randn(self.g_drift.shape, generator=gen, dtype=self.g_drift.dtype,
                              device=self.g_drift.device)
        return noise.read(self.g_drift, normals, self.t, p, g_prog=self.g_prog)

    def _read_terms(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
        # A read is g + |g| sigma n (clipped at 0 S); mean and noise amplitude are fixed
        # between set_time calls, so they are kept, in weight units and the reader's dtype.
        terms = self._read_cache.get(dtype)
        if terms is None:
            g_w = (self.g_drift / self.scale).to(dtype)
            s_w = None
            if self.preset.read_noise_coeff != 0.0:
                sigma = noise.read_noise_std(self.g_prog, self.t, self.preset)
                s_w = (self.g_drift.abs() * sigma / self.scale).to(dtype)
            terms = self._read_cache[dtype] = (g_w, s_w)
        return terms

    def read_weight(self, rng: torch.Generator | int | None = None, *,
                    compensate: bool = True, dtype: torch.dtype = torch.float64
                    ) -> torch.Tensor:
        """Weights ``[out, in]`` as one read gives them (weight units, ``dtype``), times the
        drift compensation factor when enabled.  The read noise (same law as
        :func:`noise.read`) comes from ``rng`` (a ``torch.Generator`` or an int seed) or,
        for None, the chip's read generator."""
        if self._exact:
            w = self.weight.to(dtype)
        else:
            g_w, s_w = self._read_terms(dtype)
            if s_w is None:
                w = g_w[0] - g_w[1]
            else:
                gen = self._read_rng(rng)
                n = torch.randn(g_w.shape, generator=gen, dtype=dtype, device=g_w.device)
                g = torch.addcmul(g_w, s_w, n).clamp_(min=0.0)
                w = g[0] - g[1]
        return w * self.compensation if compensate and self.compensation != 1.0 else w

    def full_scale(self) -> float:
        """ADC range of every tile (output units): ``adc_range``, a calibrated range
        (:meth:`set_adc_range`), or the tile full scale."""
        return self._full_scale

    def set_adc_range(self, full_scale: float) -> None:
        """Set the ADC range of every tile (output units, > 0), e.g. from a calibration."""
        self._full_scale = check_positive("full_scale", full_scale)

    def partial_sums(self, x: torch.Tensor) -> torch.Tensor:
        """Noise-free partial sums ``[tiles, vectors, out]`` of the target weights for inputs
        ``x`` ``[..., in]`` (after the DAC): what an ADC calibration looks at."""
        rows = self.rows_per_tile
        x2 = self.dac(x).reshape(-1, self.in_features).to(torch.float64)
        pad = self.n_row_tiles * rows - self.in_features
        w = self.weight.clamp(-self.w_max, self.w_max).to(x2.device)
        x2 = torch.nn.functional.pad(x2, (0, pad))
        w = torch.nn.functional.pad(w, (0, pad))
        return torch.bmm(x2.reshape(-1, self.n_row_tiles, rows).transpose(0, 1),
                         w.reshape(self.out_features, self.n_row_tiles, rows).permute(1, 2, 0))

    def _compute_full_scale(self) -> float:
        """Largest possible |partial sum| of one tile for inputs within the DAC range."""
        if self.config.adc_range is not None:
            return float(self.config.adc_range)
        rows = self.rows_per_tile
        x_max = max(abs(v) for v in self.config.dac_range)
        w = self.weight.clamp(-self.w_max, self.w_max).abs()
        pad = self.n_row_tiles * rows - self.in_features
        w = torch.nn.functional.pad(w, (0, pad)).reshape(self.out_features, self.n_row_tiles, rows)
        return float(w.sum(2).max()) * x_max or 1.0

    def dac(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        return x if c.dac_bits is None else quantize_uniform(x, c.dac_bits, *c.dac_range)

    def matmul(self, x: torch.Tensor, rng: torch.Generator | int | None = None,
               bias: torch.Tensor | None = None) -> torch.Tensor:
        """``x @ W.T (+ bias)`` through the crossbar for ``x`` ``[..., in]``: DAC, one noisy
        read (noise from ``rng`` as in :meth:`read_weight`), tiles with per-tile ADC, digital
        sum, drift compensation, digital bias; returns ``[..., out]``."""
        c = self.config
        x = self.dac(x)
        if bias is not None:
            bias = bias.to(x.dtype)
        if c.adc_bits is None:
            # Without an ADC the tiling is exact arithmetic: one product (and the same
            # product as the clean layer, so an ideal device reproduces it bit for bit).
            w = self.read_weight(rng, dtype=x.dtype)
            return torch.nn.functional.linear(x, w, bias)
        w = self.read_weight(rng, compensate=False, dtype=x.dtype)
        rows = self.rows_per_tile
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        pad = self.n_row_tiles * rows - self.in_features
        if pad:
            x2 = torch.nn.functional.pad(x2, (0, pad))
            w = torch.nn.functional.pad(w, (0, pad))
        # Partial sums of every tile: [tiles, vectors, out], one batched product.
        x3 = x2.reshape(-1, self.n_row_tiles, rows).transpose(0, 1)
        w3 = w.reshape(self.out_features, self.n_row_tiles, rows).permute(1, 2, 0)
        # In place on the fresh product: codes, digital sum over tiles, then one multiply by
        # step x compensation (the noisy path should cost little more than the clean one).
        codes, step = _adc_codes_(torch.bmm(x3, w3), c.adc_bits, self.full_scale())
        y = (codes[0] if self.n_row_tiles == 1 else codes.sum(0)).mul_(step * self.compensation)
        y = y.reshape(*lead, self.out_features)
        return y if bias is None else y.add_(bias)
