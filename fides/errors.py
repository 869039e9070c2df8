"""The one table of stable error codes.

Every code fides writes into an `.arl`, a report or the database is declared here, once, with
its severity (E = blocking, A = warning) and the sentence a billing clerk reads. Codes never change
meaning; a retired code is kept and marked as such. `docs/errors.md` is checked against this table
by a test.

Prefixes: FIC file as a whole · FMT format of a line or field · DOS dossier · VAL validation rule ·
FAC billing · RET insurance returns · CTL control flows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    severity: str  # "E" blocking, "A" warning
    label: str


def _table(*rows: tuple[str, str, str]) -> dict[str, ErrorCode]:
    table = {}
    for code, severity, label in rows:
        assert code not in table, code
        assert severity in ("E", "A"), code
        table[code] = ErrorCode(code, severity, label)
    return table


CODES: dict[str, ErrorCode] = _table(
    # --- the file as a whole -------------------------------------------------------------
    ("FIC001", "E", "Fichier vide"),
    ("FIC002", "E", "Flux non reconnu : préfixe de nom inconnu et contenu non NOEMIE"),
    ("FIC003", "A", "Contenu déjà intégré sous un autre nom : fichier acquitté sans nouvelle intégration"),
    ("FIC004", "E", "Lien symbolique, répertoire ou fichier spécial refusé"),
    ("FIC005", "E", "Nom de fichier dangereux (chemin, caractère de contrôle)"),
    ("FIC006", "E", "Contenu binaire (octet nul ou caractère de contrôle)"),
    ("FIC007", "E", "Le FINESS du nom de fichier n'est pas celui de l'établissement"),
    ("FIC008", "E", "Fichier trop volumineux"),
    ("FIC009", "E", "Fichier modifié pendant sa lecture : il sera relu"),
    ("FIC010", "A", "Nom de fichier non conforme au modèle <FLUX>_<FINESS>_<AAAAMMJJHHMMSS>_<NNNN>"),
    ("FIC011", "E", "Lecture du fichier impossible"),
    ("FIC012", "A", "Nombre maximal de messages atteint : les autres erreurs sont en base"),
    # --- format of a line or field --------------------------------------------------------
    ("FMT001", "E", "Version de format inconnue"),
    ("FMT002", "E", "Longueur de ligne incorrecte pour la version"),
    ("FMT003", "E", "Champ numérique contenant autre chose que des chiffres"),
    ("FMT004", "E", "Date invalide (JJMMAAAA attendu, date réelle)"),
    ("FMT005", "E", "Champ obligatoire non renseigné"),
    ("FMT006", "E", "Valeur absente de la nomenclature"),
    ("FMT007", "E", "Clé du NIR incorrecte"),
    ("FMT008", "E", "N° FINESS invalide (format ou clé)"),
    ("FMT009", "E", "Compteur de zones incohérent avec la longueur de la ligne"),
    ("FMT010", "E", "Montant invalide"),
    ("FMT011", "E", "Type de prestation FICHCOMP inconnu"),
    ("FMT012", "E", "N° administratif de séjour absent"),
    ("FMT013", "E", "FINESS de la ligne différent de celui de l'établissement"),
    ("FMT014", "E", "Fin de ligne ou caractère de contrôle inattendu dans la ligne"),
    ("FMT101", "A", "Identité anonyme (X) : dossier intégré mais non facturable en B2"),
    ("FMT102", "A", "Ligne complétée par des espaces (espaces de fin supprimés par un éditeur)"),
    ("FMT103", "A", "VIDHOSP restreint : dossier intégré mais non facturable en B2"),
    # --- dossier --------------------------------------------------------------------------
    ("DOS001", "E", "Dossier verrouillé (validé, facturé, rejeté ou payé) : ligne refusée"),
    ("DOS002", "E", "Dossier exclu définitivement de la facturation B2 (paiement annulé)"),
    ("DOS003", "E", "Dossier inconnu"),
    # --- validation rules (VAL) and billing (FAC): fides/validation, fides/billing ---------
    # --- insurance returns (RET) and control flows (CTL): fides/returns ------------------
)


def code(code: str) -> ErrorCode:
    """The declared code; an undeclared one is a programming error, never a silent string."""
    return CODES[code]


@dataclass(frozen=True)
class Finding:
    """One coded error or warning about an input: what an `ERR` line of an `.arl` says."""

    code: str
    message: str = ""
    line_no: int = 0  # 1-based; 0 = the file as a whole
    position: int = 0  # 1-based column in the line; 0 = the line as a whole

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise KeyError(f"undeclared error code {self.code}")

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    @property
    def blocking(self) -> bool:
        return self.severity == "E"

    def text(self) -> str:
        label = CODES[self.code].label
        return f"{label} : {self.message}" if self.message else label
