"""The dashboard's pages (French UI). Each handler reads through `fides.web.data` and returns HTML.

Filters are plain GET forms and every action a POST form: the pages need no script at all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from fides.dossiers import STATE_NAMES
from fides.web import actions, data
from fides.web.charts import Series, bar_chart
from fides.web.html import (
    Markup, badge, fmt_date, fmt_dt, fmt_int, fmt_money, fmt_month, fmt_pct, frame, join, link, pager,
    seg, table, tag, url,
)
from fides.web.http import HttpError, Response, html, plain, redirect

STATES = tuple(STATE_NAMES.values())
STATE_COLORS = {"EN_COURS": "#9ca3af", "VALIDE": "#f59e0b", "FACTURE": "#2563eb", "REJETE": "#dc2626",
                "PAYE": "#16a34a"}
STATE_LABELS = {"EN_COURS": "en cours", "VALIDE": "validé (à facturer)", "FACTURE": "facturé",
                "REJETE": "rejeté", "PAYE": "payé"}
FILE_LABELS = {"OK": "intégré", "PARTIEL": "partiel", "KO": "rejeté", "DOUBLON": "doublon"}
NDA = r"[0-9A-Za-z_-]{1,20}"
MONTH = r"[0-9]{4}-(0[1-9]|1[0-2])"


@dataclass
class Ctx:
    finess: str
    user: str | None
    csrf: str
    pool: object
    now: object  # () -> aware datetime
    schedule: tuple = ()  # fides.engine.scheduler.Job: what `fides run` runs with this configuration

    def page(self, title: str, body, active: str, status: int = 200) -> Response:
        return html(frame(title, Markup(body), user=self.user, active=active, finess=self.finess, csrf=self.csrf),
                    status)


def _state(name: str | None) -> Markup:
    return badge(name, name.lower()) if name else Markup("")


def _file_status(status: str) -> Markup:
    return badge(f"{status} ({FILE_LABELS[status]})" if status in FILE_LABELS else status, status.lower())


def _nda_link(nda: str) -> Markup:
    return link(f"/dossiers/{seg(nda)}", nda)


def _titre(numero, complement) -> str:
    return "" if numero is None else f"{numero:09d} {complement or ''}".strip()


def _errors_list(errors: list[dict], more: int = 0, file_id: int | None = None) -> Markup:
    if not errors:
        return Markup("")
    items = [tag("li", [f"ligne {e['ligne']}, position {e['position']} : ", tag("code", e["code"]), " ",
                        badge(e["gravite"], e["gravite"].lower()), " ", e["message"]]) for e in errors]
    if more > 0 and file_id is not None:
        items.append(tag("li", link(f"/fichiers/{file_id}", f"… et {fmt_int(more)} autre(s) message(s)")))
    return tag("ul", items, class_="errors")


def _card(label: str, value, href: str | None = None, id_: str | None = None) -> Markup:
    inner = [tag("div", label, class_="label"), tag("div", value, class_="value", id=id_)]
    return tag("div", [link(href, inner) if href else join(inner)], class_="card")


def _select(name: str, label: str, options: list[tuple[str, str]], current: str | None) -> Markup:
    opts = [tag("option", text, value=value, selected=(value == (current or ""))) for value, text in options]
    return tag("label", [label, tag("select", opts, name=name)])


def _input(name: str, label: str, value: str | None, **attrs) -> Markup:
    return tag("label", [label, tag("input", "", name=name, value=value or "", **attrs)])


def _checkbox(name: str, label: str, checked: bool) -> Markup:
    return tag("label", [tag("input", "", type="checkbox", name=name, value="1", checked=checked), label],
               class_="check")


def _filters(*fields) -> Markup:
    return tag("form", list(fields) + [tag("button", "Filtrer", type="submit", class_="primary")],
               method="get", class_="filters")


# --- tableau de bord ----------------------------------------------------------------------------

def reject_rate_chart(rows: list[dict]) -> str:
    return bar_chart("Taux de rejet par mois d'envoi", [fmt_month(r["mois"]) for r in rows],
                     [Series("Taux de rejet", "#dc2626", tuple(r["taux"] for r in rows))],
                     percent=True, notes=[f"{r['rejetees']}/{r['factures']}" for r in rows],
                     chart_id="taux-rejet")


def backlog_chart(rows: list[dict]) -> str:
    return bar_chart("Dossiers facturables par mois de sortie et état", [fmt_month(r["mois"]) for r in rows],
                     [Series(STATE_LABELS[s], STATE_COLORS[s], tuple(r[s] for r in rows)) for s in STATES],
                     chart_id="reste-a-facturer")


def home(ctx: Ctx, req) -> Response:
    with ctx.pool.read() as conn:
        ov = data.overview(conn, ctx.finess)
        rate = data.reject_rate(conn, ctx.finess)
        backlog = data.backlog(conn, ctx.finess)
        recent = data.files(conn, status=None, flux=None, name=None, page=1, per_page=8, errors_per_file=3)
    states = ov["dossiers_par_etat"]
    files = ov["fichiers_par_statut"]
    body = [
        tag("h2", "Dossiers par état"),
        tag("div", [_card(f"{s} — {STATE_LABELS[s]}", fmt_int(states[s]), url("/dossiers", etat=s), f"etat-{s}")
                    for s in STATES], class_="cards"),
        tag("h2", "Fichiers reçus"),
        tag("div", [_card(f"{FILE_LABELS[s]}s ({s})", fmt_int(files.get(s, 0)), url("/fichiers", statut=s),
                          f"fichiers-{s}") for s in data.FILE_STATUSES], class_="cards"),
        tag("h2", "Facturation"),
        tag("div", [
            _card("Factures en cours (dernier envoi)", fmt_int(ov["factures_en_cours"]), "/lots", "factures"),
            _card("Montant facturé", fmt_money(ov["montant_facture"]), "/lots", "montant-facture"),
            _card("Montant payé (NOEMIE 578)", fmt_money(ov["montant_paye"]), "/paiements", "montant-paye"),
            _card("Rejets à traiter", fmt_int(states["REJETE"]), url("/rejets", a_traiter="1"), "rejets-a-traiter"),
            _card("Non facturables en B2", fmt_int(ov["dossiers_hors_b2"]), None, "hors-b2"),
        ], class_="cards"),
        tag("div", [
            tag("figure", [tag("figcaption", "Taux de rejet (NOEMIE 908) des factures, par mois d'envoi"),
                           Markup(reject_rate_chart(rate)),
                           tag("details", [tag("summary", "Les chiffres"), table(
                               ["Mois", "Factures envoyées", "Rejetées", "Taux"],
                               [[fmt_month(r["mois"]), fmt_int(r["factures"]), fmt_int(r["rejetees"]),
                                 fmt_pct(r["taux"])] for r in rate], numeric={1, 2, 3}, id_="table-taux-rejet")])]),
            tag("figure", [tag("figcaption", "Reste à facturer : dossiers facturables par mois de sortie"),
                           Markup(backlog_chart(backlog)),
                           tag("details", [tag("summary", "Les chiffres"), table(
                               ["Mois de sortie"] + list(STATES),
                               [[fmt_month(r["mois"])] + [fmt_int(r[s]) for s in STATES] for r in backlog],
                               numeric=set(range(1, 6)), id_="table-reste-a-facturer")])]),
        ], class_="charts"),
        tag("h2", "Derniers fichiers"),
        _files_table(recent.items),
        tag("p", link("/fichiers", "Tous les fichiers →")),
    ]
    return ctx.page("Tableau de bord", join(body), "/")


# --- fichiers ------------------------------------------------------------------------------------

def _files_table(items: list[dict]) -> Markup:
    rows = []
    for f in items:
        rows.append([
            fmt_dt(f["traite_le"]),
            join([link(f"/fichiers/{f['id']}", f["nom"]), Markup("<br>"),
                  link(f"/fichiers/{f['id']}/arl", ".arl", class_="arl")]),
            f["flux"], _file_status(f["statut"]),
            fmt_int(f["lignes_lues"]), fmt_int(f["lignes_integrees"]), fmt_int(f["lignes_refusees"]),
            join([fmt_int(f["erreurs_total"]),
                  _errors_list(f["erreurs"], f["erreurs_total"] - len(f["erreurs"]), f["id"])]),
        ])
    return table(["Traité le", "Fichier", "Flux", "Statut", "Lues", "Intégrées", "Refusées", "Messages"], rows,
                 numeric={4, 5, 6}, empty="Aucun fichier.", id_="fichiers")


def files(ctx: Ctx, req) -> Response:
    status = req.choice("statut", data.FILE_STATUSES)
    flux = req.text("flux", max_len=30, pattern=r"[A-Z0-9_]+")
    name = req.text("nom", max_len=120)
    page = req.integer("page", 1, 1, 1_000_000)
    with ctx.pool.read() as conn:
        result = data.files(conn, status=status, flux=flux, name=name, page=page, per_page=50)
        fluxes = data.flux_names(conn)
    form = _filters(
        _select("statut", "Statut", [("", "Tous")] + [(s, f"{s} — {FILE_LABELS[s]}") for s in data.FILE_STATUSES], status),
        _select("flux", "Flux", [("", "Tous")] + [(f, f) for f in fluxes], flux),
        _input("nom", "Nom contient", name, type="search"),
    )
    params = {"statut": status, "flux": flux, "nom": name}
    return ctx.page("Fichiers", join([form, _files_table(result.items), pager(result, "/fichiers", params)]), "/fichiers")


def file_detail(ctx: Ctx, req, file_id: str) -> Response:
    page = req.integer("page", 1, 1, 1_000_000)
    with ctx.pool.read() as conn:
        f = data.file(conn, int(file_id))
        if f is None:
            raise HttpError(404, "fichier inconnu")
        errors = data.file_errors(conn, f["id"], page, 200)
    facts = [
        ("Flux", f["flux"]), ("Statut", _file_status(f["statut"])),
        ("Lignes lues / intégrées / refusées",
         f"{fmt_int(f['lignes_lues'])} / {fmt_int(f['lignes_integrees'])} / {fmt_int(f['lignes_refusees'])}"),
        ("Messages", fmt_int(f["erreurs_total"])),
        ("Reçu le", fmt_dt(f["recu_le"])), ("Traité le", fmt_dt(f["traite_le"])), ("Par", f["traite_par"] or ""),
        ("Rangé dans", f["destination"]), ("Taille", f"{fmt_int(f['taille'])} octets"),
        ("Empreinte SHA-256", tag("code", f["sha256"])),
        ("Acquittement", link(f"/fichiers/{f['id']}/arl", "voir le .arl")),
    ]
    if f["doublon_de"]:
        facts.append(("Doublon de", link(f"/fichiers/{f['doublon_de']}", f"fichier n° {f['doublon_de']}")))
    rows = [[fmt_int(e["ligne"]), fmt_int(e["position"]), tag("code", e["code"]), badge(e["gravite"], e["gravite"].lower()),
             e["message"]] for e in errors.items]
    body = [_facts(facts), tag("h2", "Messages"),
            table(["Ligne", "Position", "Code", "Gravité", "Message"], rows, numeric={0, 1},
                  empty="Aucun message : fichier intégré sans remarque.", id_="erreurs"),
            pager(errors, f"/fichiers/{f['id']}", {})]
    return ctx.page(f"Fichier {f['nom']}", join(body), "/fichiers")


def file_arl(ctx: Ctx, req, file_id: str) -> Response:
    with ctx.pool.read() as conn:
        found = data.file_arl(conn, int(file_id))
    if found is None:
        raise HttpError(404, "fichier inconnu")
    name, text = found
    return plain(text, filename=f"{name}.arl")


def _facts(pairs: list[tuple[str, object]]) -> Markup:
    return tag("dl", [join([tag("dt", k), tag("dd", v)]) for k, v in pairs], class_="facts")


# --- dossiers ------------------------------------------------------------------------------------

def dossiers(ctx: Ctx, req) -> Response:
    nda = req.text("nda", max_len=20, pattern=NDA)
    state = req.choice("etat", STATES)
    with_anomalies = req.boolean("anomalies")
    page = req.integer("page", 1, 1, 1_000_000)
    code = None if state is None else STATES.index(state)
    with ctx.pool.read() as conn:
        if nda and page == 1 and not state and not with_anomalies and data.dossier(conn, ctx.finess, nda):
            return redirect(f"/dossiers/{seg(nda)}")
        result = data.dossiers(conn, ctx.finess, nda=nda, state=code, with_anomalies=with_anomalies,
                               page=page, per_page=50)
    form = _filters(
        _input("nda", "N° administratif (début)", nda, type="search", inputmode="numeric"),
        _select("etat", "État", [("", "Tous")] + [(s, f"{s} — {STATE_LABELS[s]}") for s in STATES], state),
        _checkbox("anomalies", "avec anomalies", with_anomalies),
    )
    rows = [[_nda_link(d["nda"]), _state(d["etat"]), fmt_dt(d["etat_depuis"]), fmt_date(d["date_entree"]),
             fmt_date(d["date_sortie"]), _titre(d["titre"], d["complement"]), d["dernier_code"] or "",
             fmt_int(d["anomalies_actives"]),
             "oui" if d["facturable_b2"] else ("non" if d["facturable_b2"] is False else "")]
            for d in result.items]
    params = {"nda": nda, "etat": state, "anomalies": "1" if with_anomalies else None}
    body = [form, table(["N° administratif", "État", "Depuis", "Entrée", "Sortie", "Titre", "Dernier code",
                         "Anomalies", "Facturable B2"], rows, numeric={7}, empty="Aucun dossier.", id_="dossiers"),
            pager(result, "/dossiers", params)]
    return ctx.page("Dossiers", join(body), "/dossiers")


NOTICES = {
    "A": "MANAGEREJECT A appliqué : facture rejetée annulée, titre annulé ; le dossier est EN_COURS "
         "et attend des données corrigées (un nouveau titre sera donné à la prochaine facturation).",
    "C": "MANAGEREJECT C appliqué : facture rejetée confirmée ; le dossier est VALIDE et la même facture "
         "(même titre) partira dans un nouveau lot.",
}


def dossier(ctx: Ctx, req, nda: str, notice: Markup | None = None, status: int = 200) -> Response:
    if not re.fullmatch(NDA, nda):
        raise HttpError(404, "dossier inconnu", "DOS003")
    done = req.choice("resultat", tuple(NOTICES))
    with ctx.pool.read() as conn:
        d = data.dossier(conn, ctx.finess, nda)
    if d is None:
        raise HttpError(404, f"dossier {nda} inconnu", "DOS003")
    ident = d["identite"] or {}
    lot = d["lot"]
    facts = [
        ("État", join([_state(d["etat"]), f" depuis le {fmt_dt(d['etat_depuis'])}"])),
        ("Titre en cours", _titre(d["titre"], d["complement"]) or "aucun"),
        ("Lot", link(f"/lots/{lot['id']}", f"{lot['finess_geo']} / lot {lot['numero']:03d}") if lot else "aucun"),
        ("Séjour", f"du {fmt_date(d['date_entree'])} au {fmt_date(d['date_sortie'])}"),
        ("Unités médicales", ", ".join(u for u in d["unites_medicales"] if u) or ""),
        ("NIR (4 derniers caractères)", tag("span", ident.get("nir", ""), id="nir")),
        ("Régime / caisse / centre", " / ".join(x for x in (ident.get("regime"), ident.get("caisse"),
                                                             ident.get("centre")) if x)),
        ("Facturable en B2", {True: "oui", False: "non", None: "pas encore décidé"}[d["facturable_b2"]]
         + (f" — {d['raison_hors_b2']}" if d["raison_hors_b2"] else "")
         + (" — exclu définitivement (paiement annulé)" if d["jamais_b2"] else "")),
        ("Dernier code", d["dernier_code"] or ""),
        ("Créé le / dernier flux le", f"{fmt_dt(d['cree_le'])} / {fmt_dt(d['dernier_flux_le'])}"),
    ]
    body: list = []
    if done:
        body.append(tag("div", NOTICES[done], class_="notice success", role="status"))
    if notice is not None:
        body.append(notice)
    body.append(_facts(facts))
    if d["etat"] == "REJETE":
        body.append(_reject_actions(ctx, d))
    body += [
        tag("h2", "Anomalies"),
        table(["Code", "Gravité", "Message", "Origine", "Le", "Active"],
              [[tag("code", a["code"]), badge(a["gravite"], a["gravite"].lower()), a["message"], a["origine"],
                fmt_dt(a["le"]), "oui" if a["active"] else "non (levée)"] for a in d["anomalies"]],
              empty="Aucune anomalie.", id_="anomalies"),
        tag("h2", "Retours de l'assurance maladie"),
        table(["Type", "Le", "Titre", "Montant", "Codes", "Libellés", "Fichier"],
              [[r["type"], fmt_dt(r["le"]), _titre(r["titre"], r["complement"]), fmt_money(r["montant"]),
                r["codes"], r["libelles"], link(f"/fichiers/{r['fichier_id']}", f"{r['fichier']} (ligne {r['ligne']})")]
               for r in d["retours"]], numeric={3}, empty="Aucun retour.", id_="retours"),
        tag("h2", "Factures"),
        table(["Le", "Titre", "Lot", "Organisme", "Fichier B2", "Montant", "Montant AMO", "En cours"],
              [[fmt_dt(i["le"]), _titre(i["titre"], i["complement"]),
                link(f"/lots/{i['lot_id']}", f"{i['finess_geo']} / {i['lot']:03d}"), i["organisme"], i["fichier_b2"],
                fmt_money(i["montant"]), fmt_money(i["montant_amo"]), "oui" if i["en_cours"] else "non"]
               for i in d["factures"]], numeric={5, 6}, empty="Aucune facture.", id_="factures"),
        tag("h2", "Titres de recette"),
        table(["Titre", "Exercice", "Attribué le", "Annulé le"],
              [[_titre(t["numero"], t["complement"]), t["exercice"], fmt_dt(t["cree_le"]), fmt_dt(t["annule_le"])]
               for t in d["titres"]], empty="Aucun titre.", id_="titres"),
        tag("h2", "Lignes en vigueur"),
        table(["Type", "Sous-type", "Format", "Rang", "Fichier", "Ligne", "Détail"],
              [[ln["type"], ln["sous_type"], ln["format"], ln["rang"],
                link(f"/fichiers/{ln['fichier_id']}", ln["fichier"]), ln["ligne"], ln["detail"]]
               for ln in d["lignes"]], numeric={3, 5}, empty="Aucune ligne.", id_="lignes"),
        tag("h2", "Historique (journal d'audit)"),
        table(["N°", "Le", "Événement", "De", "Vers", "Acteur", "Détail", "Fichier"],
              [[h["n"], fmt_dt(h["le"]), h["evenement"], h["de"] or "", h["vers"] or "", h["acteur"], h["detail"],
                link(f"/fichiers/{h['fichier_id']}", f"{h['fichier']}" + (f" (ligne {h['ligne']})" if h["ligne"] else ""))
                if h["fichier_id"] else ""] for h in d["historique"]],
              numeric={0}, empty="Aucun événement.", id_="historique"),
    ]
    return ctx.page(f"Dossier {d['nda']}", join(body), "/dossiers", status)


def _reject_actions(ctx: Ctx, d: dict) -> Markup:
    last = next((r for r in reversed(d["retours"]) if r["type"] == "REJET"), None)
    why = f" (rejet {last['codes']} du {fmt_dt(last['le'])})" if last else ""
    return tag("section", [
        tag("h2", "Traiter le rejet (MANAGEREJECT)"),
        tag("p", f"Ce dossier a été rejeté par l'assurance maladie{why}. Choisissez, comme avec un flux "
                 "MANAGEREJECT : A annule la facture et son titre (dossier EN_COURS, à corriger), C confirme "
                 "la facture (dossier VALIDE, même titre, renvoyée dans un nouveau lot)."),
        tag("form", [
            tag("input", "", type="hidden", name="csrf", value=ctx.csrf),
            _input("motif", "Motif (facultatif)", "", maxlength="80"),
            tag("button", "A — Annuler la facture", type="submit", name="action", value="A", class_="danger",
                id="managereject-A"),
            " ",
            tag("button", "C — Confirmer et renvoyer", type="submit", name="action", value="C", class_="primary",
                id="managereject-C"),
        ], method="post", action=f"/dossiers/{seg(d['nda'])}/managereject"),
    ], class_="actions", id="actions")


def managereject(ctx: Ctx, req, nda: str) -> Response:
    if ctx.user is None or ctx.user == "api":
        raise HttpError(403, "action réservée aux personnes connectées par leur nom (page de connexion)")
    form = req.form
    action = form.get("action", "")
    if action not in actions.TRIGGERS:
        raise HttpError(400, "action A ou C attendue")
    motif = req.text("motif", max_len=80, source=form) or ""
    if form.get("confirme") != "1":
        return _confirm(ctx, nda, action, motif)
    with ctx.pool.write() as conn:
        outcome = actions.manage_reject(conn, ctx.finess, nda, action, ctx.user, motif, ctx.now())
        if not outcome.applied:
            conn.rollback()
    if outcome.applied:
        return redirect(url(f"/dossiers/{seg(nda)}", resultat=action))
    notice = tag("div", f"Action refusée ({outcome.code}) : {outcome.message}", class_="notice error", role="alert")
    return dossier(ctx, req, nda, notice, 409)


def _confirm(ctx: Ctx, nda: str, action: str, motif: str) -> Response:
    what = {"A": "annuler la facture rejetée (le titre est annulé, le dossier repasse EN_COURS)",
            "C": "confirmer la facture rejetée (le dossier repasse VALIDE et sera refacturé avec le même titre)"}
    body = [
        tag("p", f"Vous allez {what[action]} du dossier {nda}. L'action sera enregistrée dans le journal "
                 f"d'audit à votre nom ({ctx.user})."),
        tag("form", [
            tag("input", "", type="hidden", name="csrf", value=ctx.csrf),
            tag("input", "", type="hidden", name="action", value=action),
            tag("input", "", type="hidden", name="motif", value=motif),
            tag("input", "", type="hidden", name="confirme", value="1"),
            tag("button", f"Confirmer MANAGEREJECT {action}", type="submit", class_="danger" if action == "A" else "primary",
                id="confirmer"),
            " ", link(f"/dossiers/{seg(nda)}", "Revenir au dossier sans rien changer"),
        ], method="post", action=f"/dossiers/{seg(nda)}/managereject"),
    ]
    return ctx.page(f"Dossier {nda} : MANAGEREJECT {action}", join(body), "/dossiers")


# --- rejets --------------------------------------------------------------------------------------

def rejects_filters(req) -> dict:
    return {
        "code": req.text("motif", max_len=20, pattern=r"[0-9A-Za-z]+"),
        "organisme": req.text("caisse", max_len=20, pattern=r"[0-9A-Za-z]+"),
        "um": req.text("um", max_len=10, pattern=r"[0-9A-Za-z]+"),
        "month": req.text("mois", max_len=7, pattern=MONTH),
        "pending": req.boolean("a_traiter"),
    }


def rejects(ctx: Ctx, req) -> Response:
    filters = rejects_filters(req)
    page = req.integer("page", 1, 1, 1_000_000)
    with ctx.pool.read() as conn:
        items = data.rejects(conn, ctx.finess, **filters)
        months = sorted({i["mois"] for i in data.rejects(conn, ctx.finess)}, reverse=True)
    summary = data.reject_summary(items)
    params = {"motif": filters["code"], "caisse": filters["organisme"], "um": filters["um"],
              "mois": filters["month"], "a_traiter": "1" if filters["pending"] else None}
    form = _filters(
        _input("motif", "Code motif", filters["code"]),
        _input("caisse", "Caisse (organisme)", filters["organisme"]),
        _input("um", "UM", filters["um"]),
        _select("mois", "Mois du rejet", [("", "Tous")] + [(m, fmt_month(m)) for m in months], filters["month"]),
        _checkbox("a_traiter", "à traiter seulement (REJETE)", filters["pending"]),
    )

    def group_table(title: str, rows: list[dict], param: str, id_: str, label: bool = False, month: bool = False):
        body = []
        for g in rows:
            key = g["cle"]
            shown = fmt_month(key) if month else (key or "inconnu")
            cell = link(url("/rejets", **{**params, param: key}), shown) if key else shown
            first = [cell, g["libelle"]] if label else [cell]
            body.append(first + [fmt_int(g["nombre"]), fmt_int(g["a_traiter"]), fmt_money(g["montant"]),
                                 fmt_money(g["montant_amo"])])
        head = ["Motif", "Libellé"] if label else [title]
        n = len(head)
        return table(head + ["Rejets", "À traiter", "Montant", "Montant AMO"], body,
                     numeric={n, n + 1, n + 2, n + 3}, id_=id_, empty="Aucun rejet.")

    total = summary["total"]
    result = data.slice_page(items, page, 50)
    rows = [[fmt_dt(r["le"]), _nda_link(r["nda"]), _state(r["etat"]), _titre(r["titre"], r["complement"]),
             join([join([tag("code", m["code"]), " ", m["libelle"], Markup("<br>")]) for m in r["motifs"]]),
             fmt_money(r["montant"]), fmt_money(r["montant_amo"]), r["caisse"] or "", r["um"],
             link(f"/lots/{r['lot_id']}", f"{r['finess_geo']} / {r['lot']:03d}") if r["lot_id"] else "",
             link(f"/fichiers/{r['fichier_id']}", r["fichier"])] for r in result.items]
    body = [
        form,
        tag("div", [_card("Rejets", fmt_int(total["nombre"]), None, "rejets-total"),
                    _card("À traiter (REJETE)", fmt_int(total["a_traiter"]), None, "rejets-a-traiter"),
                    _card("Montant rejeté", fmt_money(total["montant"]), None, "rejets-montant"),
                    _card("dont AMO", fmt_money(total["montant_amo"]), None, "rejets-montant-amo")], class_="cards"),
        tag("h2", "Par motif"), group_table("Motif", summary["par_motif"], "motif", "par-motif", label=True),
        tag("p", "Un rejet portant plusieurs motifs compte sous chacun.", class_="empty"),
        tag("h2", "Par caisse"), group_table("Caisse (organisme destinataire)", summary["par_caisse"], "caisse", "par-caisse"),
        tag("h2", "Par unité médicale (UM de sortie)"), group_table("UM", summary["par_um"], "um", "par-um"),
        tag("h2", "Par mois"), group_table("Mois", summary["par_mois"], "mois", "par-mois", month=True),
        tag("h2", "Rejets"),
        table(["Reçu le", "N° administratif", "État", "Titre", "Motifs", "Montant", "Montant AMO", "Caisse", "UM",
               "Lot", "Fichier NOEMIE"], rows, numeric={5, 6}, empty="Aucun rejet.", id_="rejets"),
        pager(result, "/rejets", params),
    ]
    return ctx.page("Rejets", join(body), "/rejets")


# --- lots ----------------------------------------------------------------------------------------

def lots(ctx: Ctx, req) -> Response:
    geo = req.text("finess_geo", max_len=9, pattern=r"[0-9AB]{9}")
    arl = req.choice("arl", data.ARL_STATUSES)
    page = req.integer("page", 1, 1, 1_000_000)
    with ctx.pool.read() as conn:
        result = data.lots(conn, finess_geo=geo, arl=arl, page=page, per_page=50)
        totals = data.lots_totals(conn, finess_geo=geo, arl=arl)
    form = _filters(_input("finess_geo", "FINESS géographique", geo),
                    _select("arl", "ARL (NOEMIE 930)", [("", "Tous"), ("POSITIF", "positif"), ("NEGATIF", "négatif"),
                                                          ("ATTENTE", "en attente")], arl))
    rows = [[fmt_dt(lot["cree_le"]), lot["finess_geo"], link(f"/lots/{lot['id']}", f"{lot['numero']:03d}"),
             lot["organisme"], lot["exercice"], lot["fichier_b2"], fmt_int(lot["factures"]), fmt_money(lot["montant"]),
             fmt_money(lot["montant_amo"]), badge(lot["arl"], lot["arl"].lower()), fmt_dt(lot["arl_le"]),
             fmt_int(lot["rejets"]), fmt_money(lot["montant_paye"])] for lot in result.items]
    cards = tag("div", [_card("Lots", fmt_int(totals["lots"]), None, "lots-total"),
                        _card("Factures", fmt_int(totals["factures"]), None, "lots-factures"),
                        _card("Montant", fmt_money(totals["montant"]), None, "lots-montant"),
                        _card("dont AMO", fmt_money(totals["montant_amo"]), None, "lots-montant-amo")],
                class_="cards")
    body = [form, cards, table(["Créé le", "FINESS géo.", "Lot", "Organisme", "Exercice", "Fichier B2", "Factures", "Montant",
                         "Montant AMO", "ARL", "ARL le", "Rejets", "Payé"], rows, numeric={6, 7, 8, 11, 12},
                        empty="Aucun lot.", id_="lots"),
            pager(result, "/lots", {"finess_geo": geo, "arl": arl})]
    return ctx.page("Lots B2", join(body), "/lots")


def lot_detail(ctx: Ctx, req, lot_id: str) -> Response:
    with ctx.pool.read() as conn:
        lot = data.lot(conn, int(lot_id))
    if lot is None:
        raise HttpError(404, "lot inconnu")
    facts = [("FINESS géographique", lot["finess_geo"]), ("Organisme destinataire", lot["organisme"]),
             ("Exercice", lot["exercice"]), ("Créé le", fmt_dt(lot["cree_le"])), ("Fichier B2", lot["fichier_b2"]),
             ("Factures", fmt_int(lot["factures"])), ("Montant", fmt_money(lot["montant"])),
             ("Montant AMO", fmt_money(lot["montant_amo"])),
             ("ARL (NOEMIE 930)", join([badge(lot["arl"], lot["arl"].lower()),
                                        f" {fmt_dt(lot['arl_le'])} {lot['arl_code'] or ''}".rstrip()]))]
    rows = [[_nda_link(i["nda"]), _state(i["etat"]), _titre(i["titre"], i["complement"]), fmt_money(i["montant"]),
             fmt_money(i["montant_amo"]), fmt_int(i["enregistrements"]), "oui" if i["en_cours"] else "non (renvoyée)",
             i["retours"]] for i in lot["lignes"]]
    total = sum((i["montant"] for i in lot["lignes"]), data.ZERO)
    total_amo = sum((i["montant_amo"] for i in lot["lignes"]), data.ZERO)
    rows.append([tag("strong", "Total"), "", "", tag("strong", fmt_money(total)), tag("strong", fmt_money(total_amo)),
                 "", "", ""])
    body = [_facts(facts), tag("h2", "Factures du lot"),
            table(["N° administratif", "État", "Titre", "Montant", "Montant AMO", "Enregistrements", "Envoi en cours",
                   "Retours"], rows, numeric={3, 4, 5}, id_="factures-lot")]
    return ctx.page(f"Lot {lot['numero']:03d} — {lot['finess_geo']}", join(body), "/lots")


# --- paiements ----------------------------------------------------------------------------------------

def payments(ctx: Ctx, req) -> Response:
    month = req.text("mois", max_len=7, pattern=MONTH)
    gap = req.boolean("ecart")
    page = req.integer("page", 1, 1, 1_000_000)
    with ctx.pool.read() as conn:
        by_month = data.payments_by_month(conn, ctx.finess)
        result = data.payments(conn, ctx.finess, month=month, gap=gap, page=page, per_page=50)
    form = _filters(_select("mois", "Mois du paiement", [("", "Tous")] + [(m["mois"], fmt_month(m["mois"])) for m in by_month], month),
                    _checkbox("ecart", "avec écart seulement", gap))
    months = table(["Mois", "Paiements", "Payé", "AMO facturé", "Écart"],
                   [[link(url("/paiements", mois=m["mois"]), fmt_month(m["mois"])), fmt_int(m["nombre"]),
                     fmt_money(m["montant_paye"]), fmt_money(m["montant_amo_facture"]), fmt_money(m["ecart"])]
                    for m in by_month], numeric={1, 2, 3, 4}, empty="Aucun paiement reçu.", id_="paiements-mois")
    rows = [[fmt_dt(p["le"]), _nda_link(p["nda"]), _state(p["etat"]), _titre(p["titre"], p["complement"]),
             fmt_money(p["montant_paye"]), fmt_money(p["montant_amo_facture"]), fmt_money(p["ecart"]),
             p["caisse"] or "", link(f"/lots/{p['lot_id']}", f"{p['finess_geo']} / {p['lot']:03d}") if p["lot_id"] else "",
             link(f"/fichiers/{p['fichier_id']}", p["fichier"])] for p in result.items]
    body = [form, tag("h2", "Par mois"), months, tag("h2", "Paiements (NOEMIE 578)"),
            table(["Reçu le", "N° administratif", "État", "Titre", "Payé", "AMO facturé", "Écart", "Caisse", "Lot",
                   "Fichier NOEMIE"], rows, numeric={4, 5, 6}, empty="Aucun paiement.", id_="paiements"),
            pager(result, "/paiements", {"mois": month, "ecart": "1" if gap else None})]
    return ctx.page("Paiements", join(body), "/paiements")


# --- tâches planifiées, référentiels ---------------------------------------------------------------

def jobs(ctx: Ctx, req) -> Response:
    page = req.integer("page", 1, 1, 1_000_000)
    with ctx.pool.read() as conn:
        result = data.jobs(conn, page, 100)
    rows = [[j["tache"], j["periode"], j["par"], fmt_dt(j["debut"]), fmt_dt(j["fin"]) or "en cours",
             j["resultat"] or ""] for j in result.items]
    # next times in local wall-clock time, as the [schedule] settings are written
    at = ctx.now().astimezone().replace(tzinfo=None)
    planned = [[job.label, tag("code", job.name), job.calendar.describe(),
                f"{job.calendar.next_after(at):%d/%m/%Y %H:%M}"] for job in ctx.schedule]
    body = [tag("p", "Les tâches planifiées (génération B2, EXTRACTEPMSI mensuel, balayage de validation, "
                     "rétention) tournent dans « fides run », une seule fois par période pour tous les serveurs, "
                     "selon la section [schedule] de fides.toml."),
            tag("h2", "Planification"),
            table(["Tâche", "Code", "Quand", "Prochaine exécution"], planned,
                  empty="Aucune tâche planifiée : toutes sont désactivées dans [schedule].", id_="planification"),
            tag("h2", "Exécutions"),
            table(["Tâche", "Période", "Serveur", "Début", "Fin", "Résultat"], rows,
                  empty="Aucune tâche planifiée n'a encore tourné.", id_="taches"),
            pager(result, "/taches", {})]
    return ctx.page("Tâches planifiées", join(body), "/taches")


def referentials(ctx: Ctx, req) -> Response:
    with ctx.pool.read() as conn:
        tables = data.referentials(conn)
        ums = data.unites_medicales(conn, ctx.finess)
    rows = [[t["table"], fmt_int(t["lignes"]), fmt_int(t["en_vigueur"]), fmt_date(t["valide_du"]),
             fmt_date(t["valide_au"]) or "—", fmt_dt(t["charge_le"]), tag("code", t["empreinte"][:12])] for t in tables]
    um_rows = [[u["um"], u["finess_geo"], u["type_autorisation"], fmt_date(u["date_effet"]), u["mode_hospitalisation"],
                link(f"/fichiers/{u['fichier_id']}", u["fichier"])] for u in ums]
    body = [tag("h2", "Tables de référence chargées"),
            table(["Table", "Lignes", "En vigueur aujourd'hui", "Valide du", "Valide au", "Chargée le", "Empreinte"],
                  rows, numeric={1, 2}, empty="Aucun référentiel chargé.", id_="referentiels"),
            tag("h2", "Unités médicales (dernier fichier IUM)"),
            table(["UM", "FINESS géographique", "Type d'autorisation", "Date d'effet", "Mode d'hospitalisation",
                   "Fichier"], um_rows, empty="Aucun fichier IUM reçu.", id_="unites-medicales")]
    return ctx.page("Référentiels en vigueur", join(body), "/referentiels")


# --- connexion -------------------------------------------------------------------------------------

def login_page(next_path: str = "/", error: str | None = None, name: str = "", status: int = 401) -> Response:
    body = [
        tag("p", "Le tableau de bord montre des données de santé : connectez-vous avec votre nom (il est "
                 "inscrit au journal d'audit pour vos actions) et le jeton d'accès de l'installation."),
    ]
    if error:
        body.append(tag("div", error, class_="notice error", role="alert"))
    body.append(tag("form", [
        tag("input", "", type="hidden", name="suivant", value=next_path),
        tag("label", "Votre nom", for_="nom"),
        tag("input", "", id="nom", name="nom", value=name, required=True, maxlength="60", autocomplete="name"),
        tag("label", "Jeton d'accès", for_="jeton"),
        tag("input", "", id="jeton", name="jeton", type="password", required=True, autocomplete="current-password"),
        Markup("<p>"), tag("button", "Se connecter", type="submit", class_="primary"), Markup("</p>"),
    ], method="post", action="/connexion", class_="login"))
    return html(frame("Connexion", join(body), user=None), status)


def error_page(ctx: Ctx | None, status: int, message: str) -> Response:
    body = join([tag("div", message, class_="notice error", role="alert"), tag("p", link("/", "Retour au tableau de bord"))])
    title = {400: "Requête invalide", 403: "Accès refusé", 404: "Introuvable", 405: "Méthode non permise",
             409: "Conflit", 413: "Requête trop volumineuse", 415: "Format non pris en charge",
             503: "Base de données indisponible"}.get(status, "Erreur")
    if ctx is None:
        return html(frame(title, body, user=None), status)
    return ctx.page(title, body, "", status)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)

