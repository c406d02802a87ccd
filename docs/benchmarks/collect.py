"""Copy a benchmark's JSON into docs/benchmarks/data/ with where it came from.

    python docs/benchmarks/collect.py benchmarks/results/engine_cuba.json \
        --command "python benchmarks/engine_cuba.py --sizes 4000 --repeats 2"

The numbers are left exactly as the benchmark wrote them; a ``provenance`` entry records the
command that produced them and the file's date (the benchmark's machine information is
already in its JSON). The documentation build renders these files as tables.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, help="a JSON file a benchmark wrote")
    parser.add_argument("--command", required=True, help="the command that produced it")
    args = parser.parse_args()
    report = json.loads(args.json.read_text(encoding="utf-8"))
    written = datetime.datetime.fromtimestamp(args.json.stat().st_mtime, datetime.timezone.utc)
    report["provenance"] = {"command": args.command,
                            "date": written.strftime("%Y-%m-%d %H:%M UTC")}
    DATA.mkdir(parents=True, exist_ok=True)
    target = DATA / args.json.name
    target.write_text(json.dumps(report, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
