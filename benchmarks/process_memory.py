"""Memory of the running process on Linux, for the benchmarks (``/proc/self``)."""

from __future__ import annotations

from pathlib import Path


def status_mib(field: str) -> float | None:
    """A ``/proc/self/status`` field given in kB (VmRSS, VmHWM, ...) in MiB, where known."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Restart the kernel's peak-RSS counter (VmHWM) of this process; False where impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
