"""Downloaded files: the cache folder, one-time decompression, checksums.

Nothing is written beside the user's data: a ``.gz`` / ``.zip`` download is unpacked once
into the snnsim cache folder (:func:`data_cache_dir`), and every file is written under a
temporary name and renamed, so an interrupted run leaves no half file behind.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import uuid
import zipfile
from pathlib import Path

__all__ = ["data_cache_dir", "decompressed", "file_checksum", "part_name", "verify_checksum"]


def data_cache_dir() -> Path:
    """Folder for derived data files (decompressed downloads, converted FSDD).

    ``$SNNSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/snnsim`` or ``~/.cache/snnsim``: the
    parent of the package's compiled-code cache (:func:`snn._numba_cache.cache_root`).
    """
    from ... import _numba_cache

    return _numba_cache.cache_root().parent


def part_name(target: Path) -> Path:
    """A unique temporary name beside ``target`` (same file system, so renaming is atomic;
    created with the ordinary permissions, unlike ``tempfile.mkstemp``'s 0600)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")


def decompressed(path: Path, cache_dir: Path | None) -> Path:
    """Path of an uncompressed copy of a ``.gz`` / ``.zip`` file, made once per file version.

    The copy goes to ``cache_dir`` (default :func:`data_cache_dir` ``/ "decompressed"``), named
    by the source's path, size and modification time, so a changed download is unpacked
    again; it is written to a temporary name and renamed, so an interrupted run leaves no
    half file behind.
    """
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    folder = Path(cache_dir) if cache_dir is not None else data_cache_dir() / "decompressed"
    stem = path.name.rsplit(".", 1)[0]
    target = folder / f"{Path(stem).stem}-{key[:16]}{Path(stem).suffix or '.h5'}"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = part_name(target)
    try:
        with open(tmp, "xb") as out:
            if path.suffix == ".gz":
                with gzip.open(path, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            else:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.namelist() if m.endswith((".h5", ".hdf5"))]
                    if len(members) != 1:
                        raise ValueError(f"{path}: expected exactly one .h5 file in the zip "
                                         f"archive, found {members}")
                    with archive.open(members[0]) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``algorithm``: ``"md5"`` or ``"sha256"``)."""
    if algorithm not in ("md5", "sha256"):
        raise ValueError(f"algorithm must be 'md5' or 'sha256', got {algorithm!r}")
    digest = hashlib.new(algorithm)
    with open(Path(path).expanduser(), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | os.PathLike, expected: str) -> str:
    """Check a file against an MD5 (32 hex digits) or SHA-256 (64) digest.

    Returns the algorithm used; raises ``ValueError`` giving both digests on a mismatch, and
    for an ``expected`` value that is neither form.
    """
    expected_clean = str(expected).strip().lower()
    algorithm = {32: "md5", 64: "sha256"}.get(len(expected_clean))
    if algorithm is None or any(c not in "0123456789abcdef" for c in expected_clean):
        raise ValueError(f"expected must be an MD5 (32 hex digits) or SHA-256 (64 hex digits) "
                         f"digest, got {expected!r}")
    actual = file_checksum(path, algorithm)
    if actual != expected_clean:
        raise ValueError(f"{algorithm} checksum mismatch for {path}: expected {expected_clean}, "
                         f"got {actual} (incomplete or altered download?)")
    return algorithm
