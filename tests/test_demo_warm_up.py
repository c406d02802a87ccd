"""The demo's background warm-up calls every compiled function, with every argument type,
that a section calls: after a section's warm-up groups ran, the section adds no numba
signature (compiled or loaded from the cache) to any dispatcher of the package."""

from __future__ import annotations

import sys

import pytest
from numba.core.registry import CPUDispatcher

from snn.cli import build_parser
from snn.cli._report import DemoReport
from snn.cli.demo import _warm_up

QUICK = ["--duration", "0.02", "--train-steps", "2", "--delay-epochs", "1",
         "--delay-hidden", "8", "--microcircuit-scale", "0.01", "--microcircuit-duration", "0.02"]


def _signatures() -> dict[str, int]:
    seen = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith(("snn.", "hardware_models.")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name:
                seen[f"{name}.{value.py_func.__qualname__}"] = len(value.signatures)
    return seen


@pytest.mark.parametrize("name", sorted(_warm_up.GROUPS))
def test_a_warmed_section_compiles_nothing_new(name, tmp_path):
    import importlib

    args = build_parser().parse_args(["demo", "--sections", name, "--output", str(tmp_path),
                                      *QUICK])
    for group in _warm_up.GROUPS[name]:
        group(args)
    before = _signatures()
    module = importlib.import_module(f"snn.cli.demo.{name}")
    module.run(args, DemoReport(tmp_path).section(name))
    after = _signatures()
    new = {f: n - before.get(f, 0) for f, n in after.items() if n > before.get(f, 0)}
    assert new == {}, f"section {name!r} compiled or loaded beyond its warm-up: {new}"


def test_the_background_skips_what_the_first_section_compiles():
    args = build_parser().parse_args(["demo", "--sections", "engine"])
    warm = _warm_up.WarmUp(["engine", "delays", "reservoir"], args)
    try:
        assert warm.groups == ["delay_layers", "reservoir"]
    finally:
        warm.stop()
    assert _warm_up.WarmUp(["engine"], args).groups == []
