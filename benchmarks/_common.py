"""What every benchmark shares: the machine and library versions it ran with, the results
folder, the data folders and the JSON report.

Benchmarks run as scripts (``python benchmarks/NAME.py``), so this folder is on ``sys.path``
and they import ``from _common import ...``.

Data folders come from a command-line option or an environment variable, never from a path
written here: FSDD from ``--data`` or ``$SNNSIM_FSDD_ROOT`` (the recordings folder, the
folder above it, or converted ``fsdd_*.h5`` files; e.g. ``../shared/data/fsdd``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any

#: Default folder of the JSON reports and figures: ``benchmarks/results``.
RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The environment variable naming the FSDD folder (also read by the tests).
FSDD_ENV = "SNNSIM_FSDD_ROOT"


def versions(*packages: str) -> dict[str, str | None]:
    """Installed version of each distribution (None where it is not installed)."""
    out: dict[str, str | None] = {}
    for package in packages:
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            out[package] = None
    return out


def cpu_name() -> str:
    """The CPU model from ``/proc/cpuinfo`` (Linux), else ``platform.processor()``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_info(*packages: str, **extra: Any) -> dict[str, Any]:
    """The machine and software a benchmark ran on, for its JSON report.

    Always: CPU count and model, memory (GiB), platform, Python, and the versions of
    snnsim, numpy, numba and torch with their thread counts (where installed); ``packages``
    adds the versions of further distributions (the peers, e.g. ``"brian2"``); ``extra``
    adds fields of the benchmark's own (e.g. ``device="cuda"``).
    """
    info: dict[str, Any] = {
        "cpu_count": os.cpu_count(), "cpu": cpu_name(), "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        info["memory_gib"] = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        info["memory_gib"] = None
    info.update(versions("snnsim", "numpy", "numba", "torch", *packages))
    try:
        import numba

        info["numba_threads"] = numba.get_num_threads()
    except ImportError:
        pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda_device"] = torch.cuda.get_device_name()
            info["cuda"] = torch.version.cuda
    except ImportError:
        pass
    info.update(extra)
    return info


def results_dir(out: str | os.PathLike | None = None) -> Path:
    """The results folder (``out``, default :data:`RESULTS_DIR`), created if missing."""
    path = Path(out) if out is not None else RESULTS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: str | os.PathLike, report: dict) -> Path:
    """Write ``report`` as indented JSON (its folder created if missing); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def fsdd_root(option: str | os.PathLike | None, *, option_name: str = "--data",
              required: bool = True) -> Path | None:
    """The FSDD folder: ``option`` if given, else ``$SNNSIM_FSDD_ROOT``.

    With neither, returns None when not ``required`` (callers fall back to the sample
    shipped with the package) and otherwise raises ``SystemExit`` naming both ways to give
    it.  A folder that does not exist is an error either way.
    """
    value = option if option is not None else os.environ.get(FSDD_ENV)
    if not value:
        if not required:
            return None
        raise SystemExit(f"no FSDD folder given: pass {option_name} PATH or set ${FSDD_ENV} "
                         f"(the recordings folder of the Free Spoken Digit Dataset, the folder "
                         f"above it, or converted fsdd_*.h5 files; see datasets/README.md)")
    path = Path(value).expanduser()
    if not path.is_dir():
        source = option_name if option is not None else f"${FSDD_ENV}"
        raise SystemExit(f"FSDD folder {path} (from {source}) does not exist")
    return path
