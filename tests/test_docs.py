"""The documentation: every ```python block of the pages runs, and the site builds.

Each page's blocks run in order in one fresh namespace (a later block may use what an earlier
one defined), in a temporary working directory, so that files the examples write land there.
A block preceded by the line ``<!-- norun -->`` is skipped; that marker is kept for commands
that take hours.
"""

from __future__ import annotations

import linecache
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted([*DOCS.rglob("*.md"), ROOT / "README.md"])
NORUN = "<!-- norun -->"
BLOCK = re.compile(r"^(?P<marker><!-- norun -->\n(?:\s*\n)*)?```python\n(?P<code>.*?)^```\s*$",
                   re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The (line number, code) of every ```python block not marked ``<!-- norun -->``."""
    blocks = []
    for match in BLOCK.finditer(text):
        if match.group("marker"):
            continue
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append((line, match.group("code")))
    return blocks


def test_block_extraction_honours_the_norun_marker():
    text = ("intro\n```python\nx = 1\n```\n" + NORUN + "\n```python\nraise SystemExit\n```\n"
            "```bash\nls\n```\n```python\ny = x + 1\n```\n")
    assert [code for _, code in python_blocks(text)] == ["x = 1\n", "y = x + 1\n"]
    assert [line for line, _ in python_blocks(text)] == [3, 13]


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p.read_text(encoding="utf-8"))]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=_page_id)
def test_page_code_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Figures are written to files; no window may open.
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # A module of its own, as a script's __main__ is: dataclasses and pickling look their
    # classes up in sys.modules.
    module = types.ModuleType("__docs__")
    monkeypatch.setitem(sys.modules, "__docs__", module)
    namespace = module.__dict__
    for line, code in python_blocks(page.read_text(encoding="utf-8")):
        filename = f"{_page_id(page)}:{line}"
        # Registered so that a traceback shows the failing line of the page.
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        compiled = compile(code, filename, "exec")
        try:
            exec(compiled, namespace)
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")


def test_every_page_in_the_navigation_exists():
    yaml_text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = re.findall(r":\s+([\w/.-]+\.md)\s*$", yaml_text, re.MULTILINE)
    assert listed, "mkdocs.yml lists no pages"
    missing = [name for name in listed if not (DOCS / name).is_file()]
    assert not missing, f"mkdocs.yml lists pages that do not exist: {missing}"
    unlisted = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")
                      if str(p.relative_to(DOCS)) not in listed)
    assert not unlisted, f"pages missing from mkdocs.yml's nav: {unlisted}"


@pytest.mark.slow
def test_site_builds_in_strict_mode(tmp_path):
    if shutil.which("mkdocs") is None and not _has_module("mkdocs"):
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    for module in ("material", "mkdocstrings", "mkdocstrings_handlers.python"):
        if not _has_module(module):
            pytest.skip(f"{module} is not installed (pip install -e '.[docs]')")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), NO_MKDOCS_2_WARNING="1")
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "snn" / "index.html").is_file()


def _has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False
