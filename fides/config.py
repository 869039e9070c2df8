"""The installation's configuration: `<root>/fides.toml`, validated at start.

The keys of DESIGN.md §8 are stable; every key is declared once in `SETTINGS` with its type,
default and the sentence `fides init` writes above it. Unknown keys, wrong types and impossible
values are errors that name the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import datetime as dt
import re
import stat
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

CONFIG_NAME = "fides.toml"


class ConfigError(ValueError):
    """A configuration problem, with the key it is about."""


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    default: Any
    kind: str  # str, int, bool, date, decimal, list[int], dict[str,decimal], float
    doc: str
    check: Callable[[Any], str | None] | None = None

    @property
    def path(self) -> str:
        return f"{self.section}.{self.key}"


def _finess(value: str) -> str | None:
    return None if re.fullmatch(r"[0-9][0-9AB][0-9]{7}", value) else "9 caractères FINESS attendus"


def _positive(value) -> str | None:
    return None if value > 0 else "doit être > 0"


def _non_negative(value) -> str | None:
    return None if value >= 0 else "doit être ≥ 0"


def _budget(value: str) -> str | None:
    return None if re.fullmatch(r"[0-9A-Z]{2}", value) else "2 caractères (chiffres ou majuscules)"


def _titre(value: int) -> str | None:
    return None if 1 <= value <= 999_999_999 else "entre 1 et 999999999"


def _mode(value: int) -> str | None:
    return None if 0 <= value <= 0o777 else "droits octaux (ex. 0o600)"


def _hhmm(value: str) -> bool:
    return bool(re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value))


def _times(value: list) -> str | None:
    return None if all(_hhmm(v) for v in value) else "heures locales HH:MM attendues (ex. [\"07:00\", \"13:00\"])"


def _time_or_empty(value: str) -> str | None:
    return None if value == "" or _hhmm(value) else "heure locale HH:MM attendue, ou \"\" pour désactiver"


def _audit_days(value: int) -> str | None:
    return None if value == 0 or value >= 183 else "0 (jamais) ou au moins 183 jours (6 mois)"


def _absolute_or_empty(value: str) -> str | None:
    return None if value == "" or value.startswith("/") else "chemin absolu attendu, ou \"\" pour désactiver"


SETTINGS: tuple[Setting, ...] = (
    Setting("establishment", "finess", "990000010", "str",
            "FINESS e-PMSI (juridique pour un établissement public)", _finess),
    Setting("establishment", "date_bascule", dt.date(2025, 1, 1), "date",
            "les séjours sortis avant cette date ne sont pas facturés par fides"),
    Setting("establishment", "budget_code", "H0", "str",
            "avec l'exercice, forme le complément de titre sur 6 caractères (ex. 2025H0)", _budget),
    Setting("numbering", "titre_first", 1, "int", "premier n° de titre de chaque exercice", _titre),
    Setting("numbering", "titre_last", 999_999_999, "int", "dernier n° de titre de la tranche", _titre),
    Setting("numbering", "closed_exercices", [], "list[int]",
            "exercices clos : leurs dossiers sont titrés sur l'exercice courant (ex. [2024])"),
    Setting("database", "url", "", "str",
            "URL PostgreSQL ; vide = serveur embarqué sous <root>/pgdata (FIDES_DATABASE_URL prime)"),
    Setting("inbox", "stable_seconds", 1.0, "float",
            "un fichier n'est lu que si sa taille et sa date n'ont pas changé depuis ce délai", _non_negative),
    Setting("inbox", "max_file_bytes", 4 * 1024**3, "int", "taille maximale d'un fichier déposé", _positive),
    Setting("inbox", "rescan_seconds", 5.0, "float",
            "intervalle du balayage complet de in/ par `fides run`", _positive),
    Setting("arl", "max_errors", 1000, "int",
            "nombre maximal de lignes ERR écrites par .arl (toutes restent en base)", _positive),
    Setting("arl", "encoding", "utf-8", "str", "encodage des .arl et comptes rendus (utf-8 ou cp1252)"),
    Setting("validation", "quiet_minutes", 0, "int",
            "délai sans nouveau flux avant de valider un dossier complet", _non_negative),
    Setting("validation", "workers", 2, "int",
            "processus qui valident ensemble un gros arriéré (≥ 5 000 dossiers) ; 1 = le seul processus courant",
            _positive),
    Setting("billing", "lot_size", 500, "int", "nombre maximal de factures par lot B2", _positive),
    Setting("billing", "workers", 2, "int",
            "processus qui valorisent et écrivent les factures d'une grosse facturation (≥ 5 000 dossiers) ; "
            "1 = le seul processus courant", _positive),
    Setting("billing", "tolerance", Decimal("0.05"), "decimal",
            "écart toléré (€) entre montants calculés et montants VIDHOSP", _non_negative),
    Setting("billing", "coefficient_mco", Decimal("1"), "decimal", "coefficient MCO de l'établissement", _positive),
    Setting("billing", "coefficient_geographique", Decimal("1"), "decimal",
            "coefficient géographique (1.07 en Île-de-France)", _positive),
    Setting("billing", "tjp", {}, "dict[str,decimal]",
            "tarif journalier de prestation (€/jour) par discipline de prestation, ex. {\"101\" = 1200.50}"),
    Setting("billing", "tjc", {}, "dict[str,decimal]",
            "tarif journalier complémentaire (€/jour) par discipline ; à défaut le TJP est utilisé"),
    Setting("security", "file_mode", 0o600, "int", "droits des fichiers créés (0o640 pour le groupe du GAP)", _mode),
    Setting("security", "dir_mode", 0o700, "int", "droits des répertoires créés (0o750 pour le groupe)", _mode),
    # --- service: scheduler, retention, archives (fides/engine/scheduler.py, retention.py, archive.py)
    Setting("security", "group", "", "str",
            "groupe donné aux fichiers et répertoires créés (celui du GAP) ; vide = groupe du processus"),
    Setting("security", "archive_key_file", "", "str",
            "fichier de clés hors de la racine, non lisible par tous : archives chiffrées (AES-GCM) ; vide = en clair",
            _absolute_or_empty),
    Setting("schedule", "billing", [], "list[str]",
            "heures locales de génération automatique des B2 par `fides run` (ex. [\"07:00\", \"13:00\"]) ; vide = aucune",
            _times),
    Setting("schedule", "extract_epmsi", "02:00", "str",
            "heure locale, le 1er du mois, de l'EXTRACTEPMSI du mois précédent ; vide = désactivé", _time_or_empty),
    Setting("schedule", "validation_minutes", 60, "int",
            "intervalle (minutes) du balayage de validation planifié ; 0 = désactivé", _non_negative),
    Setting("schedule", "retention", "03:30", "str",
            "heure locale de la purge quotidienne (rétention) ; vide = désactivée", _time_or_empty),
    Setting("retention", "archive_days", 365, "int",
            "âge (jours) au-delà duquel un mois d'archive/AAAA/MM est supprimé ; 0 = jamais", _non_negative),
    Setting("retention", "rejected_days", 365, "int",
            "âge (jours) au-delà duquel un fichier de rejected/ est supprimé ; 0 = jamais", _non_negative),
    Setting("retention", "arl_days", 365, "int",
            "âge (jours) au-delà duquel un .arl de out/arl est supprimé ; 0 = jamais", _non_negative),
    Setting("retention", "reports_days", 365, "int",
            "âge (jours) au-delà duquel un compte rendu ou export de out/reports est supprimé ; 0 = jamais",
            _non_negative),
    Setting("retention", "database_days", 365, "int",
            "âge (jours) au-delà duquel les détails des fichiers dont aucune ligne n'est en vigueur sont purgés ;"
            " 0 = jamais", _non_negative),
    Setting("retention", "audit_days", 730, "int",
            "âge (jours) des lignes du journal d'audit purgées (ancre vérifiable gardée) ; 0 = jamais, sinon ≥ 183",
            _audit_days),
    # --- web dashboard and JSON API (fides/web, docs/web.md)
    Setting("web", "enabled", False, "bool", "`fides run` sert aussi le tableau de bord et l'API"),
    Setting("web", "host", "127.0.0.1", "str",
            "adresse d'écoute du tableau de bord (`fides web`) ; 127.0.0.1 = cette machine seulement"),
    Setting("web", "port", 8470, "int", "port du tableau de bord",
            lambda v: None if 1 <= v <= 65535 else "entre 1 et 65535"),
    Setting("web", "token", "", "str",
            "jeton d'accès au tableau de bord et à l'API ($FIDES_WEB_TOKEN prime) ; vide = un jeton aléatoire par lancement",
            lambda v: None if v == "" or len(v) >= 16 else "16 caractères au moins, ou \"\""),
)

_BY_PATH = {s.path: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any) -> Any:
    kind = setting.kind
    try:
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "date":
            if isinstance(value, dt.date):
                return value
            if isinstance(value, str):
                return dt.date.fromisoformat(value)
        if kind == "decimal" and isinstance(value, (int, float, str)) and not isinstance(value, bool):
            return Decimal(str(value))
        if kind == "list[int]" and isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            return list(value)
        if kind == "list[str]" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        if kind == "dict[str,decimal]" and isinstance(value, dict):
            return {str(k): Decimal(str(v)) for k, v in value.items()}
    except (ValueError, InvalidOperation) as exc:
        raise ConfigError(f"{setting.path}: valeur invalide {value!r} ({exc})") from None
    raise ConfigError(f"{setting.path}: type attendu {kind}, reçu {value!r}")


@dataclass(frozen=True)
class Config:
    root: Path
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, path: str) -> Any:
        return self.values[path]

    @property
    def finess(self) -> str:
        return self.values["establishment.finess"]


def from_mapping(root: Path, data: dict[str, Any]) -> Config:
    values = {s.path: s.default for s in SETTINGS}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{section}: section attendue, clé inconnue")
        for key, value in body.items():
            setting = _BY_PATH.get(f"{section}.{key}")
            if setting is None:
                raise ConfigError(f"{section}.{key}: clé inconnue")
            value = _coerce(setting, value)
            if setting.check and (problem := setting.check(value)):
                raise ConfigError(f"{setting.path}: {problem}")
            values[setting.path] = value
    if values["numbering.titre_first"] > values["numbering.titre_last"]:
        raise ConfigError("numbering.titre_first: doit être ≤ numbering.titre_last")
    if values["arl.encoding"] not in ("utf-8", "cp1252"):
        raise ConfigError("arl.encoding: utf-8 ou cp1252")
    return Config(Path(root), values)


def load(root: Path) -> Config:
    """Read `<root>/fides.toml` (absent = all defaults) and refuse anything doubtful."""
    path = Path(root) / CONFIG_NAME
    if not path.exists():
        return from_mapping(root, {})
    mode = path.stat().st_mode
    if mode & stat.S_IWOTH:
        raise ConfigError(f"{path}: modifiable par tous (chmod o-w), refusé")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML invalide: {exc}") from None
    config = from_mapping(root, data)
    _check_security(config)
    return config


def _check_security(config: Config) -> None:
    """At start: the archive key file exists, is outside the root and not world-readable; the
    group exists and this process may give files to it."""
    import grp
    import os

    if key_file := config["security.archive_key_file"]:
        from fides.engine.archive import key_file_problem

        if problem := key_file_problem(Path(key_file), config.root):
            raise ConfigError(f"security.archive_key_file: {problem}")
    if group := config["security.group"]:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ConfigError(f"security.group: groupe {group!r} inconnu") from None
        if os.geteuid() != 0 and gid != os.getegid() and gid not in os.getgroups():
            raise ConfigError(f"security.group: ce processus n'est pas membre du groupe {group!r}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dt.date):
        return f'"{value.isoformat()}"'
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {v}' for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value) if not isinstance(value, int) else str(value)


def render_template(overrides: dict[str, Any] | None = None) -> str:
    """The commented `fides.toml` that `fides init` writes."""
    overrides = overrides or {}
    lines = ["# fides configuration. Every key is documented in docs/configuration.md.", ""]
    section = None
    for s in SETTINGS:
        if s.section != section:
            section = s.section
            lines += ["", f"[{section}]"] if len(lines) > 2 else [f"[{section}]"]
        value = overrides.get(s.path, s.default)
        if s.key.endswith("_mode"):
            rendered = oct(value)
        else:
            rendered = _toml_value(value)
        lines.append(f"# {s.doc}")
        lines.append(f"{s.key} = {rendered}")
    return "\n".join(lines) + "\n"
