"""The `sftmask check --html` page: findings, a token-length histogram and the trained share per source, as one
self-contained file (inline CSS and SVG, nothing fetched)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sftmask.doctor import CheckReport

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #1f2328; }
.problem { color: #b42318; } .note { color: #57606a; } .clean { color: #1a7f37; }
code { background: #f6f8fa; padding: 0 3px; } li code { white-space: pre-wrap; }
svg text { font: 11px system-ui, sans-serif; fill: #57606a; }
"""


def _bars(items: list[tuple[str, float, str]], *, width: int = 720, bar_height: int = 18) -> str:
    """A horizontal bar chart: (label, value in [0, 1] of the widest bar, text shown after the bar)."""
    label_width, height = 170, bar_height * len(items) + 4
    rows = []
    for i, (label, share, text) in enumerate(items):
        y = i * bar_height + 2
        length = share * (width - label_width - 110)
        rows.append(
            f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" height="{bar_height - 5}" fill="#4c8ed9"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + 13}">{escape(text)}</text>'
        )
    return f'<svg width="{width}" height="{height}" role="img">{"".join(rows)}</svg>'


def report_page(report: CheckReport) -> str:
    from sftmask.doctor import LENGTH_BUCKETS, PROBLEM

    parts = [f"<h1>sftmask check</h1><p>{report.rows:,} rows checked. "]
    parts.append('<b class="clean">Clean: no problem found.</b></p>' if report.ok else
                 f'<b class="problem">{len(report.problems)} problem(s) found.</b></p>')
    parts.append("<h2>Findings</h2><ul>")
    for f in (f for f in report.findings if f.count):
        kind = "problem" if f.severity == PROBLEM else "note"
        examples = "".join(f"<li><code>{escape(e)}</code></li>" for e in f.examples)
        parts.append(f'<li class="{kind}"><b>{kind}</b>: {escape(f.summary())}<ul>{examples}</ul></li>')
    parts.append("</ul><h2>Token lengths</h2>")
    buckets = [b for b in (*LENGTH_BUCKETS, None) if report.lengths.get(b)]
    top = max(report.lengths.values(), default=1)
    parts.append(_bars([
        (f"<= {b:,}" if b else f"> {LENGTH_BUCKETS[-1]:,}", report.lengths[b] / top, f"{report.lengths[b]:,} rows")
        for b in buckets
    ]))
    parts.append("<h2>Trained-token share per source</h2>")
    parts.append(_bars([
        (source.rsplit("/", 1)[-1], stats.trained_share, f"{stats.trained_share:.1%} of {stats.tokens:,} tokens")
        for source, stats in report.sources.items()
    ]))
    body = "".join(parts)
    head = f'<meta charset="utf-8"><title>sftmask check</title><style>{STYLE}</style>'
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
