"""One self-contained HTML file: headline tables in kubectl-style columns, the warnings, and plotly figures with
plotly.js embedded (it opens offline, attached to a ticket or a chat, with nothing fetched from the network).

Written through twin.outputs: to a temporary file beside the target, then moved in. An existing file is replaced
only when servetwin wrote it (its generator tag says so) or with `--force`.
"""
from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Iterable, Sequence

import plotly.graph_objects as go
import plotly.offline

from twin import outputs
from twin.errors import InputError

# a figure drawn before the grid settled its width would keep the wrong one: fit each once the page has loaded
FIT = "window.addEventListener('load', () => document.querySelectorAll('.js-plotly-plot')" \
      ".forEach(plot => Plotly.Plots.resize(plot)));"
CONFIG = {"displaylogo": False, "responsive": True}
GENERATOR = '<meta name="generator" content="servetwin report">'
STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px 32px; color: #222; max-width: 1500px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
p.sub { color: #666; margin-top: 0; }
table.kube { border-collapse: collapse; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
table.kube th { text-align: left; font-weight: 600; padding: 3px 18px 3px 0; border-bottom: 1px solid #bbb; }
table.kube td { padding: 2px 18px 2px 0; white-space: nowrap; }
ul.warnings li { color: #9a3412; margin: 3px 0; } code { font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(600px, 1fr)); gap: 8px 24px; }
.grid > div { min-width: 0; }
"""


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole document; `sections` are (heading, HTML body) pairs."""
    body = "\n".join(f"<h2>{html.escape(heading)}</h2>\n{content}" for heading, content in sections if content)
    return (f"<!doctype html>\n<html><head><meta charset=\"utf-8\">{GENERATOR}<title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style>\n<script>{plotly.offline.get_plotlyjs()}</script></head>\n<body>"
            f"<h1>{html.escape(title)}</h1><p class=\"sub\">{html.escape(subtitle)}</p>\n{body}\n"
            f"<script>{FIT}</script></body></html>\n")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A table with kubectl's upper-case column names; None shows as `-`."""
    rows = list(rows)
    head = "".join(f"<th>{html.escape(str(h).upper())}</th>" for h in header)
    lines = "".join("<tr>" + "".join(f"<td>{html.escape('-' if c is None else str(c))}</td>" for c in row) + "</tr>"
                    for row in rows)
    return f"<table class=\"kube\"><tr>{head}</tr>{lines}</table>" if rows else ""


def preformatted(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def warnings(found: Sequence[dict]) -> str:
    items = "".join(f"<li>{html.escape(w['message'])} <code>{html.escape(w['code'])}</code></li>" for w in found)
    return f"<ul class=\"warnings\">{items}</ul>" if found else ""


def figures(figs: Sequence[go.Figure]) -> str:
    """Figures in a two-column grid, drawn by the embedded plotly.js."""
    divs = "".join(f"<div>{fig.to_html(full_html=False, include_plotlyjs=False, config=CONFIG)}"
                   "</div>" for fig in figs)
    return f"<div class=\"grid\">{divs}</div>" if figs else ""


def target(raw: str | Path, *, force: bool = False) -> Path:
    """The report's path, checked before any work: new, servetwin's own report, or replaced with `force`."""
    try:
        return outputs.file(raw, force=force or _ours(Path(raw)))
    except InputError as error:
        expected = error.expected.replace("--force replaces an existing one",
                                          "--force replaces a file servetwin did not write")
        raise dataclasses.replace(error, field="--report", expected=expected) from None


def write(path: Path, document: str) -> None:
    with outputs.staged_file(path) as staging:
        staging.write_text(document, encoding="utf-8")
        staging.chmod(0o644)  # a report is for others to read (the temporary file starts private)


def _ours(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as existing:
            return GENERATOR in existing.read(400)
    except OSError:
        return False
