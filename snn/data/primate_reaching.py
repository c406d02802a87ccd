"""Non-human primate reaching (O'Doherty et al. 2017, Zenodo 583331), NeuroBench's motor
prediction data, in its public layout.

Each session is a MATLAB v7.3 file (HDF5), e.g. ``indy_20160622_01.mat``, with ``t``
``[1, T]`` (s, one sample every 4 ms), ``cursor_pos`` ``[2, T]`` (mm), ``target_pos``
``[2, T]`` and ``spikes`` ``[n_units, n_channels]``: object references, each to the spike
times (s) of one sorted unit of one electrode (a reference to an empty or all-zero array
where the unit does not exist).  The task predicts the cursor velocity from the spikes.

The folder comes from an argument or ``$SNNSIM_PRIMATE_REACHING_ROOT``; nothing is
downloaded here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..validation import check_positive

__all__ = ["PRIMATE_REACHING_FILES", "PRIMATE_REACHING_ENV", "ReachingSession",
           "read_primate_reaching"]

#: The six sessions NeuroBench uses.
PRIMATE_REACHING_FILES = ("indy_20160622_01.mat", "indy_20160630_01.mat",
                          "indy_20170131_02.mat", "loco_20170131_02.mat",
                          "loco_20170215_02.mat", "loco_20170301_05.mat")

#: Environment variable naming the folder of the session files.
PRIMATE_REACHING_ENV = "SNNSIM_PRIMATE_REACHING_ROOT"


class ReachingSession(NamedTuple):
    """One session, binned.

    Shapes:
        ``spikes`` uint8 ``[n_bins, n_units]`` (spike counts of the units that fired at
        all, electrode-major), ``velocity`` float64 ``[n_bins, 2]`` (mm/s, cursor velocity
        at each bin's end), ``times`` float64 ``[n_bins]`` (s, each bin's end).
    """

    spikes: np.ndarray
    velocity: np.ndarray
    times: np.ndarray


def read_primate_reaching(path: str | os.PathLike, bin_width: float = 0.004
                          ) -> ReachingSession:
    """Read one session file and bin its spikes.

    Args:
        path: a session file, or its name inside ``$SNNSIM_PRIMATE_REACHING_ROOT``.
        bin_width: bin width (s, > 0; the recording's sample interval, 4 ms, by default).

    Returns:
        The :class:`ReachingSession`: spikes counted in bins ending at the samples of ``t``
        (every ``bin_width / 4 ms``-th sample), the cursor velocity there.
    """
    import h5py

    bin_width = check_positive("bin_width", bin_width, unit="s")
    file = Path(path).expanduser()
    if not file.is_file() and os.environ.get(PRIMATE_REACHING_ENV):
        file = Path(os.environ[PRIMATE_REACHING_ENV]) / path
    if not file.is_file():
        raise ValueError(f"path must be a session file (or its name in "
                         f"${PRIMATE_REACHING_ENV}), got {str(path)!r}")
    with h5py.File(file, "r") as f:
        for key in ("t", "cursor_pos", "spikes"):
            if key not in f:
                raise ValueError(f"{file}: no {key!r}; expected the public session layout "
                                 f"(t, cursor_pos, target_pos, spikes)")
        t = np.asarray(f["t"][()], np.float64).ravel()
        cursor = np.asarray(f["cursor_pos"][()], np.float64)
        refs = f["spikes"][()]
        trains = []
        for channel in range(refs.shape[1]):  # electrode-major, then unit
            for unit in range(refs.shape[0]):
                times = np.asarray(f[refs[unit, channel]][()], np.float64).ravel()
                trains.append(times)
    if cursor.shape[0] != 2:
        cursor = cursor.T
    dt = float(np.median(np.diff(t))) if t.size > 1 else bin_width
    every = max(int(round(bin_width / dt)), 1)
    ends = t[every - 1::every] if every > 1 else t
    edges = np.concatenate([[ends[0] - bin_width], ends])
    counts = [np.histogram(times[(times > 0)], bins=edges)[0] for times in trains]
    spikes = np.stack(counts, axis=1) if counts else np.zeros((ends.size, 0), np.int64)
    spikes = spikes[:, spikes.any(axis=0)]
    position = cursor[:, every - 1::every] if every > 1 else cursor
    velocity = np.gradient(position, ends, axis=1).T if ends.size > 1 else \
        np.zeros((ends.size, 2))
    return ReachingSession(np.minimum(spikes, 255).astype(np.uint8), velocity, ends)
