"""HTML building blocks for notebook displays: one look for nets, coders, results and progress.

Every ``_repr_html_`` in symnet is a *panel*: a titled box of sections, each a table or a
figure. The style sits inline on a wrapping ``div`` with a class of its own, because Jupyter
front-ends (classic, Lab, VS Code, nbconvert's HTML) keep inline styles but differ in which
``<style>`` blocks they honour; the classes let tests and users find the parts.

>>> import re
>>> re.sub(r' style="[^"]*"', "", table(["name", "size"], [["a", 3]]))
'<table class="symnet-table"><thead><tr><th>name</th><th>size</th></tr></thead><tbody><tr><td class="text">a</td><td class="num">3</td></tr></tbody></table>'
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

_PANEL_STYLE = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;font-size:13px;border:1px solid #c8d3e0;border-radius:6px;padding:8px 12px;margin:4px 0;display:inline-block;max-width:100%;box-sizing:border-box;background:#fbfcfe;color:#1d2733"
_TITLE_STYLE = "font-weight:600;font-size:14px;margin-bottom:6px"
_NOTE_STYLE = "color:#6a7683;font-size:12px;margin:4px 0"
# Table cells carry their style inline: JupyterLab's own rules for output tables (right-aligned,
# padded cells) outrank a class selector, and some front-ends drop <style> blocks altogether.
_TABLE_STYLE = "border-collapse:collapse;margin:2px 0 8px 0;font-family:SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
_TH_STYLE = "text-align:left;font-family:sans-serif;font-weight:600;border:none;border-bottom:1px solid #c8d3e0;padding:2px 10px 2px 0;color:#3d4b5c"
_TD_STYLE = "text-align:left;padding:1px 10px 1px 0;border:none;white-space:nowrap"
_NUM_STYLE = _TD_STYLE.replace("text-align:left", "text-align:right")
_CSS = """<style>
.symnet-section{margin:2px 0 4px 0;font-weight:600;color:#3d4b5c;font-size:12.5px}
.symnet-row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
.symnet-graph svg{max-width:100%;height:auto}
.symnet-plot svg{width:100%;height:auto}
</style>"""


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def td(markup: str, numeric: bool = False) -> str:
    """A table cell around markup that is already HTML (escape text first)."""
    return f'<td class="{"num" if numeric else "text"}" style="{_NUM_STYLE if numeric else _TD_STYLE}">{markup}</td>'


def cell(value: Any) -> str:
    """A table cell: numbers right-aligned with thousands separators, everything else escaped."""
    if isinstance(value, bool) or value is None:
        return td(escape("" if value is None else value))
    if isinstance(value, int):
        return td(f"{value:,}", numeric=True)
    if isinstance(value, float):
        return td(f"{value:.4g}", numeric=True)
    return td(escape(value))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], raw: bool = False) -> str:
    """An HTML table; ``raw`` rows are already HTML cells (from ``td``) and are not escaped."""
    head = "".join(f'<th style="{_TH_STYLE}">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + ("".join(row) if raw else "".join(cell(v) for v in row)) + "</tr>" for row in rows)
    return f'<table class="symnet-table" style="{_TABLE_STYLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def section(title: str, content: str) -> str:
    return f'<div class="symnet-section">{escape(title)}</div>{content}'


def note(text: str) -> str:
    return f'<div class="symnet-note" style="{_NOTE_STYLE}">{escape(text)}</div>'


def panel(kind: str, title: str, parts: Sequence[str]) -> str:
    """The box around a display: ``kind`` names it for CSS and tests (``symnet-net``, ``symnet-coder``…)."""
    body = "".join(parts)
    return f'<div class="symnet-panel symnet-{kind}" style="{_PANEL_STYLE}">{_CSS}<div class="symnet-title" style="{_TITLE_STYLE}">{escape(title)}</div>{body}</div>'
