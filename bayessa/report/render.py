"""Render a report -- a list of :class:`Block` -- as self-contained HTML or as Markdown.

HTML embeds every figure as a base64 PNG and has its style sheet inline, so the file opens
offline with nothing else beside it. Markdown links the figures written beside it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Block", "fmt_table", "to_html", "to_markdown", "write_pages"]


@dataclass
class Block:
    """One element of a report.

    ``kind``: ``"h2"`` (a section, listed in the contents), ``"h3"``, ``"p"``, ``"note"``
    (small print), ``"list"`` (``items``), ``"table"`` (``table``, a frame of strings, and
    ``text`` as its caption), ``"figure"`` (``png`` bytes, ``name`` for the file, ``text``
    as the caption), ``"pre"``.

    Parameters
    ----------
    kind : str
        One of the kinds above.
    text : str, default ""
        The heading, paragraph or preformatted text; the caption of a table or figure.
    table : pandas.DataFrame, optional
        The table (``"table"``), its cells already text (:func:`fmt_table`).
    png : bytes, optional
        The figure (``"figure"``).
    name : str, default ""
        File name of the figure, without prefix and ``.png``.
    items : sequence of str, optional
        The entries of a ``"list"``.
    seconds : float, default 0
        For a figure: the time its PNG took to render (the report's timings list each).
    """

    kind: str
    text: str = ""
    table: pd.DataFrame | None = None
    png: bytes | None = None
    name: str = ""
    items: Sequence[str] = field(default_factory=list)
    seconds: float = 0.0


def figure_block(name: str, fig, caption: str) -> Block:
    """A ``"figure"`` block: ``fig`` rendered to PNG, timed.

    Parameters
    ----------
    name : str
        File name of the figure, without prefix and ``.png``.
    fig : matplotlib.figure.Figure
        The figure.
    caption : str
        Its caption.

    Returns
    -------
    Block
    """
    import time

    from bayessa.plots.posterior import png_bytes

    t = time.perf_counter()
    png = png_bytes(fig)
    return Block("figure", caption, png=png, name=name, seconds=time.perf_counter() - t)


def fmt_table(
    df: pd.DataFrame, formats: Mapping[str, str | Callable] | None = None
) -> pd.DataFrame:
    """Format a table's numbers as text.

    Format numbers as text: ``formats`` maps a column to a format spec (``".2f"``) or a
    function; other float columns get ``.3g``. Missing values become empty strings and
    infinite ones ``inf``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; index and column names are kept.
    formats : mapping of str to str or callable, optional
        Column -> format spec or ``value -> str`` function.

    Returns
    -------
    pandas.DataFrame
        The same shape, every cell a string.
    """
    formats = dict(formats or {})
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        col, f = df[c], formats.get(c)
        if f is None and pd.api.types.is_float_dtype(col.dtype):
            f = ".3g"
        if f is None:
            out[c] = col.astype(object).where(col.notna(), "").astype(str)
        elif callable(f):
            out[c] = [f(v) for v in col]
        else:
            out[c] = [_num(v, f) for v in col]
    return out


def _num(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float | np.floating) and np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, spec)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1a1a1a;
background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:1.6em;margin:.2em 0 .1em}h2{font-size:1.3em;margin-top:2em;padding-top:.4em;
border-top:2px solid #e3e3e3}h3{font-size:1.05em;margin-top:1.4em}
p,li{max-width:80ch}.note{color:#555;font-size:.88em;max-width:90ch}
nav{font-size:.9em;background:#f3f6fa;padding:8px 14px;border-radius:6px;display:flex;
flex-wrap:wrap;gap:4px 16px}nav a{white-space:nowrap}
table{border-collapse:collapse;margin:.4em 0 1.2em;font-size:.85em}
p.cap{font-weight:600;margin:1.2em 0 .2em;font-size:.95em}
th,td{padding:3px 9px;border-bottom:1px solid #e6e6e6;text-align:right;vertical-align:top;
white-space:nowrap}th{background:#f1f1f1;border-bottom:2px solid #ccc}
.txt{text-align:left;white-space:normal;min-width:8ch}tr.bad td{background:#fff1f0}
figure{margin:1em 0 1.6em}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.88em;color:#444;max-width:95ch}
pre{background:#f6f6f6;padding:8px 12px;font-size:.85em;overflow-x:auto}
.fail{color:#b00020;font-weight:600}.pass{color:#1b7f3b;font-weight:600}
"""


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")


def _html_table(b: Block) -> str:
    """A table; text columns are left-aligned and may wrap, numeric ones right-aligned."""
    df = b.table
    text = [not all(_numeric_text(v) for v in df[c] if v != "") for c in df.columns]
    cls = [' class="txt"' if t else "" for t in text]
    head = "".join(
        f"<th{k}>{html.escape(str(c))}</th>" for c, k in zip(df.columns, cls, strict=True)
    )
    rows = []
    for r in df.itertuples(index=False):
        bad = any(str(v).startswith(("✗", "FLAG")) for v in r)
        cells = "".join(f"<td{k}>{html.escape(str(v))}</td>" for v, k in zip(r, cls, strict=True))
        rows.append(f"<tr{' class="bad"' if bad else ''}>{cells}</tr>")
    cap = f'<p class="cap">{html.escape(b.text)}</p>' if b.text else ""
    return f"{cap}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _numeric_text(v) -> bool:
    s = str(v).replace("> ", "").replace("−", "-").replace("≤ ", "").replace("≥ ", "")
    s = s.removesuffix("%")
    s = s.split(" [")[0]  # "0.51 [0.43, 0.59]" is a number with its interval
    try:
        float(s)
    except ValueError:
        return s in ("inf", "-inf", "n/a")
    return True


def to_html(title: str, subtitle: str, blocks: Sequence[Block]) -> str:
    """A self-contained HTML page: inline CSS, figures as ``data:`` URIs, no scripts.

    Parameters
    ----------
    title : str
        Page title and top heading.
    subtitle : str
        Line under the heading.
    blocks : sequence of Block
        The content; the ``"h2"`` blocks are listed in the contents bar.

    Returns
    -------
    str
    """
    toc = "".join(
        f'<a href="#{_anchor(b.text)}">{html.escape(b.text)}</a>' for b in blocks if b.kind == "h2"
    )
    body = []
    for b in blocks:
        t = html.escape(b.text)
        if b.kind == "h2":
            body.append(f'<h2 id="{_anchor(b.text)}">{t}</h2>')
        elif b.kind == "h3":
            body.append(f"<h3>{t}</h3>")
        elif b.kind == "p":
            body.append(f"<p>{t}</p>")
        elif b.kind == "note":
            body.append(f'<p class="note">{t}</p>')
        elif b.kind == "list":
            body.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in b.items) + "</ul>")
        elif b.kind == "pre":
            body.append(f"<pre>{t}</pre>")
        elif b.kind == "table":
            body.append(_html_table(b))
        elif b.kind == "figure":
            data = base64.b64encode(b.png).decode("ascii")
            body.append(
                f'<figure><img alt="{t}" src="data:image/png;base64,{data}">'
                f"<figcaption>{t}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<h1>{html.escape(title)}</h1><p class="note">{html.escape(subtitle)}</p>'
        f"<nav>{toc}</nav>{''.join(body)}</main></body></html>\n"
    )


def _md_cell(v) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def to_markdown(
    title: str, subtitle: str, blocks: Sequence[Block], *, figure_prefix: str = ""
) -> str:
    """Markdown (GitHub flavour); figures are linked as ``<figure_prefix><name>.png``.

    Parameters
    ----------
    title : str
        Top heading.
    subtitle : str
        Line under the heading (in italics).
    blocks : sequence of Block
        The content.
    figure_prefix : str, default ""
        Prefix of the figure files' names.

    Returns
    -------
    str
    """
    out = [f"# {title}", "", f"_{subtitle}_", ""]
    for b in blocks:
        if b.kind == "h2":
            out += [f"## {b.text}", ""]
        elif b.kind == "h3":
            out += [f"### {b.text}", ""]
        elif b.kind in ("p", "note"):
            out += [b.text if b.kind == "p" else f"_{b.text}_", ""]
        elif b.kind == "list":
            out += [f"- {i}" for i in b.items] + [""]
        elif b.kind == "pre":
            out += ["```", b.text, "```", ""]
        elif b.kind == "table":
            df = b.table
            if b.text:
                out += [f"**{b.text}**", ""]
            out.append("| " + " | ".join(_md_cell(c) for c in df.columns) + " |")
            out.append("|" + "|".join("---" for _ in df.columns) + "|")
            out += ["| " + " | ".join(_md_cell(v) for v in r) + " |" for r in df.to_numpy()]
            out.append("")
        elif b.kind == "figure":
            out += [f"![{b.text}]({figure_prefix}{b.name}.png)", "", f"_{b.text}_", ""]
    return "\n".join(out).rstrip() + "\n"


def write_pages(folder, title: str, subtitle: str, blocks: Sequence[Block]) -> list:
    """Write ``report.html``, ``report.md`` and the figures (``report-<name>.png``) into ``folder``.

    Parameters
    ----------
    folder : pathlib.Path
        Where to write.
    title, subtitle : str
        The page's heading.
    blocks : sequence of Block
        The content.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    written = [folder / "report.html", folder / "report.md"]
    written[0].write_text(to_html(title, subtitle, blocks), encoding="utf-8")
    written[1].write_text(to_markdown(title, subtitle, blocks, figure_prefix="report-"),
                          encoding="utf-8")  # fmt: skip
    for b in blocks:
        if b.kind == "figure":
            path = folder / f"report-{b.name}.png"
            path.write_bytes(b.png)
            written.append(path)
    return written
