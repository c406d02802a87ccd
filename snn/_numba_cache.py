"""Disk cache for this package's compiled numba functions.

numba's own cache lives next to each source file and is invalidated only when that file
changes, yet the compiled loops inline code from other modules (the model step functions,
the vectorised exponential).  This locator puts every cache entry of the listed modules in
one directory (``$SNNSIM_CACHE_DIR/numba``, default ``~/.cache/snnsim/numba``) and stamps it
with a hash of all sources that compiled code depends on, so editing any of them recompiles.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent
# Modules whose ``njit(cache=True)`` functions use this cache.
_CACHED_MODULES = frozenset(_PACKAGE / m for m in ("backends/numba_backend.py",
                                                   "layers/cpu_kernels.py",
                                                   "layers/delay_kernels.py"))
# Everything their compiled code includes.
_DEPENDENCIES = sorted(_CACHED_MODULES) + [_PACKAGE / "models.py", _PACKAGE / "plasticity.py",
                                           _PACKAGE / "vector_exp.py"]
# Read once at import: the stamp must describe the source this process compiles.
_SOURCE_STAMP = hashlib.sha256(b"".join(p.read_bytes() for p in _DEPENDENCIES)).hexdigest()


def cache_root() -> Path:
    """Directory of the compiled-code cache."""
    env = os.environ.get("SNNSIM_CACHE_DIR")
    if env:
        return Path(env) / "numba"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snnsim" / "numba"


class _SnnCacheLocator(numba.core.caching._CacheLocator):
    """Cache locator for this package: one directory, invalidated by any dependency edit."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._path = str(cache_root())

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        return _SOURCE_STAMP

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        if Path(py_file).resolve() not in _CACHED_MODULES:
            return None
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


# numba's locator list is internal (``CacheImpl``, formerly ``_CacheImpl``); without it the
# default locator caches next to each file, invalidated by edits of that file only.
_cache_impl = getattr(numba.core.caching, "CacheImpl", None) or getattr(
    numba.core.caching, "_CacheImpl", None)
if _cache_impl is not None and _SnnCacheLocator not in _cache_impl._locator_classes:
    _cache_impl._locator_classes.insert(0, _SnnCacheLocator)
