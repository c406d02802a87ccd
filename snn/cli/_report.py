"""What the demo shows: text tables on the terminal, figures saved as PNG files, and one
self-contained HTML page (``index.html``) that gathers every section's text, tables, figures
and timings.

A section writes through a :class:`DemoSection`: each call prints to the terminal and keeps
a block for the page. :class:`DemoReport` holds the sections and writes the page.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DemoReport", "DemoSection", "format_table", "save_figure"]

Column = tuple[str, str, str]  # (row key, header, format spec)


def _cells(rows: list[dict[str, Any]], columns: list[Column]) -> list[list[str]]:
    return [[format(row[key], spec) for key, _, spec in columns] for row in rows]


def format_table(rows: list[dict[str, Any]], columns: list[Column]) -> str:
    """``rows`` as a right-aligned text table; ``columns`` are (key, header, format spec)."""
    cells = [[header for _, header, _ in columns], *_cells(rows, columns)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def save_figure(fig: Any, path: Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure as ``path`` and release it (also from pyplot's list of open
    figures when pyplot made it)."""
    fig.savefig(path, dpi=dpi)
    import sys

    if "matplotlib.pyplot" in sys.modules:  # a figure pyplot made stays open until closed
        sys.modules["matplotlib.pyplot"].close(fig)
    return path


@dataclass
class DemoSection:
    """One demo section's output: printed as it comes, kept as blocks for the page.

    Blocks are ``("text", str)``, ``("pre", str)``, ``("table", (headers, rows))`` and
    ``("figure", (file name, caption))``.
    """

    key: str
    out: Path
    title: str = ""
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    wall_seconds: float | None = None
    cpu_seconds: float | None = None

    def heading(self, title: str) -> None:
        """The section's one-line description (printed as ``== key: title``)."""
        self.title = title
        print(f"\n== {self.key}: {title}")

    def say(self, text: str) -> None:
        """A paragraph of text."""
        print(text)
        self.blocks.append(("text", text))

    def preformatted(self, text: str) -> None:
        """Text whose layout matters (a table another module formatted)."""
        print(text)
        self.blocks.append(("pre", text))

    def table(self, rows: list[dict[str, Any]], columns: list[Column]) -> None:
        """A table: printed as text, kept as an HTML table."""
        print(format_table(rows, columns))
        self.blocks.append(("table", ([header for _, header, _ in columns],
                                      _cells(rows, columns))))

    def figure(self, fig: Any, name: str, caption: str, dpi: int = 120) -> Path:
        """Save ``fig`` as ``out / name``, release it, say where it went; returns the path."""
        path = save_figure(fig, self.out / name, dpi)
        print(f"{caption}: {path}")
        self.blocks.append(("figure", (name, caption)))
        return path


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; }
figure { margin: 1em 0; } img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
.timing { color: #555; font-size: 0.9em; }
"""


class DemoReport:
    """The sections of one ``snn demo`` run and the page that shows them."""

    def __init__(self, out: Path, title: str = "snnsim demo") -> None:
        self.out = Path(out)
        self.title = title
        self.sections: list[DemoSection] = []
        self.started = time.strftime("%Y-%m-%d %H:%M:%S")

    def section(self, key: str) -> DemoSection:
        """A new section whose figures go into this report's folder."""
        section = DemoSection(key, self.out)
        self.sections.append(section)
        return section

    def html(self) -> str:
        """The page: a timing table, then every section's text, tables and figures. Figures
        are relative links to the PNG files beside the page; nothing is loaded from
        elsewhere."""
        esc = html.escape
        parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                 '<meta name="viewport" content="width=device-width, initial-scale=1">',
                 # An empty icon, so that a browser does not ask for /favicon.ico.
                 '<link rel="icon" href="data:,">',
                 f"<title>{esc(self.title)}</title>", f"<style>{_STYLE}</style>", "</head>",
                 "<body>", f"<h1>{esc(self.title)}</h1>",
                 f'<p class="timing">Run started {esc(self.started)}.</p>',
                 "<table><thead><tr><th>section</th><th>wall time (s)</th>"
                 "<th>CPU time (s)</th></tr></thead><tbody>"]
        for s in self.sections:
            wall = "running" if s.wall_seconds is None else f"{s.wall_seconds:.1f}"
            cpu = "" if s.cpu_seconds is None else f"{s.cpu_seconds:.1f}"
            parts.append(f'<tr><td><a href="#{esc(s.key)}">{esc(s.key)}</a></td>'
                         f"<td>{wall}</td><td>{cpu}</td></tr>")
        parts.append("</tbody></table>")
        for s in self.sections:
            parts.append(f'<section id="{esc(s.key)}"><h2>{esc(s.key)}: {esc(s.title)}</h2>')
            if s.wall_seconds is not None:
                parts.append(f'<p class="timing">{s.wall_seconds:.1f} s wall time, '
                             f"{s.cpu_seconds:.1f} s CPU time (this process).</p>")
            for kind, payload in s.blocks:
                if kind == "text":
                    parts.append(f"<p>{esc(payload)}</p>")
                elif kind == "pre":
                    parts.append(f"<pre>{esc(payload)}</pre>")
                elif kind == "table":
                    headers, rows = payload
                    parts.append("<table><thead><tr>"
                                 + "".join(f"<th>{esc(h)}</th>" for h in headers)
                                 + "</tr></thead><tbody>")
                    parts.extend("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                                 for row in rows)
                    parts.append("</tbody></table>")
                elif kind == "figure":
                    name, caption = payload
                    parts.append(f'<figure><img src="{esc(name)}" alt="{esc(caption)}">'
                                 f"<figcaption>{esc(caption)} ({esc(name)})</figcaption>"
                                 "</figure>")
            parts.append("</section>")
        parts += ["</body>", "</html>", ""]
        return "\n".join(parts)

    def write(self) -> Path:
        """Write ``index.html`` into the output folder; returns its path."""
        path = self.out / "index.html"
        path.write_text(self.html(), encoding="utf-8")
        return path
