"""HTML building blocks: escaping by default, French formats, the page frame and its style sheet.

Everything that is not `Markup` is escaped when it is put in a page, so a value read from a file
(a name, a message, a label) can never become markup.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape
from typing import Iterable
from urllib.parse import quote, urlencode

NNBSP = "\u202f"  # narrow no-break space: the French thousands separator


class Markup(str):
    """Text already safe to put in a page as is; adding text to it escapes that text."""

    def __add__(self, other) -> "Markup":
        return Markup(str.__add__(self, esc(other)))

    def __radd__(self, other) -> "Markup":
        return Markup(str.__add__(esc(other), self))


def esc(value) -> Markup:
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    return Markup(escape(str(value), quote=True))


def join(parts: Iterable) -> Markup:
    return Markup("".join(esc(p) for p in parts))


VOID = frozenset({"input", "br", "meta", "link", "img", "hr"})


def tag(element: str, content="", /, **attrs) -> Markup:
    """<element attrs>content</element>; attribute names: trailing _ dropped (class_), _ -> -."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(str(v), quote=True)}"' if v is not True
        else f' {k.rstrip("_").replace("_", "-")}'
        for k, v in attrs.items() if v is not None and v is not False)
    if element in VOID:
        return Markup(f"<{element}{rendered}>")
    inner = join(content) if isinstance(content, list) else esc(content)
    return Markup(f"<{element}{rendered}>{inner}</{element}>")


def link(href: str, text, **attrs) -> Markup:
    return tag("a", text, href=href, **attrs)


def url(path: str, **params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(clean) if clean else "")


def seg(value) -> str:
    """A value as one URL path segment."""
    return quote(str(value), safe="")


# --- French formats --------------------------------------------------------------------------------

def fmt_int(value) -> str:
    if value is None:
        return ""
    return f"{int(value):,}".replace(",", NNBSP)


def fmt_money(value) -> str:
    if value is None:
        return ""
    value = Decimal(value).quantize(Decimal("0.01"))
    text = f"{value:,.2f}".replace(",", NNBSP).replace(".", ",")
    return f"{text}\u00a0€"


def fmt_date(value) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, (dt.date, dt.datetime)) else ""


def fmt_dt(value) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    return value.astimezone().strftime("%d/%m/%Y %H:%M:%S")


def fmt_month(value: str) -> str:
    """'2025-03' -> '03/2025'."""
    if value and len(value) == 7 and value[4] == "-":
        return f"{value[5:]}/{value[:4]}"
    return value or ""


def fmt_pct(value: float) -> str:
    return f"{value * 100:.1f}".replace(".", ",") + "\u00a0%"


# --- blocks -----------------------------------------------------------------------------------------

def table(headers: list, rows: list[list], *, empty: str = "Aucune ligne.", numeric: set[int] = frozenset(),
          id_: str | None = None, caption: str | None = None) -> Markup:
    if not rows:
        return tag("p", empty, class_="empty")
    head = join(tag("th", h, scope="col", class_="num" if i in numeric else None) for i, h in enumerate(headers))
    body = join(
        Markup("<tr>") + join(tag("td", c, class_="num" if i in numeric else None) for i, c in enumerate(row))
        + Markup("</tr>") for row in rows)
    cap = tag("caption", caption) if caption else Markup("")
    id_attr = f' id="{escape(id_, quote=True)}"' if id_ else ""
    return Markup(f'<div class="scroll"><table{id_attr}>{cap}<thead><tr>{head}</tr></thead>'
                  f"<tbody>{body}</tbody></table></div>")


def badge(text: str, kind: str | None = None) -> Markup:
    return tag("span", text, class_=f"badge {kind or text.lower()}")


def pager(page, path: str, params: dict) -> Markup:
    if page.pages <= 1:
        return tag("p", f"{fmt_int(page.total)} ligne(s).", class_="pager")
    parts = [f"Page {page.page} sur {page.pages} — {fmt_int(page.total)} ligne(s). "]
    if page.page > 1:
        parts.append(link(url(path, **params, page=page.page - 1), "← Précédente", rel="prev"))
        parts.append(" ")
    if page.page < page.pages:
        parts.append(link(url(path, **params, page=page.page + 1), "Suivante →", rel="next"))
    return tag("p", parts, class_="pager")


NAV = (
    ("/", "Tableau de bord"),
    ("/fichiers", "Fichiers"),
    ("/dossiers", "Dossiers"),
    ("/rejets", "Rejets"),
    ("/lots", "Lots"),
    ("/paiements", "Paiements"),
    ("/taches", "Tâches planifiées"),
    ("/referentiels", "Référentiels"),
)


def frame(title: str, body: Markup, *, user: str | None, active: str = "", finess: str = "",
          csrf: str = "") -> str:
    nav = join(
        tag("a", label, href=href, aria_current="page" if href == active else None) for href, label in NAV
    ) if user else Markup("")
    who = (Markup('<form method="post" action="/deconnexion" class="who">')
           + tag("span", f"Connecté : {user}")
           + tag("input", type="hidden", name="csrf", value=csrf)
           + tag("button", "Déconnexion", type="submit") + Markup("</form>")) if user else Markup("")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="fr"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)} — fides</title><link rel="stylesheet" href="/style.css"></head>'
        f'<body><header><div class="brand">fides <small>{esc(finess)}</small></div>'
        f'<nav aria-label="Navigation principale">{nav}</nav>{who}</header>'
        f'<main><h1>{esc(title)}</h1>{body}</main>'
        f'<footer>fides — intégration FIDES-séjours. Les NIR ne sont jamais affichés en entier.</footer>'
        "</body></html>"
    )


STYLE = """
:root { --fg:#111827; --muted:#4b5563; --line:#d9dde3; --bg:#f6f7f9; --accent:#1d4ed8; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; align-items:center; gap:12px; padding:8px 16px; background:#0f2a4a; color:#fff; }
header .brand { font-weight:700; font-size:18px; margin-right:12px; }
header .brand small { font-weight:400; opacity:.75; font-size:12px; }
header nav { display:flex; flex-wrap:wrap; gap:4px; flex:1; }
header nav a { color:#dbe7ff; text-decoration:none; padding:6px 10px; border-radius:4px; }
header nav a[aria-current=page], header nav a:hover { background:#1e4b80; color:#fff; }
header .who { display:flex; gap:8px; align-items:center; margin:0; }
header .who button { background:none; color:#dbe7ff; border:1px solid #5b7ba3; border-radius:4px; padding:3px 8px; cursor:pointer; }
main { padding:16px 20px 40px; max-width:1400px; }
h1 { font-size:22px; margin:4px 0 16px; }
h2 { font-size:17px; margin:24px 0 8px; }
a { color:var(--accent); }
footer { color:var(--muted); font-size:12px; padding:12px 20px; border-top:1px solid var(--line); }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; background:#fff; margin:6px 0 12px; min-width:50%; }
caption { text-align:left; font-weight:600; padding:4px 0; }
th, td { border:1px solid var(--line); padding:4px 8px; vertical-align:top; text-align:left; }
th { background:#eef1f5; font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; white-space:nowrap; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin-bottom:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 14px; min-width:150px; }
.card .label { color:var(--muted); font-size:12px; }
.card .value { font-size:22px; font-weight:700; }
.card a { text-decoration:none; color:inherit; }
.charts { display:flex; flex-wrap:wrap; gap:16px; }
.charts figure { background:#fff; border:1px solid var(--line); border-radius:6px; margin:0; padding:8px; }
.charts figcaption { font-weight:600; margin-bottom:4px; }
svg.chart { max-width:100%; height:auto; }
.badge { display:inline-block; white-space:nowrap; padding:1px 7px; border-radius:10px; font-size:12px; font-weight:600; background:#e5e7eb; }
.badge.ok, .badge.positif, .badge.paye { background:#dcfce7; color:#14532d; }
.badge.partiel, .badge.valide, .badge.attente { background:#fef3c7; color:#78350f; }
.badge.ko, .badge.rejete, .badge.negatif { background:#fee2e2; color:#7f1d1d; }
.badge.facture { background:#dbeafe; color:#1e3a8a; }
.badge.en_cours, .badge.doublon { background:#e5e7eb; color:#374151; }
.badge.e { background:#fee2e2; color:#7f1d1d; }
.badge.a { background:#fef3c7; color:#78350f; }
ul.errors { margin:4px 0 0; padding-left:18px; font-size:13px; min-width:32em; }
ul.errors li { margin:1px 0; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size:12.5px; }
form.filters { display:flex; flex-wrap:wrap; gap:10px; align-items:flex-end; background:#fff;
               border:1px solid var(--line); border-radius:6px; padding:10px; margin-bottom:12px; }
form.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:2px; }
form.filters label.check { flex-direction:row; align-items:center; gap:6px; padding-bottom:6px; }
input, select, button { font:inherit; padding:4px 6px; }
button.primary { background:var(--accent); color:#fff; border:0; border-radius:4px; padding:6px 12px; cursor:pointer; }
button.danger { background:#b91c1c; color:#fff; border:0; border-radius:4px; padding:6px 12px; cursor:pointer; }
.pager { color:var(--muted); }
.empty { color:var(--muted); font-style:italic; }
.notice { background:#fff; border-left:4px solid var(--accent); padding:8px 12px; margin:8px 0 12px; }
.notice.error { border-color:#b91c1c; }
.notice.success { border-color:#15803d; }
dl.facts { display:grid; grid-template-columns: max-content 1fr; gap:3px 14px; background:#fff;
           border:1px solid var(--line); border-radius:6px; padding:10px 14px; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; }
.actions { background:#fff; border:1px solid var(--line); border-radius:6px; padding:10px 14px; margin:12px 0; }
.actions form { display:inline-block; margin-right:12px; }
.login { max-width:380px; background:#fff; border:1px solid var(--line); border-radius:6px; padding:16px; }
.login label { display:block; margin:8px 0 2px; }
.login input { width:100%; }
details { margin:6px 0; }
"""
