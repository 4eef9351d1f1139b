"""A one-page HTML report: sections of text, tables and PNG figures, written as a single file.

Figures are embedded as base64 ``data:`` URIs, so the page can be mailed or moved on its own. No
template engine and no JavaScript: plain HTML with a small stylesheet, escaped text.
"""
import base64
import datetime
import html
import os
import pathlib

__all__ = ["Report"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
       border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta { color: #666; font-size: .9rem; } pre { background: #f6f8fa; padding: .7rem; overflow-x: auto;
       font-size: .85rem; } table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #ddd; padding: .3rem .6rem; text-align: left; } th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } figure { margin: 1rem 0; }
img { max-width: 100%; border: 1px solid #eee; } figcaption { color: #555; font-size: .88rem; }
"""


class Report:
    """Collects sections, then ``write(path)`` produces the page.

    Example::

        >>> r = Report("demo")
        >>> r.section("Numbers", "Two rows.", table=[{"model": "a", "accuracy": 0.5}])
        >>> "<td class=\\"num\\">0.5</td>" in r.html()
        True
    """

    def __init__(self, title, subtitle=None):
        self.title = title
        self.subtitle = subtitle
        self._sections = []

    def section(self, title, text="", *, table=None, figures=(), code=None):
        """Add a section: paragraphs (blank-line separated ``text``), an optional table (a list of dicts
        with the same keys, or ``(header, rows)``), preformatted ``code``, and PNG ``figures`` given as
        paths or ``(path, caption)`` pairs."""
        self._sections.append((title, text, table, list(figures), code))

    # ---- rendering ----------------------------------------------------------------------------------
    @staticmethod
    def _table(table):
        if isinstance(table, tuple):
            header, rows = table
        else:
            header = list(table[0]) if table else []
            rows = [[row.get(k, "") for k in header] for row in table]
        out = ["<table><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"]
        for row in rows:
            cells = []
            for v in row:
                if isinstance(v, float):
                    cells.append(f'<td class="num">{v:.4g}</td>')
                elif isinstance(v, int) and not isinstance(v, bool):
                    cells.append(f'<td class="num">{v}</td>')
                else:
                    cells.append(f"<td>{html.escape(str(v))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        return "\n".join(out) + "</table>"

    @staticmethod
    def _figure(fig):
        path, caption = (fig, "") if isinstance(fig, (str, os.PathLike)) else fig
        data = base64.b64encode(pathlib.Path(path).read_bytes()).decode("ascii")
        alt = html.escape(caption or pathlib.Path(path).name)
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{cap}</figure>'

    def html(self):
        """The page as a string."""
        when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
                 f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        if self.subtitle:
            parts.append(f'<p class="meta">{html.escape(self.subtitle)} · written {when}</p>')
        for title, text, table, figures, code in self._sections:
            parts.append(f"<h2>{html.escape(title)}</h2>")
            for para in (p.strip() for p in text.split("\n\n")):
                if para:
                    parts.append(f"<p>{html.escape(para)}</p>")
            if table:
                parts.append(self._table(table))
            if code:
                parts.append(f"<pre>{html.escape(code)}</pre>")
            parts.extend(self._figure(f) for f in figures)
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, path):
        """Write the page to ``path`` (atomically: temporary file, then rename); returns the path."""
        from ..io import atomic_write
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, self.html())
        return path
