"""A cochlea-like front end that turns sound into spikes.

Pipeline, per utterance (all in SI units):

1. level normalisation: remove the mean, scale to unit RMS;
2. a bank of gammatone band-pass filters (order 4 by default) whose centre frequencies are
   spaced evenly on the ERB-rate scale of Glasberg & Moore (1990), with bandwidths of
   1.019 ERB.  Each filter is the cascade of ``order`` identical complex one-pole sections
   (Hohmann 2002, Acta Acustica 88:433): its impulse response is a sampled gammatone up to a
   polynomial factor, the magnitude of this complex (analytic) filter peaks exactly at the
   centre frequency, and the gain ``(1 - |pole|)`` per section makes that peak 1.  Twice the
   real part of the output is the basilar-membrane motion of a real filter, whose peak lies
   within 1 % of the centre frequency (its mirror image at negative frequencies adds a
   little);
3. inner hair cell: half-wave rectification, compression (cube root by default) and a
   first-order low-pass (``smoothing_tau``), then block means over the encoder step ``dt``;
4. loudness normalisation: the drive is divided by its ``level_percentile``-th percentile
   over all channels and steps, so quiet and loud speakers reach the same rates;
5. one leaky integrate-and-fire neuron per channel (``tau_m dv/dt = drive - v``, integrated
   exactly over each step) that spikes when ``v > threshold``, resets to 0 and is held at 0
   for ``refractory`` seconds: the LIF of :mod:`snn.models`, run by
   :func:`snn.data.encoders.lif_encode`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from ..models import LIFParams
from ..validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from .encoders import lif_encode, lif_encoder_params

__all__ = [
    "CochleaConfig",
    "erb",
    "erb_rate",
    "centre_frequencies",
    "gammatone_response",
    "cochlea_drive",
    "audio_to_spikes",
]

COMPRESSIONS = ("cube_root", "log", "none")
# log compression: log(1 + _LOG_SCALE * x), x in units of the signal's RMS.
_LOG_SCALE = 100.0


@dataclass(frozen=True)
class CochleaConfig:
    """Settings of the filterbank and the LIF encoder (SI units: Hz, s).

    The defaults suit 8 kHz speech (the Free Spoken Digit Dataset): 64 channels from 100 Hz
    to 3.5 kHz, giving tens of spikes per second per channel during speech.  Use
    ``n_channels=700`` to mimic the input size of SHD/SSC.
    """

    n_channels: int = 64  #: number of filters, one LIF neuron each
    f_min: float = 100.0  #: centre frequency of the lowest channel (Hz)
    f_max: float = 3500.0  #: centre frequency of the highest channel (Hz); < sample_rate / 2
    filter_order: int = 4  #: gammatone order (cascaded complex one-pole sections)
    bandwidth: float = 1.019  #: filter bandwidth parameter b, in ERB at the centre frequency
    compression: str = "cube_root"  #: "cube_root", "log" (log(1 + 100 x)) or "none"
    smoothing_tau: float = 2e-3  #: hair-cell low-pass time constant (s)
    normalise_level: bool = True  #: scale each utterance to unit RMS before filtering
    level_percentile: float = 99.0  #: drive percentile that is scaled to 1 (loudness)
    threshold: float = 0.35  #: LIF threshold, in units of that reference drive
    tau_m: float = 10e-3  #: LIF membrane time constant (s)
    refractory: float = 2e-3  #: LIF refractory period (s)
    dt: float = 5e-4  #: encoder step (s), rounded to a whole number of audio samples

    def __post_init__(self) -> None:
        name = "CochleaConfig."
        check_int(name + "n_channels", self.n_channels, minimum=1)
        check_int(name + "filter_order", self.filter_order, minimum=1)
        check_positive(name + "f_min", self.f_min, unit="Hz")
        check_positive(name + "f_max", self.f_max, unit="Hz")
        if self.f_max < self.f_min:
            raise ValueError(f"CochleaConfig.f_max ({self.f_max} Hz) must be >= f_min "
                             f"({self.f_min} Hz)")
        if self.n_channels > 1 and self.f_max == self.f_min:
            raise ValueError("CochleaConfig.f_max must be > f_min when n_channels > 1")
        check_positive(name + "bandwidth", self.bandwidth)
        check_choice(name + "compression", self.compression, COMPRESSIONS)
        check_positive(name + "smoothing_tau", self.smoothing_tau, unit="s")
        if not isinstance(self.normalise_level, bool):
            raise TypeError("CochleaConfig.normalise_level must be a bool")
        check_real(name + "level_percentile", self.level_percentile, minimum=0.0,
                   exclusive_minimum=True, maximum=100.0)
        check_positive(name + "threshold", self.threshold)
        check_positive(name + "tau_m", self.tau_m, unit="s")
        check_nonnegative(name + "refractory", self.refractory, unit="s")
        check_positive(name + "dt", self.dt, unit="s")

    def to_dict(self) -> dict:
        """The settings as a plain dict (JSON-ready)."""
        return asdict(self)

    def lif_params(self) -> LIFParams:
        """The encoder neuron as :class:`~snn.models.LIFParams` (threshold, ``tau_m``,
        refractory period of this config; rest and reset at 0, ``r_m = 1``)."""
        return lif_encoder_params(self.threshold, self.tau_m, self.refractory)

    def step_samples(self, sample_rate: float) -> int:
        """Audio samples per encoder step at ``sample_rate`` (Hz): ``round(dt * rate)``, >= 1."""
        return max(1, int(round(self.dt * sample_rate)))

    def check_sample_rate(self, sample_rate: float) -> None:
        """Raise ``ValueError`` unless ``sample_rate`` (Hz) can carry ``f_max``."""
        sample_rate = check_positive("sample_rate", sample_rate, unit="Hz")
        if self.f_max >= sample_rate / 2:
            raise ValueError(f"CochleaConfig.f_max ({self.f_max} Hz) must be below the Nyquist "
                             f"frequency sample_rate / 2 = {sample_rate / 2} Hz")


def erb(frequency: np.ndarray | float) -> np.ndarray | float:
    """Equivalent rectangular bandwidth (Hz) at ``frequency`` (Hz), Glasberg & Moore 1990."""
    return 24.7 * (4.37e-3 * np.asarray(frequency) + 1.0)


def erb_rate(frequency: np.ndarray | float) -> np.ndarray | float:
    """ERB-rate (number of ERBs below ``frequency`` in Hz), Glasberg & Moore 1990."""
    return 21.4 * np.log10(4.37e-3 * np.asarray(frequency) + 1.0)


def _inverse_erb_rate(e: np.ndarray) -> np.ndarray:
    return (10.0 ** (np.asarray(e) / 21.4) - 1.0) / 4.37e-3


def centre_frequencies(config: CochleaConfig) -> np.ndarray:
    """Centre frequencies (Hz) [n_channels], evenly spaced in ERB-rate, low to high."""
    if config.n_channels == 1:
        return np.array([float(config.f_min)])
    e = np.linspace(erb_rate(config.f_min), erb_rate(config.f_max), config.n_channels)
    f = _inverse_erb_rate(e)
    f[0], f[-1] = config.f_min, config.f_max  # exact ends, free of round-off
    return f


def _poles(config: CochleaConfig, sample_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Complex pole [C] and per-section gain [C] of each channel's one-pole sections."""
    fc = centre_frequencies(config)
    b = config.bandwidth * erb(fc)
    radius = np.exp(-2.0 * np.pi * b / sample_rate)
    pole = radius * np.exp(2j * np.pi * fc / sample_rate)
    return pole, 1.0 - radius


def gammatone_response(frequencies: np.ndarray, sample_rate: float,
                       config: CochleaConfig | None = None) -> np.ndarray:
    """Complex frequency response [F, C] of each channel's real output (2 Re of the cascade).

    ``frequencies`` in Hz [F].  The analytic (complex) cascade has response
    ``((1 - r) / (1 - p e^{-iw}))^order``, 1 at the centre frequency; the real output adds its
    mirror image at ``-f``, which is negligible except near 0 Hz and Nyquist.
    """
    config = config or CochleaConfig()
    config.check_sample_rate(sample_rate)
    pole, gain = _poles(config, sample_rate)
    z = np.exp(-2j * np.pi * np.asarray(frequencies, dtype=float)[:, None] / sample_rate)
    analytic = (gain / (1.0 - pole * z)) ** config.filter_order
    mirror = (gain / (1.0 - np.conj(pole) * z)) ** config.filter_order
    return analytic + mirror


@njit(cache=True, nogil=True)
def _filter_kernel(x, pole_re, pole_im, gain, order):  # pragma: no cover
    # Time outer, channels inner: the channel loops vectorise, the recursion runs along time.
    n_ch = pole_re.size
    out = np.empty((x.size, n_ch))
    sr = np.zeros((order, n_ch))
    si = np.zeros((order, n_ch))
    ur = np.empty(n_ch)
    ui = np.empty(n_ch)
    for n in range(x.size):
        xn = x[n]
        for c in range(n_ch):
            ur[c] = xn
            ui[c] = 0.0
        for s in range(order):
            for c in range(n_ch):
                yr = gain[c] * ur[c] + pole_re[c] * sr[s, c] - pole_im[c] * si[s, c]
                yi = gain[c] * ui[c] + pole_re[c] * si[s, c] + pole_im[c] * sr[s, c]
                sr[s, c] = yr
                si[s, c] = yi
                ur[c] = yr
                ui[c] = yi
        for c in range(n_ch):
            # Twice the real part of the analytic output is the real filter's output;
            # the hair cell passes its positive half.
            out[n, c] = max(2.0 * ur[c], 0.0)
    return out


@njit(cache=True, nogil=True)
def _smooth_kernel(r, smooth, step):  # pragma: no cover
    n_samples, n_ch = r.shape
    n_blocks = -(-n_samples // step)
    out = np.zeros((n_blocks, n_ch))
    low = np.zeros(n_ch)
    for n in range(n_samples):
        blk = n // step
        for c in range(n_ch):
            low[c] += smooth * (r[n, c] - low[c])
            out[blk, c] += low[c]
    for blk in range(n_blocks):
        width = min(step, n_samples - blk * step)
        for c in range(n_ch):
            out[blk, c] /= width
    return out


def cochlea_drive(signal: np.ndarray, sample_rate: float,
                  config: CochleaConfig | None = None) -> np.ndarray:
    """Hair-cell drive [n_steps, n_channels] of a mono signal (steps 1 to 3 of the module).

    ``signal`` is 1-D (any scale; float or int), ``sample_rate`` in Hz.  Step ``k`` is the
    mean over audio samples ``[k * step, (k + 1) * step)`` with
    ``step = config.step_samples(sample_rate)``.  The drive is dimensionless and not yet
    loudness-normalised (see :func:`audio_to_spikes`).
    """
    config = config or CochleaConfig()
    config.check_sample_rate(sample_rate)
    x = np.asarray(signal)
    if x.ndim != 1:
        raise ValueError(f"signal must be one-dimensional (mono) [n_samples], got shape "
                         f"{x.shape}; average the channels first")
    if x.size == 0:
        raise ValueError("signal is empty (0 samples)")
    if x.dtype.kind not in "iuf":
        raise ValueError(f"signal must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("signal contains NaN or infinite samples")
    if config.normalise_level:
        x = x - x.mean()
        rms = math.sqrt(float(np.mean(x * x)))
        if rms > 0:
            x /= rms
    pole, gain = _poles(config, sample_rate)
    rectified = _filter_kernel(x, np.ascontiguousarray(pole.real),
                               np.ascontiguousarray(pole.imag), gain, config.filter_order)
    # numpy's SIMD cube root is an order of magnitude faster than a scalar libm call per
    # sample inside the compiled loop.
    if config.compression == "cube_root":
        np.cbrt(rectified, out=rectified)
    elif config.compression == "log":
        rectified *= _LOG_SCALE
        np.log1p(rectified, out=rectified)
    smooth = 1.0 - math.exp(-1.0 / (sample_rate * config.smoothing_tau))
    return _smooth_kernel(rectified, smooth, config.step_samples(sample_rate))


def audio_to_spikes(signal: np.ndarray, sample_rate: float,
                    config: CochleaConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spike times (s, float64 [S]) and channels (int64 [S], 0 = lowest frequency) of a sound.

    ``signal``: mono samples [n_samples], any scale; ``sample_rate`` in Hz.  Runs the whole
    pipeline of this module with ``config`` (default :class:`CochleaConfig`); spike times are
    multiples of the encoder step ``step_samples / sample_rate``.  A silent signal gives no
    spikes.
    """
    config = config or CochleaConfig()
    drive = cochlea_drive(signal, sample_rate, config)
    reference = float(np.percentile(drive, config.level_percentile))
    if not reference > 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    dt = config.step_samples(sample_rate) / sample_rate
    return lif_encode(drive / reference, dt, config.lif_params())
