"""What the dashboard pages and the JSON API show, read from PostgreSQL as plain dicts.

One function per view; the HTML pages (`fides.web.pages`) and the API (`fides.web.api`) call the
same functions, so a number on a page and in the API cannot disagree. SQL is in
`fides.web.queries`. Every free text that could carry an identity goes through `privacy.scrub`;
NIRs are masked (`privacy.mask_nir`) and never leave this module whole.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import psycopg

from fides.dossiers import STATE_NAMES, created_in
from fides.web import queries as q
from fides.web.privacy import mask_nir, scrub

ZERO = Decimal("0.00")
FILE_STATUSES = ("OK", "PARTIEL", "KO", "DOUBLON")
ARL_STATUSES = ("POSITIF", "NEGATIF", "ATTENTE")


@dataclass(frozen=True)
class Page:
    items: list[dict]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def as_json(self) -> dict:
        return {"items": self.items, "total": self.total, "page": self.page, "per_page": self.per_page}


def _window(page: int, per_page: int) -> dict:
    return {"limit": per_page, "offset": (page - 1) * per_page}


def _page(rows: list[tuple], page: int, per_page: int, convert) -> Page:
    total = rows[0][-1] if rows else 0
    return Page([convert(r[:-1]) for r in rows], total, page, per_page)


def slice_page(items: list[dict], page: int, per_page: int) -> Page:
    start = (page - 1) * per_page
    return Page(items[start:start + per_page], len(items), page, per_page)


def state_name(code: int | None) -> str | None:
    return None if code is None else STATE_NAMES.get(code, str(code))


# --- overview and charts -------------------------------------------------------------------------

def overview(conn: psycopg.Connection, finess: str) -> dict:
    states = {name: 0 for name in STATE_NAMES.values()}
    not_billable = 0
    for state, count, outside_b2 in conn.execute(q.STATE_COUNTS, {"finess": finess}):
        states[state_name(state)] = count
        not_billable += outside_b2
    files = {status: 0 for status in FILE_STATUSES}
    for status, count in conn.execute(q.FILE_STATUS_COUNTS):
        files[status] = count
    invoices, billed, paid = conn.execute(q.MONEY, {"finess": finess}).fetchone()
    return {"dossiers_par_etat": states, "fichiers_par_statut": files, "factures_en_cours": invoices,
            "montant_facture": billed, "montant_paye": paid, "dossiers_hors_b2": not_billable}


def reject_rate(conn: psycopg.Connection, finess: str, months: int = 12) -> list[dict]:
    rows = conn.execute(q.REJECT_RATE, {"finess": finess, "months": months}).fetchall()
    return [{"mois": m, "factures": sent, "rejetees": rejected,
             "taux": round(rejected / sent, 4) if sent else 0.0} for m, sent, rejected in reversed(rows)]


def backlog(conn: psycopg.Connection, finess: str, months: int = 12) -> list[dict]:
    by_month: dict[str, dict[str, int]] = {}
    for month, state, count in conn.execute(q.BACKLOG, {"finess": finess, "months": months}):
        counts = by_month.setdefault(month, {name: 0 for name in STATE_NAMES.values()})
        counts[state_name(state)] = count
    return [{"mois": m, **c} for m, c in sorted(by_month.items())]


# --- files ---------------------------------------------------------------------------------------

def _error(row: tuple) -> dict:
    line_no, position, code, severity, message = row
    return {"ligne": line_no, "position": position, "code": code, "gravite": severity,
            "message": scrub(message)}


_FILE_KEYS = ("id", "nom", "flux", "statut", "lignes_lues", "lignes_integrees", "lignes_refusees",
              "erreurs_total", "destination", "recu_le", "traite_le", "doublon_de")


def files(conn: psycopg.Connection, *, status: str | None, flux: str | None, name: str | None,
          page: int, per_page: int, errors_per_file: int = 20) -> Page:
    rows = conn.execute(q.FILES, {"status": status, "flux": flux, "name": name,
                                  **_window(page, per_page)}).fetchall()
    result = _page(rows, page, per_page, lambda r: dict(zip(_FILE_KEYS, r)))
    by_file: dict[int, list[dict]] = defaultdict(list)
    ids = [f["id"] for f in result.items]
    if ids and errors_per_file:
        for file_id, *error in conn.execute(q.FIRST_ERRORS, {"ids": ids, "per_file": errors_per_file}):
            by_file[file_id].append(_error(tuple(error)))
    for f in result.items:
        f["erreurs"] = by_file.get(f["id"], [])
    return result


def flux_names(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute(q.FLUX_NAMES)]


def file(conn: psycopg.Connection, file_id: int) -> dict | None:
    row = conn.execute(q.FILE, {"id": file_id}).fetchone()
    if row is None:
        return None
    keys = _FILE_KEYS + ("finess", "sha256", "taille", "applique", "traite_par")
    return dict(zip(keys, row))


def file_errors(conn: psycopg.Connection, file_id: int, page: int, per_page: int) -> Page:
    rows = conn.execute(q.FILE_ERRORS, {"id": file_id, **_window(page, per_page)}).fetchall()
    return _page(rows, page, per_page, _error)


def file_arl(conn: psycopg.Connection, file_id: int) -> tuple[str, str] | None:
    row = conn.execute(q.FILE_ARL, {"id": file_id}).fetchone()
    return None if row is None else (row[0], scrub(row[1]))


# --- dossiers --------------------------------------------------------------------------------------

def dossiers(conn: psycopg.Connection, finess: str, *, nda: str | None, state: int | None,
             with_anomalies: bool, page: int, per_page: int) -> Page:
    rows = conn.execute(q.DOSSIERS, {"finess": finess, "nda": nda, "state": state,
                                     "with_anomalies": with_anomalies, **_window(page, per_page)}).fetchall()

    def convert(r):
        nda_, state_, at, entry, exit_, billable, never_b2, last_code, numero, complement, anomalies = r
        return {"nda": nda_, "etat_code": state_, "etat": state_name(state_), "etat_depuis": at,
                "date_entree": entry, "date_sortie": exit_, "facturable_b2": billable,
                "jamais_b2": never_b2, "dernier_code": last_code, "titre": numero,
                "complement": complement, "anomalies_actives": anomalies}

    return _page(rows, page, per_page, convert)


@functools.lru_cache(maxsize=64)
def _layout(name: str):
    from fides.layouts import load

    return load(name)


def _parse(layout: str, line: str) -> dict:
    try:
        return _layout(layout).parse(line)
    except Exception:  # a layout renamed since the line was stored: show the rest of the dossier
        return {}


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def identity(layout: str, line: str) -> dict:
    """What the dashboard shows of the VIDHOSP identity: masked NIRs and the insurance codes."""
    rec = _parse(layout, line)
    nir = _text(rec.get("nir_assure")) + _text(rec.get("cle_nir_assure"))
    individual = _text(rec.get("nir_individuel")) + _text(rec.get("cle_nir_individuel"))
    return {"nir": mask_nir(nir), "nir_individuel": mask_nir(individual),
            "regime": _text(rec.get("code_grand_regime")), "caisse": _text(rec.get("caisse_gestionnaire")),
            "centre": _text(rec.get("centre_gestionnaire")), "sexe": _text(rec.get("sexe"))}


def dossier(conn: psycopg.Connection, finess: str, nda: str) -> dict | None:
    row = conn.execute(q.DOSSIER, {"finess": finess, "nda": nda}).fetchone()
    if row is None:
        return None
    (dossier_id, nda, state, state_at, created_at, last_flow_at, entry, exit_, billable, reason,
     never_b2, last_code, to_validate, numero, complement, lot_id, lot_numero, lot_geo) = row
    result = {
        "id": dossier_id, "nda": nda, "etat_code": state, "etat": state_name(state), "etat_depuis": state_at,
        "cree_le": created_at, "dernier_flux_le": last_flow_at, "date_entree": entry, "date_sortie": exit_,
        "facturable_b2": billable, "raison_hors_b2": scrub(reason) or None, "jamais_b2": never_b2,
        "dernier_code": last_code, "a_valider": to_validate, "titre": numero, "complement": complement,
        "lot": None if lot_id is None else {"id": lot_id, "numero": lot_numero, "finess_geo": lot_geo},
    }
    lines, ident, ums = [], None, []
    for kind, subtype, layout, seq, line, file_id, file_name, line_no in conn.execute(
            q.DOSSIER_LINES, {"id": dossier_id}):
        detail = ""
        if kind == "VIDHOSP" and ident is None:
            ident = identity(layout, line)
        elif kind == "RSS":
            um = _text(_parse(layout, line).get("num_um"))
            ums.append(um)
            detail = f"UM {um}" if um else ""
        lines.append({"type": kind, "sous_type": subtype, "format": layout, "rang": seq,
                      "fichier_id": file_id, "fichier": file_name, "ligne": line_no, "detail": detail})
    result["identite"] = ident
    result["unites_medicales"] = ums
    result["lignes"] = lines
    result["anomalies"] = [
        {"code": c, "gravite": s, "message": scrub(m), "origine": o, "le": at, "active": a}
        for c, s, m, o, at, a in conn.execute(q.DOSSIER_ANOMALIES, {"id": dossier_id})]
    result["titres"] = [
        {"numero": n, "complement": c, "exercice": e, "cree_le": at, "annule_le": cancelled}
        for n, c, e, at, cancelled in conn.execute(q.DOSSIER_TITRES, {"id": dossier_id})]
    result["factures"] = [
        {"le": at, "titre": n, "complement": c, "lot_id": lid, "lot": lnum, "finess_geo": geo,
         "organisme": org, "fichier_b2": b2, "montant": total, "montant_amo": amo, "en_cours": current}
        for at, n, c, lid, lnum, geo, org, b2, total, amo, current
        in conn.execute(q.DOSSIER_INVOICES, {"id": dossier_id})]
    result["retours"] = [
        {"type": kind, "le": at, "titre": n, "complement": c, "montant": amount, "codes": codes,
         "libelles": scrub(labels), "fichier_id": fid, "fichier": fname, "ligne": line_no}
        for kind, at, n, c, amount, codes, labels, fid, fname, line_no
        in conn.execute(q.DOSSIER_RETURNS, {"id": dossier_id})]
    result["historique"] = [
        {"n": eid, "le": at, "acteur": actor, "evenement": event, "de": state_name(f), "vers": state_name(t),
         "detail": scrub(detail), "fichier_id": fid, "fichier": fname, "ligne": line_no}
        for eid, at, actor, event, f, t, detail, fid, fname, line_no, batch
        in conn.execute(q.DOSSIER_HISTORY, {"id": dossier_id})
        if not batch or created_in(detail, dossier_id)]
    return result


# --- lots ----------------------------------------------------------------------------------------

_LOT_KEYS = ("id", "finess_geo", "numero", "organisme", "exercice", "cree_le", "fichier_b2", "factures",
             "montant", "montant_amo", "arl", "arl_le", "arl_code")


def _lot(row: tuple) -> dict:
    lot = dict(zip(_LOT_KEYS, row))
    lot["arl"] = lot["arl"] or "ATTENTE"
    return lot


def lots(conn: psycopg.Connection, *, finess_geo: str | None, arl: str | None, page: int, per_page: int) -> Page:
    rows = conn.execute(q.LOTS, {"finess_geo": finess_geo, "arl": arl, **_window(page, per_page)}).fetchall()

    def convert(r):
        lot = _lot(r[:13])
        lot["rejets"], lot["montant_paye"] = r[13], r[14]
        return lot

    return _page(rows, page, per_page, convert)


def lots_totals(conn: psycopg.Connection, *, finess_geo: str | None, arl: str | None) -> dict:
    count, invoices, total, amo = conn.execute(q.LOTS_TOTALS, {"finess_geo": finess_geo, "arl": arl}).fetchone()
    return {"lots": count, "factures": invoices, "montant": total, "montant_amo": amo}


def lot(conn: psycopg.Connection, lot_id: int) -> dict | None:
    row = conn.execute(q.LOT, {"id": lot_id}).fetchone()
    if row is None:
        return None
    result = _lot(row)
    result["lignes"] = [
        {"nda": nda, "etat": state_name(state), "titre": n, "complement": c, "montant": total,
         "montant_amo": amo, "enregistrements": records, "en_cours": current, "retours": returns or ""}
        for nda, state, n, c, total, amo, records, current, returns in conn.execute(q.LOT_INVOICES, {"id": lot_id})]
    return result


# --- rejects ------------------------------------------------------------------------------------------

def _motifs(codes: str, labels: str) -> list[tuple[str, str]]:
    codes_ = [c.strip() for c in (codes or "").split(",") if c.strip()]
    labels_ = [lab.strip() for lab in (labels or "").split(" | ")]
    if len(labels_) != len(codes_):
        labels_ = [labels or ""] * len(codes_)
    return list(zip(codes_, labels_)) or [("", labels or "")]


def rejects(conn: psycopg.Connection, finess: str, *, code: str | None = None, organisme: str | None = None,
            um: str | None = None, month: str | None = None, pending: bool = False) -> list[dict]:
    """Every NOEMIE 908 reject (newest first) matching the filters; see REJECTS for what is joined."""
    out = []
    for (rid, at, nda, state, numero, complement, codes, labels, total, amo, lot_id, lot_numero, geo, org,
         layout, line, file_id, file_name) in conn.execute(q.REJECTS, {"finess": finess, "organisme": organisme,
                                                                        "pending": pending}):
        unit = _text(_parse(layout, line).get("num_um")) if layout else ""
        motifs = _motifs(codes, scrub(labels))
        item = {"id": rid, "le": at, "mois": at.strftime("%Y-%m"), "nda": nda, "etat": state_name(state),
                "titre": numero, "complement": complement,
                "motifs": [{"code": c, "libelle": lab} for c, lab in motifs],
                "montant": total, "montant_amo": amo, "lot_id": lot_id, "lot": lot_numero,
                "finess_geo": geo, "caisse": org, "um": unit, "fichier_id": file_id, "fichier": file_name}
        if month and item["mois"] != month:
            continue
        if um and unit != um:
            continue
        if code and code not in {c for c, _ in motifs}:
            continue
        out.append(item)
    return out


def _group(items: list[dict], key) -> list[dict]:
    groups: dict[str, dict] = {}
    for item in items:
        for k, label in key(item):
            g = groups.setdefault(k, {"cle": k, "libelle": label, "nombre": 0, "montant": ZERO,
                                      "montant_amo": ZERO, "a_traiter": 0})
            g["nombre"] += 1
            g["montant"] += item["montant"] or ZERO
            g["montant_amo"] += item["montant_amo"] or ZERO
            g["a_traiter"] += item["etat"] == "REJETE"
    return sorted(groups.values(), key=lambda g: (-g["nombre"], g["cle"]))


def reject_summary(items: list[dict]) -> dict:
    """Counts and amounts by reason, caisse, UM and month (a reject with 2 motifs counts under each)."""
    return {
        "par_motif": _group(items, lambda i: [(m["code"], m["libelle"]) for m in i["motifs"]]),
        "par_caisse": _group(items, lambda i: [(i["caisse"] or "", "")]),
        "par_um": _group(items, lambda i: [(i["um"] or "", "")]),
        "par_mois": sorted(_group(items, lambda i: [(i["mois"], "")]), key=lambda g: g["cle"], reverse=True),
        "total": {"nombre": len(items), "montant": sum((i["montant"] or ZERO for i in items), ZERO),
                  "montant_amo": sum((i["montant_amo"] or ZERO for i in items), ZERO),
                  "a_traiter": sum(1 for i in items if i["etat"] == "REJETE")},
    }


# --- payments ------------------------------------------------------------------------------------

def payments(conn: psycopg.Connection, finess: str, *, month: str | None, gap: bool, page: int,
             per_page: int) -> Page:
    rows = conn.execute(q.PAYMENTS, {"finess": finess, "month": month, "gap": gap,
                                     **_window(page, per_page)}).fetchall()

    def convert(r):
        at, nda, state, numero, complement, amount, billed_amo, billed, lot_id, lot_numero, geo, org, fid, fname = r
        diff = None if amount is None or billed_amo is None else amount - billed_amo
        return {"le": at, "nda": nda, "etat": state_name(state), "titre": numero, "complement": complement,
                "montant_paye": amount, "montant_amo_facture": billed_amo, "montant_facture": billed,
                "ecart": diff, "lot_id": lot_id, "lot": lot_numero, "finess_geo": geo, "caisse": org,
                "fichier_id": fid, "fichier": fname}

    return _page(rows, page, per_page, convert)


def payments_by_month(conn: psycopg.Connection, finess: str) -> list[dict]:
    return [{"mois": m, "nombre": n, "montant_paye": paid, "montant_amo_facture": billed, "ecart": paid - billed}
            for m, n, paid, billed in conn.execute(q.PAYMENTS_BY_MONTH, {"finess": finess})]


# --- scheduled jobs and referentials ---------------------------------------------------------------

def jobs(conn: psycopg.Connection, page: int, per_page: int) -> Page:
    rows = conn.execute(q.JOBS, _window(page, per_page)).fetchall()

    def convert(r):
        job, period, claimed_by, started, finished, outcome = r
        return {"tache": job, "periode": period, "par": claimed_by, "debut": started, "fin": finished,
                "resultat": scrub(outcome) if outcome else None}

    return _page(rows, page, per_page, convert)


def referentials(conn: psycopg.Connection) -> list[dict]:
    return [{"table": t, "lignes": rows, "en_vigueur": in_force, "empreinte": checksum, "charge_le": at,
             "valide_du": first, "valide_au": last}
            for t, rows, checksum, at, in_force, first, last in conn.execute(q.REFERENTIALS)]


def unites_medicales(conn: psycopg.Connection, finess: str) -> list[dict]:
    return [{"um": um, "finess_geo": geo, "type_autorisation": aut, "date_effet": effet,
             "mode_hospitalisation": mode, "fichier_id": fid, "fichier": fname}
            for um, geo, aut, effet, mode, fid, fname in conn.execute(q.UNITES_MEDICALES, {"finess": finess})]

