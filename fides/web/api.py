"""The JSON API (for the GAP and scripts): the dashboard's data, read-only, described in OpenAPI 3.

Every endpoint needs `Authorization: Bearer <token>` (or the dashboard's session cookie), except
`/api/openapi.json`. Lists take `page` (from 1) and `per_page` (1-500, default 50) and answer
`{"items": [...], "total": N, "page": P, "per_page": K}`. Errors answer `{"erreur": "...",
"code": "..."}` with a 4xx status. Amounts are numbers in euros, times ISO 8601 with their offset.
"""

from __future__ import annotations

import re

from fides import __version__
from fides.dossiers import STATE_NAMES
from fides.web import data
from fides.web.http import HttpError, Response, json_response, plain
from fides.web.pages import MONTH, NDA, rejects_filters

STATES = tuple(STATE_NAMES.values())
MAX_ID = 2**62


def _paging(req) -> tuple[int, int]:
    return req.integer("page", 1, 1, 1_000_000), req.integer("per_page", 50, 1, 500)


def _id(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,19}", value) or not 1 <= int(value) <= MAX_ID:
        raise HttpError(404, "identifiant inconnu")
    return int(value)


def stats(ctx, req) -> Response:
    months = req.integer("mois", 12, 1, 120)
    with ctx.pool.read() as conn:
        out = data.overview(conn, ctx.finess)
        out["taux_de_rejet"] = data.reject_rate(conn, ctx.finess, months)
        out["reste_a_facturer"] = data.backlog(conn, ctx.finess, months)
    return json_response(out)


def dossiers(ctx, req) -> Response:
    nda = req.text("nda", max_len=20, pattern=NDA)
    state = req.choice("etat", STATES)
    with_anomalies = req.boolean("anomalies")
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        result = data.dossiers(conn, ctx.finess, nda=nda, state=None if state is None else STATES.index(state),
                               with_anomalies=with_anomalies, page=page, per_page=per_page)
    return json_response(result.as_json())


def dossier(ctx, req, nda: str) -> Response:
    if not re.fullmatch(NDA, nda):
        raise HttpError(404, "dossier inconnu", "DOS003")
    with ctx.pool.read() as conn:
        d = data.dossier(conn, ctx.finess, nda)
    if d is None:
        raise HttpError(404, f"dossier {nda} inconnu", "DOS003")
    d.pop("id")
    return json_response(d)


def files(ctx, req) -> Response:
    status = req.choice("statut", data.FILE_STATUSES)
    flux = req.text("flux", max_len=30, pattern=r"[A-Z0-9_]+")
    name = req.text("nom", max_len=120)
    errors = req.integer("erreurs_par_fichier", 20, 0, 1000)
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        result = data.files(conn, status=status, flux=flux, name=name, page=page, per_page=per_page,
                            errors_per_file=errors)
    return json_response(result.as_json())


def _known_file(conn, file_id: str) -> dict:
    f = data.file(conn, _id(file_id))
    if f is None:
        raise HttpError(404, "fichier inconnu")
    return f


def file(ctx, req, file_id: str) -> Response:
    with ctx.pool.read() as conn:
        f = _known_file(conn, file_id)
        f["erreurs"] = data.file_errors(conn, f["id"], 1, 1000).items
    return json_response(f)


def file_errors(ctx, req, file_id: str) -> Response:
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        result = data.file_errors(conn, _known_file(conn, file_id)["id"], page, per_page)
    return json_response(result.as_json())


def file_arl(ctx, req, file_id: str) -> Response:
    with ctx.pool.read() as conn:
        found = data.file_arl(conn, _id(file_id))
    if found is None:
        raise HttpError(404, "fichier inconnu")
    return plain(found[1], filename=f"{found[0]}.arl")


def lots(ctx, req) -> Response:
    geo = req.text("finess_geo", max_len=9, pattern=r"[0-9AB]{9}")
    arl = req.choice("arl", data.ARL_STATUSES)
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        result = data.lots(conn, finess_geo=geo, arl=arl, page=page, per_page=per_page)
        totals = data.lots_totals(conn, finess_geo=geo, arl=arl)
    return json_response({**result.as_json(), "totaux": totals})


def lot(ctx, req, lot_id: str) -> Response:
    with ctx.pool.read() as conn:
        found = data.lot(conn, _id(lot_id))
    if found is None:
        raise HttpError(404, "lot inconnu")
    return json_response(found)


def rejects(ctx, req) -> Response:
    filters = rejects_filters(req)
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        items = data.rejects(conn, ctx.finess, **filters)
    out = data.slice_page(items, page, per_page).as_json()
    out["synthese"] = data.reject_summary(items)
    return json_response(out)


def payments(ctx, req) -> Response:
    month = req.text("mois", max_len=7, pattern=MONTH)
    gap = req.boolean("ecart")
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        result = data.payments(conn, ctx.finess, month=month, gap=gap, page=page, per_page=per_page)
    return json_response(result.as_json())


def jobs(ctx, req) -> Response:
    page, per_page = _paging(req)
    with ctx.pool.read() as conn:
        result = data.jobs(conn, page, per_page)
    return json_response(result.as_json())


def referentials(ctx, req) -> Response:
    with ctx.pool.read() as conn:
        out = {"tables": data.referentials(conn), "unites_medicales": data.unites_medicales(conn, ctx.finess)}
    return json_response(out)


def openapi(ctx, req) -> Response:
    return json_response(SPEC)


# --- OpenAPI 3 description -----------------------------------------------------------------------

def _t(kind: str, fmt: str | None = None, nullable: bool = False, **extra) -> dict:
    s = {"type": kind, **extra}
    if fmt:
        s["format"] = fmt
    if nullable:
        s["nullable"] = True
    return s


def _obj(props: dict, nullable: bool = False) -> dict:
    s = {"type": "object", "required": list(props), "properties": props}
    if nullable:
        s["nullable"] = True
    return s


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(item: str, **extra) -> dict:
    return _obj({"items": {"type": "array", "items": _ref(item)}, "total": _t("integer", minimum=0),
                 "page": _t("integer", minimum=1), "per_page": _t("integer", minimum=1), **extra})


STR, STR_N = _t("string"), _t("string", nullable=True)
INT, INT_N = _t("integer"), _t("integer", nullable=True)
NUM, NUM_N = _t("number"), _t("number", nullable=True)
BOOL, BOOL_N = _t("boolean"), _t("boolean", nullable=True)
DT, DT_N = _t("string", "date-time"), _t("string", "date-time", nullable=True)
DATE_N = _t("string", "date", nullable=True)
STATE = _t("string", enum=list(STATES))
STATE_N = _t("string", enum=list(STATES) + [None], nullable=True)
BY_STATE = _obj({s: INT for s in STATES})

SCHEMAS = {
    "Erreur": _obj({"erreur": STR, "code": STR_N}),
    "DossierResume": _obj({
        "nda": STR, "etat_code": INT, "etat": STATE, "etat_depuis": DT, "date_entree": DATE_N, "date_sortie": DATE_N,
        "facturable_b2": BOOL_N, "jamais_b2": BOOL, "dernier_code": STR_N, "titre": INT_N, "complement": STR_N,
        "anomalies_actives": INT}),
    "Dossier": _obj({
        "nda": STR, "etat_code": INT, "etat": STATE, "etat_depuis": DT, "cree_le": DT, "dernier_flux_le": DT,
        "date_entree": DATE_N, "date_sortie": DATE_N, "facturable_b2": BOOL_N, "raison_hors_b2": STR_N,
        "jamais_b2": BOOL, "dernier_code": STR_N, "a_valider": BOOL, "titre": INT_N, "complement": STR_N,
        "lot": _obj({"id": INT, "numero": INT, "finess_geo": STR}, nullable=True),
        "identite": _obj({"nir": _t("string", description="NIR masqué sauf ses 4 derniers caractères"),
                          "nir_individuel": STR, "regime": STR, "caisse": STR, "centre": STR, "sexe": STR},
                         nullable=True),
        "unites_medicales": {"type": "array", "items": STR},
        "lignes": {"type": "array", "items": _obj({
            "type": STR, "sous_type": STR, "format": STR, "rang": INT, "fichier_id": INT, "fichier": STR, "ligne": INT,
            "detail": STR})},
        "anomalies": {"type": "array", "items": _obj({
            "code": STR, "gravite": STR, "message": STR, "origine": STR, "le": DT, "active": BOOL})},
        "titres": {"type": "array", "items": _obj({
            "numero": INT, "complement": STR, "exercice": INT, "cree_le": DT, "annule_le": DT_N})},
        "factures": {"type": "array", "items": _obj({
            "le": DT, "titre": INT, "complement": STR, "lot_id": INT, "lot": INT, "finess_geo": STR, "organisme": STR,
            "fichier_b2": STR, "montant": NUM, "montant_amo": NUM, "en_cours": BOOL})},
        "retours": {"type": "array", "items": _obj({
            "type": _t("string", enum=["REJET", "PAIEMENT"]), "le": DT, "titre": INT_N, "complement": STR_N,
            "montant": NUM_N, "codes": STR, "libelles": STR, "fichier_id": INT, "fichier": STR, "ligne": INT})},
        "historique": {"type": "array", "items": _obj({
            "n": INT, "le": DT, "acteur": STR, "evenement": STR, "de": STATE_N, "vers": STATE_N, "detail": STR,
            "fichier_id": INT_N, "fichier": STR_N, "ligne": INT_N})},
    }),
    "ErreurFichier": _obj({"ligne": INT, "position": INT, "code": STR, "gravite": _t("string", enum=["E", "A"]),
                           "message": STR}),
    "Fichier": _obj({
        "id": INT, "nom": STR, "flux": STR, "statut": STR, "lignes_lues": INT, "lignes_integrees": INT,
        "lignes_refusees": INT, "erreurs_total": INT, "destination": STR, "recu_le": DT_N, "traite_le": DT,
        "doublon_de": INT_N, "erreurs": {"type": "array", "items": _ref("ErreurFichier")}}),
    "FichierDetail": _obj({
        "id": INT, "nom": STR, "flux": STR, "statut": STR, "lignes_lues": INT, "lignes_integrees": INT,
        "lignes_refusees": INT, "erreurs_total": INT, "destination": STR, "recu_le": DT_N, "traite_le": DT,
        "doublon_de": INT_N, "finess": STR_N, "sha256": STR, "taille": INT, "applique": BOOL, "traite_par": STR_N,
        "erreurs": {"type": "array", "items": _ref("ErreurFichier"),
                    "description": "les 1000 premiers messages ; tous : /api/fichiers/{id}/erreurs"}}),
    "Lot": _obj({
        "id": INT, "finess_geo": STR, "numero": INT, "organisme": STR, "exercice": INT, "cree_le": DT,
        "fichier_b2": STR, "factures": INT, "montant": NUM, "montant_amo": NUM,
        "arl": _t("string", enum=list(data.ARL_STATUSES)), "arl_le": DT_N, "arl_code": STR_N, "rejets": INT,
        "montant_paye": NUM}),
    "LotDetail": _obj({
        "id": INT, "finess_geo": STR, "numero": INT, "organisme": STR, "exercice": INT, "cree_le": DT,
        "fichier_b2": STR, "factures": INT, "montant": NUM, "montant_amo": NUM,
        "arl": _t("string", enum=list(data.ARL_STATUSES)), "arl_le": DT_N, "arl_code": STR_N,
        "lignes": {"type": "array", "items": _obj({
            "nda": STR, "etat": STATE, "titre": INT, "complement": STR, "montant": NUM, "montant_amo": NUM,
            "enregistrements": INT, "en_cours": BOOL, "retours": STR})}}),
    "Rejet": _obj({
        "id": INT, "le": DT, "mois": STR, "nda": STR, "etat": STATE, "titre": INT_N, "complement": STR_N,
        "motifs": {"type": "array", "items": _obj({"code": STR, "libelle": STR})},
        "montant": NUM_N, "montant_amo": NUM_N, "lot_id": INT_N, "lot": INT_N, "finess_geo": STR_N, "caisse": STR_N,
        "um": STR, "fichier_id": INT, "fichier": STR}),
    "GroupeRejets": _obj({"cle": STR, "libelle": STR, "nombre": INT, "montant": NUM, "montant_amo": NUM,
                          "a_traiter": INT}),
    "Paiement": _obj({
        "le": DT, "nda": STR, "etat": STATE, "titre": INT_N, "complement": STR_N, "montant_paye": NUM_N,
        "montant_amo_facture": NUM_N, "montant_facture": NUM_N, "ecart": NUM_N, "lot_id": INT_N, "lot": INT_N,
        "finess_geo": STR_N, "caisse": STR_N, "fichier_id": INT, "fichier": STR}),
    "Tache": _obj({"tache": STR, "periode": STR, "par": STR, "debut": DT, "fin": DT_N, "resultat": STR_N}),
    "Statistiques": _obj({
        "dossiers_par_etat": BY_STATE,
        "fichiers_par_statut": {"type": "object", "additionalProperties": INT},
        "factures_en_cours": INT, "montant_facture": NUM, "montant_paye": NUM, "dossiers_hors_b2": INT,
        "taux_de_rejet": {"type": "array", "items": _obj({"mois": STR, "factures": INT, "rejetees": INT,
                                                          "taux": NUM})},
        "reste_a_facturer": {"type": "array", "items": _obj({"mois": STR, **{s: INT for s in STATES}})}}),
    "Referentiels": _obj({
        "tables": {"type": "array", "items": _obj({
            "table": STR, "lignes": INT, "en_vigueur": INT, "empreinte": STR, "charge_le": DT, "valide_du": DATE_N,
            "valide_au": DATE_N})},
        "unites_medicales": {"type": "array", "items": _obj({
            "um": STR, "finess_geo": STR, "type_autorisation": STR, "date_effet": _t("string", "date"),
            "mode_hospitalisation": STR, "fichier_id": INT, "fichier": STR})}}),
}
SCHEMAS["ListeDossiers"] = _list("DossierResume")
SCHEMAS["ListeFichiers"] = _list("Fichier")
SCHEMAS["ListeErreurs"] = _list("ErreurFichier")
SCHEMAS["ListeLots"] = _list("Lot", totaux=_obj({"lots": INT, "factures": INT, "montant": NUM, "montant_amo": NUM}))
SCHEMAS["ListePaiements"] = _list("Paiement")
SCHEMAS["ListeTaches"] = _list("Tache")
SCHEMAS["ListeRejets"] = _list("Rejet", synthese=_obj({
    "par_motif": {"type": "array", "items": _ref("GroupeRejets")},
    "par_caisse": {"type": "array", "items": _ref("GroupeRejets")},
    "par_um": {"type": "array", "items": _ref("GroupeRejets")},
    "par_mois": {"type": "array", "items": _ref("GroupeRejets")},
    "total": _obj({"nombre": INT, "montant": NUM, "montant_amo": NUM, "a_traiter": INT})}))


def _q(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


PAGING = [_q("page", _t("integer", minimum=1, maximum=1_000_000, default=1), "page (à partir de 1)"),
          _q("per_page", _t("integer", minimum=1, maximum=500, default=50), "lignes par page")]
ID = {"name": "id", "in": "path", "required": True, "schema": _t("integer", minimum=1, maximum=MAX_ID)}
NDA_PARAM = {"name": "nda", "in": "path", "required": True, "description": "N° administratif de séjour",
             "schema": _t("string", pattern=f"^{NDA}$")}
MONTH_SCHEMA = _t("string", pattern=f"^{MONTH}$", description="AAAA-MM")
BOOL_PARAM = _t("boolean")


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Erreur")}}}


def _get(summary: str, schema: str | None, params: list | None = None, not_found: bool = False,
         text: bool = False) -> dict:
    ok = ({"description": "OK", "content": {"text/plain": {"schema": STR}}} if text else
          {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}})
    responses = {"200": ok, "400": _error("paramètre invalide"), "401": _error("jeton absent ou invalide")}
    if not_found:
        responses["404"] = _error("inconnu")
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "fides — API JSON", "version": __version__,
             "description": "Les données du tableau de bord de fides, en lecture seule : états des dossiers, "
                            "fichiers reçus et leurs erreurs, lots B2, rejets, paiements, tâches planifiées, "
                            "référentiels. Authentification : `Authorization: Bearer <jeton>`. Les NIR ne sont "
                            "jamais donnés en entier."},
    "security": [{"jeton": []}],
    "paths": {
        "/api/statistiques": _get("Chiffres du tableau de bord", "Statistiques",
                                  [_q("mois", _t("integer", minimum=1, maximum=120, default=12), "mois affichés")]),
        "/api/dossiers": _get("Dossiers (filtres, pagination)", "ListeDossiers", [
            _q("nda", _t("string", pattern=f"^{NDA}$"), "début du N° administratif"),
            _q("etat", _t("string", enum=list(STATES)), "état"),
            _q("anomalies", BOOL_PARAM, "seulement les dossiers avec des anomalies actives")] + PAGING),
        "/api/dossiers/{nda}": _get("État et historique d'un dossier", "Dossier", [NDA_PARAM], not_found=True),
        "/api/fichiers": _get("Fichiers reçus et leurs premiers messages", "ListeFichiers", [
            _q("statut", _t("string", enum=list(data.FILE_STATUSES)), "statut d'intégration"),
            _q("flux", _t("string", pattern="^[A-Z0-9_]{1,30}$"), "flux"),
            _q("nom", _t("string", pattern="^[^\\x00-\\x1f\\x7f]{1,120}$"), "le nom contient"),
            _q("erreurs_par_fichier", _t("integer", minimum=0, maximum=1000, default=20), "messages par fichier"),
        ] + PAGING),
        "/api/fichiers/{id}": _get("Un fichier et ses messages", "FichierDetail", [ID], not_found=True),
        "/api/fichiers/{id}/erreurs": _get("Tous les messages d'un fichier", "ListeErreurs", [ID] + PAGING,
                                           not_found=True),
        "/api/fichiers/{id}/arl": _get("Le texte de l'acquittement (.arl)", None, [ID], not_found=True, text=True),
        "/api/lots": _get("Lots B2", "ListeLots", [
            _q("finess_geo", _t("string", pattern="^[0-9AB]{9}$"), "FINESS géographique"),
            _q("arl", _t("string", enum=list(data.ARL_STATUSES)), "état de l'ARL NOEMIE 930")] + PAGING),
        "/api/lots/{id}": _get("Un lot et ses factures", "LotDetail", [ID], not_found=True),
        "/api/rejets": _get("Rejets NOEMIE 908 et leur synthèse", "ListeRejets", [
            _q("motif", _t("string", pattern="^[0-9A-Za-z]{1,20}$"), "code motif"),
            _q("caisse", _t("string", pattern="^[0-9A-Za-z]{1,20}$"), "organisme destinataire du lot"),
            _q("um", _t("string", pattern="^[0-9A-Za-z]{1,10}$"), "UM de sortie"),
            _q("mois", MONTH_SCHEMA, "mois du rejet"),
            _q("a_traiter", BOOL_PARAM, "seulement les dossiers encore REJETE")] + PAGING),
        "/api/paiements": _get("Paiements NOEMIE 578", "ListePaiements", [
            _q("mois", MONTH_SCHEMA, "mois du paiement"),
            _q("ecart", BOOL_PARAM, "seulement les paiements différents du montant AMO facturé")] + PAGING),
        "/api/taches": _get("Tâches planifiées (exécutions)", "ListeTaches", PAGING),
        "/api/referentiels": _get("Référentiels en vigueur et unités médicales", "Referentiels"),
    },
    "components": {
        "securitySchemes": {"jeton": {"type": "http", "scheme": "bearer"}},
        "schemas": SCHEMAS,
    },
}
SPEC["paths"]["/api/openapi.json"] = {"get": {
    "summary": "Cette description", "security": [],
    "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
