"""Disk cache for this package's compiled numba functions.

numba's own cache lives next to each source file (or, where that folder is read-only, as in
a wheel installed into site-packages, in a folder named after the file's path) and is
invalidated only when that file's modification time changes, yet the compiled loops inline
code from other modules (the model step functions, the vectorised exponential).  This
locator puts the cache of every ``njit(cache=True)`` function of the package in one
directory (``$SNNSIM_CACHE_DIR/numba``, default ``~/.cache/snnsim/numba``) and stamps each
function's entries with a hash of the sources its compiled code can include: its own module
and the package modules that module refers to, followed transitively.  So editing any of
them recompiles, and an install of the same sources elsewhere (a wheel in site-packages, an
editable checkout, another virtual environment) reuses the entries: neither the path nor
the modification time of a file is part of the key.

The package imports this module first (``snn/__init__.py``), so that the locator is in
place before any module of the package defines a compiled function.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parent
_PACKAGE_NAME = __name__.rpartition(".")[0]


def cache_root() -> Path:
    """Directory of the compiled-code cache."""
    env = os.environ.get("SNNSIM_CACHE_DIR")
    if env:
        return Path(env) / "numba"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snnsim" / "numba"


def _in_package(name: object) -> bool:
    return isinstance(name, str) and (name == _PACKAGE_NAME
                                      or name.startswith(_PACKAGE_NAME + "."))


def _referenced_modules(module) -> set[str]:
    """Names of the package modules that ``module``'s globals refer to (modules imported
    whole, and the modules defining imported functions, classes and compiled functions)."""
    names = set()
    for value in vars(module).values():
        if isinstance(value, type(sys)):
            name = value.__name__
        else:
            name = getattr(getattr(value, "py_func", value), "__module__", None)
        if _in_package(name):
            names.add(name)
    return names


def stamped_modules(module_name: str) -> list[str]:
    """The modules whose sources compiled functions of ``module_name`` can include: the
    module and, transitively, the package modules it refers to.  A package's
    ``__init__`` counts by its own source only: what it refers to depends on which
    submodules happen to be imported."""
    seen, todo = set(), [module_name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        module = sys.modules.get(name)
        if module is not None and not hasattr(module, "__path__"):
            todo.extend(_referenced_modules(module))
    return sorted(seen)


@functools.cache
def source_stamp(module_name: str) -> str:
    """Hash of the sources of :func:`stamped_modules` (names and contents)."""
    digest = hashlib.sha256()
    for name in stamped_modules(module_name):
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        digest.update(name.encode() + b"\0")
        if path is not None:
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class _SnnCacheLocator(numba.core.caching._CacheLocator):
    """Cache locator for this package: one directory, keyed by module, function and the
    hash of the sources the function's compiled code can include."""

    def __init__(self, py_func, py_file):
        self._module = py_func.__module__
        self._lineno = py_func.__code__.co_firstlineno
        self._path = str(cache_root())
        # A function compiled once per model set (the engine's time loop) carries the hash
        # of the models' code: each set gets entries of its own.
        self._key = getattr(py_func, "_snnsim_cache_key", "")

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        # Read when the function is defined: its module's imports are in place by then.
        return source_stamp(self._module) + self._key

    def get_disambiguator(self):
        return f"{self._lineno}-{self._key}" if self._key else str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            Path(py_file).resolve().relative_to(_PACKAGE)
        except ValueError:
            return None
        if not _in_package(py_func.__module__):
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
