"""`fides …`: the command line. Each subcommand is one small function registered in COMMANDS."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

from fides.config import CONFIG_NAME, ConfigError, render_template

log = logging.getLogger("fides")

# Exit codes (docs/operations.md): 2 = the command line or the configuration is wrong;
# 3 = the database cannot be reached: the same command may succeed once it is back.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DATABASE = 0, 1, 2, 3
SAMPLE_FLOWS = Path(__file__).resolve().parents[1] / "sample_flows"

COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None]]] = {}


def command(name: str, help_text: str, arguments: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    def register(fn):
        COMMANDS[name] = (fn, help_text, arguments)
        return fn

    return register


def _root_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("FIDES_ROOT", ".")),
                        help="racine de l'installation (répertoires tampons, fides.toml) ; défaut $FIDES_ROOT ou .")


def _open(args: argparse.Namespace, **kw):
    from fides.app import open_installation

    return open_installation(args.root.resolve(), **kw)


# --- commands -------------------------------------------------------------------------------

def _init_args(p: argparse.ArgumentParser) -> None:
    _root_arg(p)
    p.add_argument("--finess", help="FINESS e-PMSI de l'établissement")


@command("init", "écrire un fides.toml commenté et l'arborescence des répertoires tampons", _init_args)
def cmd_init(args: argparse.Namespace) -> int:
    from fides.engine.tree import Tree

    root = args.root.resolve()
    Tree(root).create()
    target = root / CONFIG_NAME
    if target.exists():
        print(f"{target} existe déjà : inchangé")
    else:
        overrides = {"establishment.finess": args.finess} if args.finess else {}
        Tree(root).write_atomic(target, render_template(overrides).encode())
        print(f"configuration écrite : {target}")
    print(f"déposez les flux dans {root / 'in'}")
    return EXIT_OK


@command("process", "traiter une fois les fichiers présents dans in/, puis s'arrêter", _root_arg)
def cmd_process(args: argparse.Namespace) -> int:
    with _open(args) as inst, _progress() as progress:
        progress.add_task("traitement des fichiers de in/", total=None)
        report = inst.processor().run_pass()
    for name, flux, status in report.processed:
        print(f"{status:8} {flux:18} {name}")
    if report.waiting:
        print(f"{len(report.waiting)} fichier(s) en attente (en cours d'écriture ou pris par un autre processus)")
    if report.errors:
        print(f"{len(report.errors)} fichier(s) laissé(s) dans in/ après une erreur (voir le journal)")
        return EXIT_FAILURE
    return EXIT_OK


def _run_args(p: argparse.ArgumentParser) -> None:
    _root_arg(p)
    p.add_argument("--poll", action="store_true", help="ne compter que sur le balayage périodique (partages réseau)")


@command("run", "le service : surveille in/, traite les fichiers, lance les tâches planifiées", _run_args)
def cmd_run(args: argparse.Namespace) -> int:
    from fides.engine.service import serve

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with _open(args, wait_seconds=60) as inst:
        serve(inst, stop, poll_only=args.poll)
    return EXIT_OK


def _status_args(p: argparse.ArgumentParser) -> None:
    _root_arg(p)
    p.add_argument("--check", action="store_true", help="sortie 0 si la base répond, 1 sinon (healthcheck)")


@command("status", "état : fichiers en attente, derniers fichiers traités, dossiers par état", _status_args)
def cmd_status(args: argparse.Namespace) -> int:
    import datetime as dt

    from fides.dossiers import STATE_NAMES

    with _open(args) as inst:
        conn = inst.conn
        if args.check:
            conn.execute("SELECT 1")
            return EXIT_OK
        waiting = sorted(p.name for p in inst.tree.inbox.iterdir() if not p.name.startswith("."))
        print(f"en attente dans in/ : {len(waiting)}")
        for name in waiting[:10]:
            print(f"  {name}")
        print("derniers fichiers :")
        for name, flux, status, at, errors in conn.execute(
                "SELECT name, flux, status, processed_at, errors_total FROM flux_file ORDER BY id DESC LIMIT 10"):
            print(f"  {at:%Y-%m-%d %H:%M:%S} {status:8} {flux:18} {name} ({errors} message(s))")
        print("dossiers par état :")
        for state, count in conn.execute("SELECT state, count(*) FROM dossier GROUP BY state ORDER BY state"):
            print(f"  {STATE_NAMES[state]:10} {count}")
        conn.commit()
        from fides.engine.scheduler import status_lines

        for line in status_lines(inst.config, conn, dt.datetime.now(dt.timezone.utc)):
            print(line)
    return EXIT_OK


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["upgrade"], help="upgrade : appliquer les migrations du schéma jusqu'à la dernière")
    _root_arg(p)


@command("db", "base de données : `fides db upgrade` applique les migrations", _db_args)
def cmd_db(args: argparse.Namespace) -> int:
    from fides import config
    from fides.store import db, schema

    cfg = config.load(args.root.resolve())
    schema.upgrade(db.resolve_url(cfg["database.url"], cfg.root))
    print("schéma à jour")
    return EXIT_OK


def _ref_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["load"],
                   help="load : charger les tables de referentials/ (seules les tables modifiées sont remplacées)")
    _root_arg(p)


@command("referentials", "référentiels : `fides referentials load` charge les tables livrées", _ref_args)
def cmd_referentials(args: argparse.Namespace) -> int:
    from fides.store import referentials

    with _open(args) as inst, inst.conn.transaction():
        loaded = referentials.load(inst.conn)
    if not loaded:
        print("référentiels déjà à jour")
    for table, rows in loaded.items():
        print(f"{table:40} {rows:7} lignes")
    return EXIT_OK


def _ndas_args(help_text: str) -> Callable[[argparse.ArgumentParser], None]:
    def arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("ndas", nargs="*", metavar="NDA", help=help_text)
        _root_arg(p)

    return arguments


@command("validate", "valider les dossiers complets (EN_COURS -> VALIDE) selon les règles",
         _ndas_args("N° administratifs à valider (défaut : les dossiers en attente)"))
def cmd_validate(args: argparse.Namespace) -> int:
    import datetime as dt

    from fides.engine import validation

    with _open(args) as inst:
        counts = validation.sweep(inst.conn, inst.config, inst.context["refs"], "cli",
                                  dt.datetime.now(dt.timezone.utc), ndas=args.ndas or None)
    print(f"{counts['valides']} dossier(s) validé(s), {counts['en_anomalie']} en anomalie, "
          f"{counts['hors_b2']} non facturable(s) en B2 (EXTRACTEPMSI seulement)")
    return EXIT_OK


@command("bill", "générer les factures B2 (titres, lots, fichiers B2, compte rendu, FACT_SYNT.TXT)",
         _ndas_args("N° administratifs à facturer (défaut : tous les dossiers VALIDE)"))
def cmd_bill(args: argparse.Namespace) -> int:
    import datetime as dt

    from fides.billing.run import bill

    with _open(args) as inst:
        now = dt.datetime.now(dt.timezone.utc)
        processor = inst.processor()
        report = inst.tree.reports / f"FACTURATION_{inst.config.finess}_{now.astimezone():%Y%m%d%H%M%S}.arl"
        with _progress() as progress, inst.conn.transaction():
            progress.add_task("facturation B2", total=None)
            result = bill(inst.conn, inst.config, inst.context["refs"], inst.tree, "cli", now, report,
                          args.ndas or None)
        processor.write_outputs(None)
    with report.open(encoding="utf-8") as lines:  # read back: a run of a million dossiers is not kept in memory
        for line in lines:
            print(line, end="")
    print(f"{result.generated} facture(s) dans {result.lots} lot(s) ; {result.not_generated} non générée(s)")
    return EXIT_OK


def _bench_args(p: argparse.ArgumentParser) -> None:
    from fides.bench import STAGES

    p.add_argument("--sizes", default="10000,100000",
                   help="tailles en dossiers (une ligne VIDHOSP, 1 à 3 RUM chacun), séparées par des virgules ; "
                        "la courbe complète : 10000,100000,1000000")
    p.add_argument("--stages", default=",".join(STAGES),
                   help=f"étapes mesurées après l'intégration, parmi {', '.join(STAGES)}")
    p.add_argument("--drops", type=int, default=100, help="dépôts d'un fichier d'une ligne pour mesurer la latence")
    p.add_argument("--seed", type=int, default=20250303, help="graine des flux synthétiques")
    p.add_argument("--keep", type=Path, help="garder les flux et la base dans ce répertoire (neuf ou vide)")
    p.add_argument("--repeat", type=int, default=1,
                   help="mesurer chaque taille N fois (base neuve à chaque fois) et garder la mesure médiane, "
                        "avec la plus rapide et la plus lente (colonne min–max) : le bruit d'une machine partagée")


def _bench_problem(args: argparse.Namespace, sizes: list[str], stages: tuple[str, ...]) -> str | None:
    """What is wrong with the bench's arguments, in one line, or None."""
    from fides.bench import STAGES

    if not sizes or not all(s.isascii() and s.isdigit() and int(s) > 0 for s in sizes):
        return f"--sizes {args.sizes} : des nombres de dossiers (au moins 1), séparés par des virgules"
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        return f"étape inconnue {', '.join(unknown)} (connues : {', '.join(STAGES)})"
    if args.repeat < 1:
        return f"--repeat {args.repeat} : au moins 1"
    if args.drops < 0:
        return f"--drops {args.drops} : 0 ou plus"
    if args.keep is not None and args.keep.exists() and (not args.keep.is_dir() or any(args.keep.iterdir())):
        return (f"--keep {args.keep} : ce répertoire existe et n'est pas vide (un banc d'essai déjà gardé ?) ; "
                "donnez un répertoire neuf ou vide")
    return None


@command("bench", "mesurer chaque étape sur des flux synthétiques (débits, mémoire, CPU, planchers COPY, latence)", _bench_args)
def cmd_bench(args: argparse.Namespace) -> int:
    from fides.bench.run import render, run

    logging.getLogger("fides").setLevel(logging.WARNING)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    problem = _bench_problem(args, sizes, stages)
    if problem:
        print(f"fides bench : {problem}", file=sys.stderr)
        return EXIT_USAGE
    server = os.environ.get("FIDES_DATABASE_URL")
    with _progress() as progress:
        task = progress.add_task("banc d'essai", total=len(sizes) + ("latence" in stages))
        measures = run([int(s) for s in sizes], args.seed, server, args.keep, stages, args.drops,
                       done=lambda what: progress.update(task, advance=1, description=f"banc d'essai : {what} mesuré"),
                       repeat=args.repeat)
    print(render(measures))
    return EXIT_OK


def _progress():
    """A progress bar on the terminal (rich), silent when output is not a terminal (cron, CI)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    transient=True, disable=not sys.stderr.isatty())


def _audit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["verify"], help="verify : vérifier le chaînage de tout le journal d'audit")
    _root_arg(p)


@command("audit", "journal d'audit : `fides audit verify` contrôle le chaînage de bout en bout", _audit_args)
def cmd_audit(args: argparse.Namespace) -> int:
    from fides import audit

    with _open(args) as inst:
        problems = audit.verify(inst.conn)
        count = inst.conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
        inst.conn.commit()
    for problem in problems:
        print(problem)
    if problems:
        print(f"journal d'audit ALTÉRÉ : {len(problems)} anomalie(s) sur {count} lignes")
        return EXIT_FAILURE
    print(f"journal d'audit intègre : {count} lignes vérifiées")
    return EXIT_OK


def _archive_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["decrypt", "rotate", "seal", "check"],
                   help="decrypt FICHIER : déchiffrer une archive .fenc (audit) ; rotate : ajouter une clé neuve "
                        "en tête du fichier de clés (le crée s'il manque) ; seal : chiffrer les archives restées "
                        "en clair ; check : vérifier l'intégrité de toutes les archives chiffrées")
    p.add_argument("file", nargs="?", type=Path, help="archive .fenc à déchiffrer")
    p.add_argument("--out", type=Path, help="fichier de sortie du déchiffrement (défaut : sortie standard)")
    p.add_argument("--key-file", type=Path,
                   help="fichier de clés (défaut : [security] archive_key_file de la configuration)")
    _root_arg(p)


@command("archive", "archives chiffrées : decrypt, rotate (rotation de clé), seal, check", _archive_args)
def cmd_archive(args: argparse.Namespace) -> int:
    from fides import config
    from fides.engine import archive

    key_file = args.key_file.resolve() if args.key_file else None
    if args.action == "rotate" and key_file is not None:
        key = archive.rotate(key_file)
        print(f"clé {key.kid_hex} ajoutée en tête de {key_file} (les archives existantes restent lisibles)")
        return EXIT_OK
    cfg = config.load(args.root.resolve()) if key_file is None or args.action in ("seal", "check") else None
    if key_file is None:
        if not cfg["security.archive_key_file"]:
            print("fides archive : aucun fichier de clés ([security] archive_key_file ou --key-file)", file=sys.stderr)
            return EXIT_USAGE
        key_file = Path(cfg["security.archive_key_file"])
    try:
        if args.action == "rotate":
            key = archive.rotate(key_file)
            print(f"clé {key.kid_hex} ajoutée en tête de {key_file} (les archives existantes restent lisibles)")
            return EXIT_OK
        keyring = archive.read_keyring(key_file)
        if args.action == "decrypt":
            if args.file is None:
                print("fides archive decrypt : FICHIER attendu", file=sys.stderr)
                return EXIT_USAGE
            if args.out is None:
                archive.decrypt_to_stdout(args.file, keyring)
            else:
                header = archive.decrypt_file(args.file, keyring, args.out)
                print(f"{args.file.name} ({header.name}, clé {header.kid.hex()}) déchiffré dans {args.out}",
                      file=sys.stderr)
            return EXIT_OK
        from fides.engine.tree import Tree, security_of

        tree = Tree(cfg.root, cfg["security.file_mode"], cfg["security.dir_mode"])
        if args.action == "seal":
            sealed = archive.seal_leftovers(cfg.root / "archive", archive.Archiver(key_file, keyring),
                                            tree.file_mode, security_of(cfg).gid)
            print(f"{sealed} archive(s) en clair chiffrée(s)")
            return EXIT_OK
        bad = total = 0
        for path in sorted((cfg.root / "archive").rglob(f"*{archive.SUFFIX}")):
            total += 1
            try:
                archive.decrypt_stream(path, keyring, None)
            except archive.ArchiveError as exc:
                bad += 1
                print(f"{tree.relative(path)} : {exc}")
        plain = [p for p in (cfg.root / "archive").rglob("*") if p.is_file() and not p.name.endswith(archive.SUFFIX)]
        print(f"{total - bad}/{total} archive(s) chiffrée(s) intègre(s) ; {len(plain)} fichier(s) en clair")
        return EXIT_FAILURE if bad else EXIT_OK
    except archive.ArchiveError as exc:
        print(f"fides archive : {exc}", file=sys.stderr)
        return EXIT_FAILURE


@command("purge", "rétention : appliquer maintenant la purge quotidienne (archives, .arl, comptes rendus, "
                  "base, journal d'audit)", _root_arg)
def cmd_purge(args: argparse.Namespace) -> int:
    import datetime as dt

    from fides.engine import retention
    from fides.engine.process import actor

    with _open(args) as inst:
        with inst.conn.transaction():
            report = retention.run(inst.conn, inst.config, inst.tree, actor(), dt.datetime.now(dt.timezone.utc))
    print(f"purge : {report.summary()}")
    return EXIT_OK


@command("doctor", "contrôles : configuration, droits, espace disque, base, schéma, fraîcheur des référentiels", _root_arg)
def cmd_doctor(args: argparse.Namespace) -> int:
    from fides.doctor import FAIL, diagnose

    checks = diagnose(args.root.resolve())
    for c in checks:
        print(f"{c.level:10} {c.subject:22} {c.detail}")
    return EXIT_FAILURE if any(c.level == FAIL for c in checks) else EXIT_OK


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", type=Path, default=None, help="racine à utiliser (défaut : un répertoire neuf)")


@command("demo", "cycle complet sur sample_flows/ dans une racine neuve, et ce qui s'est passé", _demo_args)
def cmd_demo(args: argparse.Namespace) -> int:
    from fides.demo import run_demo

    logging.getLogger("fides").setLevel(logging.WARNING)  # the demo prints its own account
    root = args.root or Path(tempfile.mkdtemp(prefix="fides-demo-"))
    args.root = root
    return run_demo(root, SAMPLE_FLOWS, _open(args))


def _state_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("ndas", nargs="*", metavar="NDA", help="N° administratifs de séjour")
    p.add_argument("--all", action="store_true", help="tous les dossiers de l'établissement")
    _root_arg(p)


@command("state", "état des dossiers, lignes ETAT comme la réponse à un STATEREQUEST", _state_args)
def cmd_state(args: argparse.Namespace) -> int:
    import fides.flows  # noqa: F401  (the flow modules, registered in order)
    from fides.returns import state_request

    if not args.ndas and not args.all:
        print("fides state : donner des N° administratifs ou --all", file=sys.stderr)
        return EXIT_USAGE
    with _open(args) as inst:
        for line in state_request.lines(inst.conn, inst.config.finess, None if args.all else args.ndas):
            print(line)
    return EXIT_OK


def _extract_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("month", metavar="AAAAMM", help="mois des sorties à extraire (ex. 202503)")
    _root_arg(p)


@command("extract-epmsi", "extraire un mois pour e-PMSI (zip des fichiers d'entrée GENRSA dans out/reports)", _extract_args)
def cmd_extract_epmsi(args: argparse.Namespace) -> int:
    import datetime as dt

    import fides.flows  # noqa: F401
    from fides.returns import extract_epmsi

    month = extract_epmsi.parse_month(args.month)
    if month is None:
        print(f"fides extract-epmsi : mois invalide {args.month!r} (AAAAMM attendu)", file=sys.stderr)
        return EXIT_USAGE
    with _open(args) as inst:
        with inst.conn.transaction():
            extract = extract_epmsi.export(inst.conn, inst.config.finess, inst.tree, *month,
                                           dt.datetime.now(dt.timezone.utc))
    print(f"{extract.dossiers} dossier(s) extrait(s) : {extract.path}")
    for name, count in extract.lines.items():
        print(f"{count:9} lignes  {name}")
    return EXIT_OK


def _web_args(p: argparse.ArgumentParser) -> None:
    _root_arg(p)
    p.add_argument("--host", help="adresse d'écoute (défaut [web] host : 127.0.0.1, cette machine seulement)")
    p.add_argument("--port", type=int, help="port (défaut [web] port : 8470)")
    p.add_argument("--token", help="jeton d'accès (défaut $FIDES_WEB_TOKEN, puis [web] token, sinon aléatoire) ; "
                                   "visible dans la liste des processus : préférer la variable")


@command("web", "tableau de bord web et API JSON (lecture seule sauf MANAGEREJECT, jeton obligatoire)", _web_args)
def cmd_web(args: argparse.Namespace) -> int:
    from fides.web.server import TokenError, start

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with _open(args, wait_seconds=60) as inst:
        try:
            server = start(inst.config, inst.url, host=args.host, port=args.port, token=args.token)
        except (TokenError, OSError) as exc:
            print(f"fides web : {exc}", file=sys.stderr)
            return EXIT_USAGE if isinstance(exc, TokenError) else EXIT_FAILURE
        print(f"tableau de bord : {server.url}", flush=True)
        if server.generated_token:
            print(f"jeton d'accès (valable pour ce lancement) : {server.generated_token}", flush=True)
        try:
            while not stop.wait(1.0):
                pass
        finally:
            server.stop()
    return EXIT_OK


# --- entry point --------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fides",
        description="fides : intégration FIDES-séjours côté établissement (VIDHOSP, RSS, FICHCOMP, B2, NOEMIE).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="journal détaillé")
    parser.add_argument("--log-json", action="store_true", help="journal en JSON, un objet par ligne (FIDES_LOG_JSON=1)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE",
                                help="`fides COMMANDE --help` décrit chaque commande")
    for name, (fn, help_text, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        arguments(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    from fides.logs import configure

    args = build_parser().parse_args(argv)
    configure(args.verbose, args.log_json or os.environ.get("FIDES_LOG_JSON") == "1")
    try:
        return args.func(args)
    except ConfigError as exc:
        message, code = f"configuration invalide : {exc}", EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as exc:
        problem = _database_problem(exc, args)
        if problem is None:
            raise  # a bug: its traceback is what a maintainer needs
        message, code = problem
    print(f"fides: {message}", file=sys.stderr)
    # A health check (`fides status --check`) answers 0 or 1 only: Docker reserves the others.
    return EXIT_FAILURE if getattr(args, "check", False) else code


# --- the database cannot be used: one line saying what, where and what to check ---------------

# A connection that could not be made or was lost (no SQLSTATE: libpq's own failure), as opposed
# to an error of one statement (disk full, lock timeout…), which keeps its traceback.
_CONNECTION_SQLSTATES = ("08", "28", "57P01", "57P02", "57P03", "53300")

# (pattern of libpq's or the server's message, what happened, what to check); first match wins.
# libpq's messages are English; a server set to another language falls through to the last case.
_CAUSES = (
    (r'database ".*" does not exist', "la base n'existe pas sur ce serveur", "le nom de la base dans {source}"),
    (r'role ".*" does not exist', "utilisateur inconnu du serveur", "l'utilisateur dans {source}"),
    (r"authentication failed|no password supplied|password is required",
     "authentification refusée", "l'utilisateur et le mot de passe dans {source}"),
    (r"pg_hba\.conf", "connexion refusée par les règles d'accès du serveur (pg_hba.conf)",
     "pg_hba.conf du serveur pour cet hôte, cet utilisateur et cette base"),
    (r"resolve host|translate host name|Name or service not known",
     "nom de serveur introuvable", "le nom du serveur dans {source} et le DNS"),
    (r"Connection refused", "connexion refusée, aucun serveur n'écoute à cette adresse",
     "que PostgreSQL est démarré, et le serveur et le port dans {source}"),
    (r"No such file or directory", "aucun serveur sur ce socket",
     "que PostgreSQL est démarré, et le répertoire du socket dans {source}"),
    (r"timeout expired|timed out|No route to host|Network is unreachable",
     "serveur injoignable par le réseau", "le réseau, le pare-feu, et le serveur et le port dans {source}"),
    (r"too many clients|too many connections", "trop de connexions ouvertes sur le serveur",
     "max_connections du serveur et le nombre de processus fides"),
    (r"starting up|shutting down|in recovery|not yet accepting", "serveur en cours de démarrage ou d'arrêt",
     "l'état du serveur PostgreSQL, puis relancez la commande"),
    (r"terminating connection|server closed the connection|connection is closed|connection is lost",
     "connexion perdue pendant la commande (serveur arrêté ou redémarré)",
     "l'état du serveur PostgreSQL, puis relancez la commande"),
)


def _database_problem(exc: BaseException, args: argparse.Namespace) -> tuple[str, int] | None:
    """What to tell the user when `exc` means the database cannot be used (message, exit code);
    None for any other error. The message names the server and the setting to check, never the
    password (the URL itself is never printed)."""
    url, source = _database_address(args)
    secret = os.environ.get("FIDES_DATABASE_URL_FILE")
    if not os.environ.get("FIDES_DATABASE_URL") and secret and isinstance(exc, OSError) \
            and exc.filename == secret:
        why = {errno.ENOENT: "fichier absent", errno.EACCES: "permission refusée"}.get(exc.errno, exc.strerror)
        return (f"adresse de la base de données illisible : {secret} (FIDES_DATABASE_URL_FILE) : {why}. "
                "Vérifiez le chemin et les droits du fichier secret.", EXIT_USAGE)
    if url and _from_url(exc):
        invalid = _invalid_url(url)
        if invalid:
            return (f"adresse de la base de données invalide dans {source} : {invalid}. "
                    "Attendu : postgresql://utilisateur:mot_de_passe@serveur:port/base", EXIT_USAGE)
    cause = _connection_error(exc)
    if cause is None:
        return None
    log.debug("database unreachable: %s", cause)  # libpq's words, for -v (no password in them)
    detail = str(cause).strip()
    what, check = "connexion impossible", "que PostgreSQL est démarré, et le serveur et le port dans {source}"
    for pattern, happened, to_check in _CAUSES:
        if re.search(pattern, detail, re.IGNORECASE):
            what, check = happened, to_check
            break
    else:
        reason = detail.splitlines()[0].rpartition("failed: ")[2].strip() if detail else ""
        if reason:
            what = f"{what} ({reason})"
    if not url and "{source}" in check:  # the embedded server: fides chose its address, not the user
        check = "l'état de {source} (fides doctor)"
    return (f"base de données inaccessible : {what} ({_server(url, source)}). "
            f"Vérifiez {check.format(source=source)}.", EXIT_DATABASE)


def _database_address(args: argparse.Namespace) -> tuple[str, str]:
    """(URL, where it is set) as fides.store.db.resolve_url chooses it; URL "" = embedded server."""
    url = os.environ.get("FIDES_DATABASE_URL", "")
    if url:
        return url, "FIDES_DATABASE_URL"
    secret = os.environ.get("FIDES_DATABASE_URL_FILE")
    if secret:
        try:
            return Path(secret).read_text(encoding="utf-8").strip(), f"le fichier {secret} (FIDES_DATABASE_URL_FILE)"
        except (OSError, UnicodeError):
            return "", f"le fichier {secret} (FIDES_DATABASE_URL_FILE)"
    root = getattr(args, "root", None)
    if root is None:
        return "", "la base intégrée"
    root = Path(root).resolve()
    try:
        from fides import config

        url = config.load(root)["database.url"]
    except Exception:  # noqa: BLE001  unreadable configuration: reported by its own error elsewhere
        url = ""
    if url:
        return url, f"[database] url de {root / CONFIG_NAME}"
    return "", f"la base intégrée {root / 'pgdata'}"


def _from_url(exc: BaseException) -> bool:
    """An error of the kind a malformed database URL raises (SQLAlchemy's parser, a non-numeric
    port, an unknown driver), not a failure to reach a well-formed address."""
    import psycopg

    return isinstance(exc, (ValueError, ImportError, psycopg.ProgrammingError)) or \
        type(exc).__module__.startswith("sqlalchemy") and type(exc).__name__ in ("ArgumentError", "NoSuchModuleError")


def _invalid_url(url: str) -> str:
    """Why `url` is not a usable PostgreSQL URL ("" when it is)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from fides.store import db

    if not url.startswith(("postgresql://", "postgres://")):
        return "elle doit commencer par postgresql://"
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "illisible"
    if any(port and not port.isdigit() for port in str(info.get("port") or "").split(",")):
        return "port non numérique"
    try:
        from sqlalchemy.engine import make_url

        make_url(db.sqlalchemy_url(url))
    except Exception:  # noqa: BLE001  whatever SQLAlchemy's parser objects to
        return "illisible"
    return ""


def _connection_error(exc: BaseException):
    """The psycopg error that says the connection could not be made or was lost, if `exc` is
    one or wraps one (SQLAlchemy, used by the migrations, keeps it as `orig`)."""
    import psycopg

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, psycopg.OperationalError):
            state = exc.sqlstate
            return exc if state is None or state.startswith(_CONNECTION_SQLSTATES) else None
        exc = getattr(exc, "orig", None) or exc.__cause__
    return None


def _server(url: str, source: str) -> str:
    """Which server, database and user the URL names, without its password."""
    if not url:
        return source
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001  checked by _invalid_url when it matters
        return "adresse illisible"
    host = str(info.get("host") or info.get("hostaddr") or os.environ.get("PGHOST", ""))
    port = str(info.get("port") or os.environ.get("PGPORT", "") or "5432")
    if not host or host.startswith("/"):
        where = f"socket {host or 'local par défaut'}, port {port}"
    else:
        where = f"{host}:{port}" if "," not in host else f"{host} (ports {port})"
    parts = [f"serveur {where}"]
    if info.get("dbname"):
        parts.append(f"base {info['dbname']}")
    if info.get("user"):
        parts.append(f"utilisateur {info['user']}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
