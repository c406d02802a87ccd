"""Convert the Free Spoken Digit Dataset to spikes in the SHD layout.

    python datasets/fsdd/convert.py RECORDINGS_DIR OUT_DIR [--n-channels 700] [--threshold 0.3]

writes OUT_DIR/fsdd_train.h5 (repetitions 5-49, 2,700 files) and OUT_DIR/fsdd_test.h5
(repetitions 0-4, 300 files) with snn.data.convert_fsdd.  Every field of
snn.data.CochleaConfig is an option (``--f-max 3800``, ``--compression log``, ...).  The
recordings are first compared with the fingerprint in datasets/fsdd.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from snn.data import CochleaConfig, convert_fsdd, fsdd_checksum, read_spike_hdf5

MANIFEST = Path(__file__).resolve().parents[1] / "fsdd.json"


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recordings", type=Path, help="folder of {digit}_{speaker}_{index}.wav")
    parser.add_argument("out_dir", type=Path, help="folder for fsdd_train.h5 and fsdd_test.h5")
    for field in dataclasses.fields(CochleaConfig):
        kind = _bool if field.type in ("bool", bool) else type(field.default)
        parser.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=None,
                            help=f"CochleaConfig.{field.name} (default {field.default!r})")
    parser.add_argument("--float32", action="store_true",
                        help="store spike times as float32 (half the size)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(CochleaConfig)
                 if getattr(args, f.name) is not None}
    try:
        config = CochleaConfig(**overrides)
        found = fsdd_checksum(args.recordings)
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    expected = json.loads(MANIFEST.read_text())["recordings"]
    same = found["sha256"] == expected["sha256"]
    print(f"recordings: {found['n_files']} files, {found['total_bytes']} bytes, "
          f"{'matching' if same else 'NOT matching'} the fingerprint in {MANIFEST.name}")
    start = time.perf_counter()
    try:
        written = convert_fsdd(args.recordings, args.out_dir, config, progress=not args.quiet,
                               time_dtype=np.float32 if args.float32 else np.float64)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    for split, path in written.items():
        data = read_spike_hdf5(path)
        duration = float(data.extra["duration"].sum()) if "duration" in data.extra else None
        rate = (f", {data.n_spikes / duration / data.n_channels:.1f} spikes/s per channel"
                if duration else "")
        print(f"{split}: {path} ({len(data)} samples, {data.n_spikes} spikes{rate})")
    print(f"converted in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
