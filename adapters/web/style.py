"""The report pages' stylesheet: system fonts, a readable measure, light and dark schemes.

Inlined in every page (the CSP allows inline styles, nothing else). Colours are custom
properties, so the dark scheme (`prefers-color-scheme`) changes them in one place; every
severity colour keeps a contrast of at least 4.5:1 on its background in both schemes
(tests/test_page_style.py measures it).
"""

from __future__ import annotations

# The light scheme, then the dark one: (name, value) pairs, read by the contrast test too.
LIGHT = {
    "fg": "#1f2328",
    "muted": "#59636e",
    "bg": "#ffffff",
    "panel": "#f6f8fa",
    "border": "#d1d9e0",
    "link": "#0969da",
    "high": "#cf222e",
    "medium": "#9a6700",
    "low": "#1a7f37",
}
DARK = {
    "fg": "#e6edf3",
    "muted": "#9198a1",
    "bg": "#0d1117",
    "panel": "#151b23",
    "border": "#3d444d",
    "link": "#4493f8",
    "high": "#ff7b72",
    "medium": "#d29922",
    "low": "#3fb950",
}
# Emoji fonts last: severity markers (🔴 🟡 🟢) and labels (📊 📋) are emoji.
FONTS = (
    'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif,'
    '"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji"'
)
MONO = 'ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace'


def _variables(scheme: dict[str, str]) -> str:
    return ";".join(f"--{name}:{value}" for name, value in scheme.items())


STYLE = f"""
:root{{color-scheme:light dark;{_variables(LIGHT)}}}
@media (prefers-color-scheme:dark){{:root{{{_variables(DARK)}}}}}
*{{box-sizing:border-box}}
body{{font:16px/1.6 {FONTS};color:var(--fg);background:var(--bg);margin:0;padding:2rem 1rem}}
main{{max-width:48rem;margin:0 auto}}
h1{{font-size:1.6rem;line-height:1.25;margin:0 0 .5rem}}
h2{{font-size:1.2rem;margin:2rem 0 .5rem;padding-bottom:.25rem;
border-bottom:1px solid var(--border)}}
a{{color:var(--link)}}
p,li{{overflow-wrap:anywhere}}
.note,.repo,.muted{{color:var(--muted)}}
.sha{{font-family:{MONO};font-size:.9em}}
.table{{overflow-x:auto;margin:1rem 0}}
table{{border-collapse:collapse;font-size:.92rem;min-width:100%}}
td,th{{border:1px solid var(--border);padding:.3rem .6rem;text-align:left;vertical-align:top}}
th{{background:var(--panel)}}
td:first-child{{white-space:nowrap}}
details{{margin:.9rem 0;padding:.4rem .9rem;background:var(--panel);border:1px solid var(--border);
border-left-width:.35rem;border-radius:.4rem}}
summary{{cursor:pointer;font-weight:600}}
.sev-high{{border-left-color:var(--high)}}.sev-medium{{border-left-color:var(--medium)}}
.sev-low{{border-left-color:var(--low)}}
.tally-high{{color:var(--high)}}.tally-medium{{color:var(--medium)}}.tally-low{{color:var(--low)}}
nav ul{{padding-left:1.2rem}}
figure{{margin:1rem 0}}figcaption{{color:var(--muted);font-size:.9rem}}
.chart{{max-width:100%;height:auto}}
.chart text{{fill:var(--muted);font:11px {FONTS}}}
.chart .axis{{stroke:var(--border)}}
.bar-high{{fill:var(--high)}}.bar-medium{{fill:var(--medium)}}.bar-low{{fill:var(--low)}}
.legend{{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}}
.key{{display:inline-block;width:.8rem;height:.8rem;margin-right:.35rem;border-radius:.15rem;
vertical-align:-.05rem}}
.key-high{{background:var(--high)}}.key-medium{{background:var(--medium)}}
.key-low{{background:var(--low)}}
.days{{padding-left:1.2rem}}
"""
