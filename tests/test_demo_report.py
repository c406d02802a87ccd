"""The demo's HTML report: written beside the figures, self-contained, and rendered by a
headless Chromium with every image decoded and no console error."""

import re
from pathlib import Path

import pytest

from snn.cli import main
from snn.cli._report import DemoReport

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    # Two fast sections on the reference backend (no compilation): a table, text and two
    # figures.
    assert main(["demo", "--sections", "engine", "plasticity", "--backend", "reference",
                 "--neurons", "100", "--duration", "0.02", "--stdp-duration", "0.05",
                 "--output", str(out)]) == 0
    return out


def test_report_lists_every_section_with_its_figures_tables_and_timings(demo_output):
    page = (demo_output / "index.html").read_text(encoding="utf-8")
    assert '<section id="engine">' in page and '<section id="plasticity">' in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images == ["cuba_raster.png", "stdp_weights.png"]
    for name in images:
        assert (demo_output / name).stat().st_size > 1000
    assert page.count("<table>") == 3  # timings, engine's rates, plasticity's weights
    assert "<th>rate (Hz)</th>" in page and "wall time (s)" in page
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_report_escapes_text():
    report = DemoReport(Path("."))
    section = report.section("x")
    section.heading("a <b> & c")
    section.table([{"k": "<script>"}], [("k", "key", "s")])
    page = report.html()
    assert "a &lt;b&gt; &amp; c" in page and "<td>&lt;script&gt;</td>" in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")
def test_report_renders_in_headless_chromium(demo_output):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser driver comes with the 'test' extra")
    errors = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
            response = page.goto((demo_output / "index.html").as_uri(), wait_until="load")
            assert response is None or response.ok
            assert page.title() == "snnsim demo"
            sizes = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, "
                       "i.naturalWidth, i.naturalHeight])")
            headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
        finally:
            browser.close()
    assert len(sizes) == 2
    for src, complete, width, height in sizes:
        assert complete and width > 0 and height > 0, src
    assert [h.split(":")[0] for h in headings] == ["engine", "plasticity"]
    assert errors == []
