"""Device presets: the numbers of one analog memory technology, as data.

A :class:`DevicePreset` is a frozen dataclass in SI units (siemens, seconds, joules).  The
statistical model it parameterises is the one of Nandakumar et al. 2019 as implemented in
IBM's aihwkit (``PCMLikeNoiseModel``), written relative to ``r = g / g_max``:

* programming noise: ``sigma_prog(r) = c0 + c1 r + c2 r^2`` (S), additive, clipped at 0 S;
* drift: ``g(t) = g_prog ((t + t0) / t0) ** -nu`` with ``nu ~ N(mu(r), s(r))`` per device,
  ``mu(r) = clip(a_mu ln r + b_mu)`` and ``s(r) = clip(a_s ln r + b_s)``;
* read (1/f) noise: relative std ``q(r) sqrt(ln((t + t0 + t_read) / (2 t_read)))`` with
  ``q(r) = min(q_coeff / max(r ** q_exponent, 1e-3), q_max)``;
* stuck-at faults at ``g_min`` / ``g_max`` with given rates; device-to-device variation as a
  fixed per-device relative gain.

``t`` is always the time since programming finished (s), ``t0`` the first-read time of the
drift fit.  Other technologies fill the same fields (RRAM: no mean drift, a symmetric spread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from snn.validation import (
    check_finite,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)

__all__ = ["DevicePreset", "PRESETS", "SWITCHING_PRESETS", "SwitchingPreset", "get_preset",
           "get_switching_preset", "register_preset"]


@dataclass(frozen=True)
class DevicePreset:
    """One analog memory device technology (all values in SI units)."""

    name: str
    """Registry key."""
    source: str
    """Where the numbers come from (paper / code), and which ones are assumptions."""
    g_min: float
    """Lowest programmable conductance (S)."""
    g_max: float
    """Highest programmable conductance (S); weights of magnitude ``w_max`` map onto
    ``g_max - g_min``."""
    levels: int | None = None
    """Programmable conductance levels per device, evenly spaced in ``[g_min, g_max]``;
    ``None`` for a continuous (iteratively programmed) device."""
    prog_noise_coeffs: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """``(c0, c1, c2)`` in S: programming noise std ``c0 + c1 r + c2 r^2``, ``r = g/g_max``."""
    drift_t0: float = 20.0
    """First read after programming (s), the reference time of the drift power law."""
    drift_mean: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """``(a, b, lo, hi)``: mean drift exponent ``clip(a ln r + b, lo, hi)`` (dimensionless)."""
    drift_std: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    """``(a, b, lo, hi)``: std of the per-device exponent ``clip(a ln r + b, lo, hi)``."""
    drift_exponent_abs: bool = False
    """Fold drawn exponents to ``|nu|`` (aihwkit does: PCM conductance only decays)."""
    read_noise_coeff: float = 0.0
    """``q_coeff`` (relative, dimensionless) of the 1/f read noise."""
    read_noise_exponent: float = 0.0
    """``q_exponent``: read noise grows at low conductance as ``r ** -q_exponent``."""
    read_noise_max: float = 0.0
    """``q_max``: cap of the relative read-noise coefficient."""
    t_read: float = 250e-9
    """Read pulse duration (s), parameter of the 1/f integration window."""
    stuck_at_gmin_rate: float = 0.0
    """Fraction of devices stuck at ``g_min`` (0..1)."""
    stuck_at_gmax_rate: float = 0.0
    """Fraction of devices stuck at ``g_max`` (0..1)."""
    device_variation: float = 0.0
    """Relative std of a fixed per-device gain on the programmed conductance (0 = none)."""
    read_voltage: float = 0.2
    """Read voltage across a device (V); used for the read energy."""
    read_energy: float = 0.0
    """Energy of reading one device once (J)."""
    write_energy: float = 0.0
    """Energy of programming one device to its target (J), all verify iterations included."""
    read_time: float = 100e-9
    """Duration of one crossbar read cycle, DAC to ADC (s); sets the latency estimate."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            name = f"DevicePreset.{f.name}"
            if f.name in ("name", "source"):
                if not isinstance(value, str) or not value:
                    raise TypeError(f"{name} must be a non-empty string, got {value!r}")
            elif f.name == "levels":
                if value is not None:  # None: a continuum of levels
                    check_int(name, value, minimum=2)
            elif f.name == "drift_exponent_abs":
                if not isinstance(value, bool):
                    raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
            elif isinstance(value, tuple):
                for k, v in enumerate(value):
                    check_finite(f"{name}[{k}]", v)
            else:
                check_finite(name, value)
        if not 0.0 <= self.g_min < self.g_max:
            raise ValueError(f"conductance range must satisfy 0 <= g_min < g_max (S), got "
                             f"g_min={self.g_min!r}, g_max={self.g_max!r}")
        if len(self.prog_noise_coeffs) != 3:
            raise ValueError("prog_noise_coeffs must be (c0, c1, c2) in S")
        for name in ("drift_mean", "drift_std"):
            value = getattr(self, name)
            if len(value) != 4 or value[2] > value[3]:
                raise ValueError(f"{name} must be (a, b, lo, hi) with lo <= hi, got {value!r}")
        if self.drift_std[2] < 0:
            raise ValueError(f"drift_std lower clip must be >= 0, got {self.drift_std!r}")
        for name in ("stuck_at_gmin_rate", "stuck_at_gmax_rate"):
            check_probability(f"DevicePreset.{name}", getattr(self, name))
        if self.stuck_at_gmin_rate + self.stuck_at_gmax_rate > 1.0:
            raise ValueError("stuck_at_gmin_rate + stuck_at_gmax_rate must be <= 1")
        for name in ("drift_t0", "t_read", "read_time"):
            check_positive(f"DevicePreset.{name}", getattr(self, name), unit="s")
        for name in ("read_noise_coeff", "read_noise_max", "device_variation", "read_energy",
                     "write_energy", "read_voltage"):
            check_nonnegative(f"DevicePreset.{name}", getattr(self, name))

    def with_(self, **changes) -> DevicePreset:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


_US = 1e-6  # one microsiemens

PCM = DevicePreset(
    name="pcm",
    source=(
        "Nandakumar et al., 'Phase-change memory models for deep learning training and "
        "inference', ICECS 2019; Joshi et al., Nat. Commun. 11:2473 (2020). Coefficients as in "
        "IBM aihwkit src/aihwkit/inference/noise/pcm.py (PCMLikeNoiseModel: g_max 25 uS, "
        "prog_coeff [0.26348, 1.9650, -1.1731] uS, t0 20 s, t_read 250 ns, drift mu "
        "-0.0155 ln r + 0.0244 clipped [0.049, 0.1], sigma -0.0125 ln r - 0.0059 clipped "
        "[0.008, 0.045], |nu|, read noise 0.0088 / r^0.65 capped at 0.2). Energies are "
        "assumptions: read = V^2 G t at 0.2 V, 25 uS, 100 ns (0.1 pJ); write 100 pJ (about "
        "10 program-and-verify pulses of ~10 pJ each, order of magnitude from the PCM "
        "literature). No stuck-at faults in the fitted model."),
    g_min=0.0,
    g_max=25.0 * _US,
    levels=None,
    prog_noise_coeffs=(0.26348 * _US, 1.9650 * _US, -1.1731 * _US),
    drift_t0=20.0,
    drift_mean=(-0.0155, 0.0244, 0.049, 0.1),
    drift_std=(-0.0125, -0.0059, 0.008, 0.045),
    drift_exponent_abs=True,
    read_noise_coeff=0.0088,
    read_noise_exponent=0.65,
    read_noise_max=0.2,
    t_read=250e-9,
    read_voltage=0.2,
    read_energy=0.2**2 * 25.0 * _US * 100e-9,
    write_energy=100e-12,
    read_time=100e-9,
)

RRAM_NEURRAM = DevicePreset(
    name="rram",
    source=(
        "Wan et al., 'A compute-in-memory chip based on resistive random-access memory', "
        "Nature 608:504-512 (2022) (NeuRRAM: 1T1R HfOx RRAM, 256x256 cores, iterative "
        "write-verify, 4-bit weights; Extended Data Fig. 3: incremental-pulse write-verify "
        "into an acceptance range, after which conductance relaxation spreads the "
        "distribution about the targets, fast at first and slower later). ASSUMPTIONS (no "
        "numbers read off the paper in this work): range 1-40 uS; 16 levels per device; "
        "write-verify acceptance giving a programming std of 1 uS; relaxation as a symmetric "
        "power-law spread in time (nu ~ N(0, 0.01), no mean drift, so the spread grows with "
        "log time and slows down); read noise 1 % relative; stuck-at "
        "rates 0.1 % each; read = V^2 G t at 0.2 V, 40 uS, 100 ns (0.16 pJ); write 20 pJ "
        "(several SET/RESET pulses with verify)."),
    g_min=1.0 * _US,
    g_max=40.0 * _US,
    levels=16,
    prog_noise_coeffs=(1.0 * _US, 0.0, 0.0),
    drift_t0=20.0,
    drift_mean=(0.0, 0.0, 0.0, 0.0),
    drift_std=(0.0, 0.01, 0.01, 0.01),
    drift_exponent_abs=False,
    read_noise_coeff=0.01 / math.sqrt(math.log((20.0 + 250e-9) / (2 * 250e-9))),
    read_noise_exponent=0.0,
    read_noise_max=1.0,
    t_read=250e-9,
    stuck_at_gmin_rate=0.001,
    stuck_at_gmax_rate=0.001,
    read_voltage=0.2,
    read_energy=0.2**2 * 40.0 * _US * 100e-9,
    write_energy=20e-12,
    read_time=100e-9,
)

IDEAL = DevicePreset(
    name="ideal",
    source="Noise-free, drift-free, fault-free device with continuous conductance (reference); "
           "energies as the PCM preset's read (assumption) so that energy tables compare.",
    g_min=0.0,
    g_max=25.0 * _US,
    read_energy=0.2**2 * 25.0 * _US * 100e-9,
    write_energy=0.0,
)

PRESETS: dict[str, DevicePreset] = {}


def register_preset(preset: DevicePreset) -> DevicePreset:
    """Add ``preset`` to :data:`PRESETS` under its name (refuses to overwrite a name)."""
    if not isinstance(preset, DevicePreset):
        raise TypeError(f"preset must be a DevicePreset, got {type(preset).__name__}")
    if preset.name in PRESETS:
        raise ValueError(f"a preset named {preset.name!r} is already registered")
    PRESETS[preset.name] = preset
    return preset


for _preset in (PCM, RRAM_NEURRAM, IDEAL):
    register_preset(_preset)


def get_preset(preset: str | DevicePreset) -> DevicePreset:
    """The registered preset called ``preset`` (a :class:`DevicePreset` passes through)."""
    if isinstance(preset, DevicePreset):
        return preset
    if not isinstance(preset, str):
        raise TypeError(f"preset must be a preset name or a DevicePreset, got "
                        f"{type(preset).__name__}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known presets: {sorted(PRESETS)}")
    return PRESETS[preset]


@dataclass(frozen=True)
class SwitchingPreset:
    """Conductances left by one stochastic switching event (electroforming / SET without
    verify) of a resistive-memory array: a random weight source rather than a programmed
    memory.  Each conductance is ``N(g_mean, g_std)`` clipped at ``g_floor`` (S); a weight is
    the difference of a differential pair ``(g+ - g-)``, so it has both signs and mean zero.

    Every numeric field carries its own citation in :attr:`citations` (where the number was
    read, or that it could not be found and what was assumed instead).
    """

    name: str
    """Registry key."""
    source: str
    """The publication(s) the preset models, and a summary of what is measured and what is
    assumed."""
    g_mean: float
    """Mean conductance after switching (S, > 0)."""
    g_std: float
    """Standard deviation of that conductance across devices (S, > 0)."""
    g_floor: float = 0.0
    """Conductances cannot go below this value (S, >= 0); the Gaussian is clipped there."""
    read_voltage: float = 0.2
    """Read voltage across a device (V)."""
    read_time: float = 100e-9
    """Read pulse duration (s)."""
    citations: tuple[tuple[str, str], ...] = ()
    """``((field, citation), ...)``: one non-empty citation for every numeric field
    (``g_mean``, ``g_std``, ``g_floor``, ``read_voltage``, ``read_time``)."""

    CITED_FIELDS = ("g_mean", "g_std", "g_floor", "read_voltage", "read_time")
    """The numeric fields that must each be cited."""

    def __post_init__(self) -> None:
        for name in ("name", "source"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise TypeError(f"SwitchingPreset.{name} must be a non-empty string")
        for name in ("g_mean", "g_std", "read_voltage", "read_time"):
            check_positive(f"SwitchingPreset.{name}", getattr(self, name))
        check_nonnegative("SwitchingPreset.g_floor", self.g_floor)
        if self.g_floor >= self.g_mean:
            raise ValueError(f"SwitchingPreset.g_floor must be < g_mean, got "
                             f"{self.g_floor!r} >= {self.g_mean!r}")
        if not isinstance(self.citations, tuple) or not all(
                isinstance(c, tuple) and len(c) == 2 and all(isinstance(x, str) and x
                                                             for x in c)
                for c in self.citations):
            raise TypeError("SwitchingPreset.citations must be a tuple of (field, citation) "
                            "pairs of non-empty strings")
        cited = [f for f, _ in self.citations]
        unknown = sorted(set(cited) - set(self.CITED_FIELDS))
        missing = [f for f in self.CITED_FIELDS if f not in cited]
        if unknown or missing or len(cited) != len(set(cited)):
            raise ValueError(f"SwitchingPreset.citations must cite each of "
                             f"{self.CITED_FIELDS} exactly once; missing {missing}, unknown "
                             f"{unknown}")

    def citation(self, field: str) -> str:
        """Where the number of ``field`` (one of :attr:`CITED_FIELDS`) comes from."""
        for name, text in self.citations:
            if name == field:
                return text
        raise ValueError(f"field must be one of {self.CITED_FIELDS}, got {field!r}")

    @property
    def read_energy(self) -> float:
        """Energy of one read of one device at the mean conductance, ``V^2 g_mean t`` (J)."""
        return self.read_voltage**2 * self.g_mean * self.read_time


_LIN_2025 = ("Lin et al., 'Resistive memory-based zero-shot liquid state machine for "
             "multimodal event data learning', Nat. Comput. Sci. 5 (2025), "
             "doi:10.1038/s43588-024-00751-z; arXiv 2307.00771")
_NOT_FOUND = (
    "NOT FOUND: the paper's full text (journal and arXiv) could not be retrieved here, only "
    "its abstract; the authors' repository MrLinNing/MemristorLSM (README.md, "
    "LSM-*/lsm_sim_gaussian.py, LSM-CLIP-ATV/zero_shot_sim.py) simulates the array with "
    "software Gaussian weights times a per-modality constant (e.g. --img_const 0.3 "
    "--aud_const 0.1 in LSM-CLIP-ATV/run_zero_shot_sim_pd64.sh) and holds no conductance, "
    "voltage or timing number (its models.py, which builds the weights, is not in the "
    "repository). ASSUMED: ")

RRAM_SWITCHING = SwitchingPreset(
    name="rram_switching",
    source=(
        f"{_LIN_2025}: the fixed random LSM weights are physically implemented on a 40 nm "
        "256 Kb in-memory computing macro (abstract) by the stochasticity of resistive "
        "switching (README of MrLinNing/MemristorLSM). Gaussian law: the authors' software "
        "stand-in for the array draws Gaussian weights (NM_/NT_simulation_Gau_LSM_Model in "
        "LSM-CLIP-ATV/zero_shot_sim.py, LSM-*/lsm_sim_gaussian.py); signed weights as "
        "differential pairs of conductances are this model's reading of it (the pairing "
        "could not be checked). None of the distribution's or the read's numbers could be read "
        "from the paper or from the authors' code (see `citations`): every number here is an "
        "assumption. Weights are normalised by sqrt(2) g_std (snn.reservoir.switching_weights), "
        "so LSM results depend on g_mean and g_std only through the clipping at g_floor "
        "(g_mean / g_std = 3.3: 0.04 % of draws clipped); the read energy scales with "
        "read_voltage^2 g_mean read_time."),
    g_mean=20.0 * _US,
    g_std=6.0 * _US,
    g_floor=0.0,
    read_voltage=0.2,
    read_time=100e-9,
    citations=(
        ("g_mean", _NOT_FOUND + "20 uS, the middle of the 1-40 uS range of this package's "
                               "programmed-RRAM preset ('rram')."),
        ("g_std", _NOT_FOUND + "6 uS (relative spread 0.3 of a quasi-Gaussian "
                              "distribution)."),
        ("g_floor", "Physical bound: a conductance cannot be negative (0 S); the paper "
                    "gives no other lower bound that could be found."),
        ("read_voltage", _NOT_FOUND + "0.2 V, as this package's 'pcm' and 'rram' presets."),
        ("read_time", _NOT_FOUND + "100 ns, as this package's 'pcm' and 'rram' presets."),
    ),
)

SWITCHING_PRESETS: dict[str, SwitchingPreset] = {RRAM_SWITCHING.name: RRAM_SWITCHING}


def get_switching_preset(preset: str | SwitchingPreset) -> SwitchingPreset:
    """The registered :class:`SwitchingPreset` called ``preset`` (an instance passes
    through)."""
    if isinstance(preset, SwitchingPreset):
        return preset
    if not isinstance(preset, str):
        raise TypeError(f"preset must be a switching-preset name or a SwitchingPreset, got "
                        f"{type(preset).__name__}")
    if preset not in SWITCHING_PRESETS:
        raise ValueError(f"unknown switching preset {preset!r}; known: "
                         f"{sorted(SWITCHING_PRESETS)}")
    return SWITCHING_PRESETS[preset]
