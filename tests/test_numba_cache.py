"""The compiled-code cache: every compiled function of the package uses it, its key covers
the sources that compiled code includes, and a copy of the same sources at another path
(a wheel in site-packages beside an editable checkout) reuses it."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from numba.core.caching import FunctionCache
from numba.core.registry import CPUDispatcher

import snn
from snn import _numba_cache

PACKAGE = Path(snn.__file__).resolve().parent


def _compiled_modules() -> list[str]:
    """Modules of the package that define numba-compiled functions."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "njit(" in path.read_text():
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_every_compiled_function_uses_the_package_cache():
    modules = _compiled_modules()
    assert "snn.backends.numba_backend" in modules and "snn.layers.cpu_kernels" in modules
    checked = 0
    for name in modules:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if not isinstance(value, CPUDispatcher) or value.py_func.__module__ != name:
                continue
            if value.targetoptions.get("inline") == "always":
                continue  # compiled only inside its callers
            assert isinstance(value._cache, FunctionCache), f"{name}.{attr} lacks cache=True"
            locator = value._cache._impl.locator
            assert isinstance(locator, _numba_cache._SnnCacheLocator), f"{name}.{attr}"
            # The folder is fixed when the module is first imported (a test that set
            # SNNSIM_CACHE_DIR may have imported it first): the package's "numba" folder.
            assert Path(locator.get_cache_path()).name == "numba", f"{name}.{attr}"
            checked += 1
    assert checked >= 15


def test_stamp_covers_the_inlined_model_code():
    importlib.import_module("snn.backends.numba_backend")
    importlib.import_module("snn.layers.cpu_kernels")
    engine = _numba_cache.stamped_modules("snn.backends.numba_backend")
    assert {"snn.backends.numba_backend", "snn.models", "snn.vector_exp"} <= set(engine)
    assert "snn.models" in _numba_cache.stamped_modules("snn.layers.cpu_kernels")
    assert "snn.cli" not in engine


_CHILD = """
import json
import numpy as np
from snn import plasticity
weights, _ = plasticity.stdp_csr(np.eye(2, dtype=bool), np.eye(2, dtype=bool),
                                 np.array([0, 1, 2]), np.array([0, 1]), np.full(2, 0.5),
                                 plasticity.STDPParams(), 1e-3)
stats = plasticity._stdp_csr_kernel.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values()),
                  "weights": weights.tolist()}))
"""


def _run_copy(root: Path, cache: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), SNNSIM_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, cwd=root, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_cache_survives_a_reinstall_at_another_path_and_follows_edits(tmp_path):
    cache = tmp_path / "cache"
    copies = []
    for where in ("site-packages", "checkout"):
        root = tmp_path / where
        shutil.copytree(PACKAGE, root / "snn", ignore=shutil.ignore_patterns("__pycache__"))
        copies.append(root)
    first = _run_copy(copies[0], cache)
    assert first["misses"] == 1 and first["hits"] == 0
    second = _run_copy(copies[1], cache)
    assert second == {**first, "hits": 1, "misses": 0}
    # An edit of the module's source (here a comment) makes a new entry.
    source = copies[1] / "snn" / "plasticity.py"
    source.write_text(source.read_text() + "\n# edited\n")
    third = _run_copy(copies[1], cache)
    assert third["misses"] == 1 and third["weights"] == first["weights"]
