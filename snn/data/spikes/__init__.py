"""Spike datasets in the layout of the Heidelberg spiking data sets (SHD, SSC).

* :mod:`.dataset`: :class:`SpikeDataset`, a labelled split held as flat arrays;
* :mod:`.hdf5`: :func:`read_spike_hdf5`, :func:`write_spike_hdf5` (the public HDF5 layout);
* :mod:`.heidelberg`: :func:`load_shd`, :func:`load_ssc` (find the public files in a folder);
* :mod:`.download`: the cache folder, one-time decompression of downloads, checksums.
"""

from .dataset import SpikeDataset
from .download import data_cache_dir, file_checksum, verify_checksum
from .hdf5 import read_spike_hdf5, write_spike_hdf5
from .heidelberg import load_shd, load_ssc

__all__ = [
    "SpikeDataset",
    "data_cache_dir",
    "file_checksum",
    "load_shd",
    "load_ssc",
    "read_spike_hdf5",
    "verify_checksum",
    "write_spike_hdf5",
]
