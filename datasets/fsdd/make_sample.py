"""Make the FSDD sample shipped with the package, snn/data/samples/fsdd_sample_{train,test}.h5.

    python datasets/fsdd/make_sample.py RECORDINGS_DIR

Train: repetitions 5-8 of every (digit, speaker), 240 utterances; test: repetition 0, 60
utterances.  Converted with the default snn.data.CochleaConfig, spike times stored as
float32 (the SHD layout's variable-length arrays live outside HDF5's compressed chunks, so
the narrower type is what keeps the files small).  Prints what datasets/fsdd.json records.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from snn.data import CochleaConfig, convert_fsdd, file_checksum, read_spike_hdf5
from snn.data.fsdd import FSDD_PATTERN, fsdd_files

# Package data: installed with snn.data and read by snn.data.load_sample.
OUT = Path(__file__).resolve().parents[2] / "snn" / "data" / "samples"
TRAIN_REPETITIONS = (5, 6, 7, 8)
TEST_REPETITIONS = (0,)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    chosen = [p.name for p in fsdd_files(argv[0])
              if int(FSDD_PATTERN.match(p.name).group(3)) in TRAIN_REPETITIONS + TEST_REPETITIONS]
    written = convert_fsdd(argv[0], OUT, CochleaConfig(), files=chosen, prefix="fsdd_sample",
                           time_dtype=np.float32, progress=False)
    record = {}
    for path in written.values():
        data = read_spike_hdf5(path)
        record[path.name] = {"samples": len(data), "spikes": data.n_spikes,
                             "classes": sorted(set(data.labels.tolist())),
                             "size_bytes": path.stat().st_size,
                             "sha256": file_checksum(path)}
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
