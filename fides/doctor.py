"""`fides doctor`: what an administrator checks before calling for help, each with its remedy."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

OK, WARN, FAIL = "OK", "ATTENTION", "ERREUR"
MIN_FREE_BYTES = 1 << 30
STALE_SECONDS = 3600
# Rows without their dossier, titre or lot: none by construction (migration 0008 says why these
# references have no foreign key); a count here is a bug to report.
_ORPHANS = """
SELECT (SELECT count(*) FROM titre t WHERE NOT EXISTS (SELECT FROM dossier d WHERE d.id = t.dossier_id))
     + (SELECT count(*) FROM invoice i
        WHERE NOT EXISTS (SELECT FROM dossier d WHERE d.id = i.dossier_id)
           OR NOT EXISTS (SELECT FROM titre t WHERE t.id = i.titre_id)
           OR NOT EXISTS (SELECT FROM lot l WHERE l.id = i.lot_id))
     + (SELECT count(*) FROM anomaly a WHERE NOT EXISTS (SELECT FROM dossier d WHERE d.id = a.dossier_id))
     + (SELECT count(*) FROM insurance_return r
        WHERE r.invoice_id IS NOT NULL AND NOT EXISTS (SELECT FROM invoice i WHERE i.id = r.invoice_id))
"""


@dataclass(frozen=True)
class Check:
    level: str
    subject: str
    detail: str


def _config(root: Path) -> tuple[list[Check], object | None]:
    from fides import config

    path = root / config.CONFIG_NAME
    checks = []
    if not path.exists():
        checks.append(Check(WARN, "configuration", f"{path} absent : valeurs par défaut (fides init l'écrit)"))
    elif path.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH):
        checks.append(Check(WARN, "configuration", f"{path} lisible par tous : chmod o-rwx"))
    try:
        cfg = config.load(root)
    except config.ConfigError as exc:
        return checks + [Check(FAIL, "configuration", str(exc))], None
    return checks + [Check(OK, "configuration", f"FINESS {cfg.finess}")], cfg


def _tree(cfg) -> list[Check]:
    from fides.engine.tree import Tree

    tree = Tree(cfg.root, cfg["security.file_mode"], cfg["security.dir_mode"])
    checks = []
    for directory in (tree.inbox, tree.arl, tree.b2, tree.reports, tree.rejected):
        if not directory.is_dir():
            checks.append(Check(FAIL, "répertoires", f"{directory} absent (fides init le crée)"))
        elif not os.access(directory, os.W_OK):
            checks.append(Check(FAIL, "répertoires", f"{directory} non modifiable par fides"))
        elif directory.stat().st_mode & stat.S_IRWXO:
            checks.append(Check(WARN, "répertoires", f"{directory} accessible à tous : chmod o-rwx"))
    free = shutil.disk_usage(cfg.root).free
    level = OK if free >= MIN_FREE_BYTES else FAIL
    checks.append(Check(level, "espace disque", f"{free / (1 << 30):.1f} Gio libres sous {cfg.root}"))
    if tree.inbox.is_dir():
        now = time.time()
        stale = [p.name for p in tree.inbox.iterdir() if not p.name.startswith(".")
                 and now - p.lstat().st_mtime > STALE_SECONDS]
        if stale:
            checks.append(Check(WARN, "fichiers en attente",
                                f"{len(stale)} fichier(s) dans in/ depuis plus d'une heure : le service tourne-t-il ?"))
    return checks or [Check(OK, "répertoires", str(cfg.root))]


def _database(cfg, today: dt.date) -> list[Check]:
    import psycopg

    from fides.store import db, schema

    try:
        url = db.resolve_url(cfg["database.url"], cfg.root)
        with psycopg.connect(url, connect_timeout=5) as conn:
            encoding = conn.execute("SHOW server_encoding").fetchone()[0]
    except (psycopg.Error, OSError) as exc:
        return [Check(FAIL, "base de données", f"injoignable : {type(exc).__name__}")]
    if encoding != "UTF8":  # the referentials hold characters other encodings have not
        return [Check(FAIL, "base de données", f"encodage {encoding} : fides demande une base UTF8 "
                                                 "(CREATE DATABASE … ENCODING 'UTF8')")]
    checks = [Check(OK, "base de données", "joignable")]
    try:
        differences = schema.differences(url)
    except Exception as exc:  # a database that was never migrated, or by another version
        return checks + [Check(FAIL, "schéma", f"illisible ({type(exc).__name__}) : fides db upgrade")]
    if differences:
        return checks + [Check(FAIL, "schéma", f"{len(differences)} écart(s) : fides db upgrade")]
    checks.append(Check(OK, "schéma", "à jour"))
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT count(*) FROM referential_load").fetchone()[0]
        latest = conn.execute("SELECT max(valid_from) FROM referential_row WHERE table_name = 'ghs_tarifs'").fetchone()[0]
        orphans = conn.execute(_ORPHANS).fetchone()[0]
    checks.append(Check(OK, "intégrité", "titres, factures, anomalies et retours rattachés") if not orphans else
                  Check(FAIL, "intégrité", f"{orphans} titre(s), facture(s), anomalie(s) ou retour(s) sans "
                                          "dossier, titre, lot ou facture : signaler ce défaut"))
    if not tables:
        checks.append(Check(FAIL, "référentiels", "non chargés : fides referentials load"))
    else:
        # Tariff campaigns start on 1 March: the one in force must be loaded.
        campaign = dt.date(today.year if today >= dt.date(today.year, 3, 1) else today.year - 1, 3, 1)
        fresh = latest is not None and latest >= campaign
        checks.append(Check(OK if fresh else WARN, "référentiels",
                            f"{tables} tables ; tarifs GHS depuis le {latest}" +
                            ("" if fresh else f" : la campagne du {campaign} manque (mise à jour de mars)")))
    return checks


def diagnose(root: Path, today: dt.date | None = None) -> list[Check]:
    checks, cfg = _config(root)
    if cfg is None:
        return checks
    return checks + _tree(cfg) + _database(cfg, today or dt.date.today())
