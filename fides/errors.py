"""The one table of stable error codes.

Every code fides writes into an `.arl`, a report or the database is declared here, once, with
its severity (E = blocking, A = warning) and the sentence a billing clerk reads. Codes never change
meaning; a retired code is kept and marked as such. `docs/errors.md` is checked against this table
by a test, and tests/unit/test_codes_used.py checks that fides writes every code declared here.

Prefixes: FIC file as a whole · FMT format of a line or field · DOS dossier · LOT billing run ·
VAL validation rule · FAC valorisation · RET insurance returns · CTL control flows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    code: str
    severity: str  # "E" blocking, "A" warning
    label: str


# Declared once but never written by any version, then withdrawn; never to be given another meaning.
# FIC009 (file changed while read): such a file is read again later and gets its one `.arl` then;
# nothing is written for the attempt (the log says it). LOT006 (referential error at valorisation):
# the report names the precise FAC001-FAC008 or LOT003 code, and the dossier goes back to EN_COURS.
WITHDRAWN = frozenset({"FIC009", "LOT006"})


def _table(*rows: tuple[str, str, str]) -> dict[str, ErrorCode]:
    table = {}
    for code, severity, label in rows:
        assert code not in table, code
        assert code not in WITHDRAWN, code
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
    # --- billing run: titres, lots, B2 files (fides/billing/run.py) -------------------------
    ("LOT001", "E", "Dossier non validé : pas de facture B2"),
    ("LOT002", "E", "Dossier en cours de facturation par un autre processus : réessayer"),
    ("LOT003", "E", "Aucun FINESS géographique pour l'UM du séjour (fichier IUM) : dossier remis EN_COURS"),
    ("LOT004", "E", "Tranche de numérotation des titres épuisée pour l'exercice"),
    ("LOT005", "E", "Dossier non facturable en B2 (EXTRACTEPMSI seulement)"),
    # --- validation rules (VAL) and billing (FAC): fides/validation, fides/billing ---------
    ("VAL001", "E", "Dossier incomplet : VIDHOSP absent"),
    ("VAL002", "E", "Dossier incomplet : RSS absent"),
    ("VAL010", "A", "VIDHOSP restreint : dossier non facturable en B2 (EXTRACTEPMSI seulement)"),
    ("VAL011", "A", "Séjour non facturable à l'assurance maladie : pas de B2 (EXTRACTEPMSI seulement)"),
    ("VAL012", "A", "Soins urgents : valorisés par e-PMSI, pas de B2"),
    ("VAL013", "A", "Patient anonyme (NIR en X) : pas de B2 (EXTRACTEPMSI seulement)"),
    ("VAL014", "A", "Régime autre que 01 ou 02 : pas de B2 (EXTRACTEPMSI seulement)"),
    ("VAL015", "A", "Forfait dialyse : valorisé par e-PMSI, pas de B2"),
    ("VAL016", "A", "Forfait innovation : valorisé par e-PMSI, pas de B2"),
    ("VAL017", "A", "GHS esthétique (GHM 09Z02A) : pas de B2"),
    ("VAL018", "A", "GHS 9999 sans tarif : pas de B2"),
    ("VAL019", "A", "Sortie antérieure à la date de bascule : séjour non facturé par fides"),
    ("VAL020", "A", "Séjour non facturable sans motif de non-facturation"),
    ("VAL021", "E", "Dates d'entrée ou de sortie du VIDHOSP absentes ou incohérentes"),
    ("VAL022", "E", "Dates d'entrée ou de sortie différentes entre VIDHOSP et RSS"),
    ("VAL023", "E", "Sexe différent entre VIDHOSP et RSS"),
    ("VAL024", "E", "Date de naissance différente entre VIDHOSP et RSS"),
    ("VAL025", "E", "Dates des RUM absentes, inversées ou non chaînées"),
    ("VAL026", "E", "Groupage en erreur (GHM absent, CMD 90 ou code retour non nul)"),
    ("VAL027", "E", "GHM différents entre les RUM du séjour"),
    ("VAL030", "E", "Séjour facturable différent de 1 (en attente de décision de la caisse ou valeur invalide)"),
    ("VAL031", "E", "Motif de non-facturation renseigné pour un séjour facturable"),
    ("VAL032", "E", "N° d'immatriculation de l'assuré absent ou mal formé"),
    ("VAL033", "E", "Clé du N° d'immatriculation incorrecte"),
    ("VAL034", "E", "Sexe du bénéficiaire absent ou invalide"),
    ("VAL035", "E", "Date de naissance du bénéficiaire absente ou invalide"),
    ("VAL036", "E", "Code grand régime absent"),
    ("VAL037", "E", "Caisse ou centre gestionnaire absent"),
    ("VAL038", "A", "Caisse gestionnaire absente du référentiel des caisses"),
    ("VAL039", "E", "Exonération du TM, code de prise en charge du FJ ou nature d'assurance non renseignés"),
    ("VAL040", "E", "Accident du travail sans numéro d'AT ni date d'accident"),
    ("VAL041", "E", "UM inconnue : pas de FINESS géographique aux dates du RUM (fichier IUM)"),
    ("VAL042", "E", "DMT absentes alors que le patient n'est pas exonéré du ticket modérateur"),
    ("VAL043", "E", "DMT : dates absentes ou date de fin avant la date de début"),
    ("VAL044", "E", "DMT : période en dehors des dates du séjour"),
    ("VAL045", "E", "DMT : périodes qui se chevauchent"),
    ("VAL046", "A", "Taux de remboursement différent de celui déduit de l'exonération et de la nature d'assurance"),
    ("VAL047", "E", "Établissement de transfert ou de retour : N° FINESS invalide"),
    ("FAC001", "E", "Référentiel : GHM sans GHS pour la campagne tarifaire de la sortie"),
    ("FAC002", "E", "Référentiel : tarif du GHS absent pour la date de sortie"),
    ("FAC003", "E", "Référentiel : UM sans FINESS géographique à la date"),
    ("FAC004", "E", "Référentiel : montant du forfait journalier absent pour la date"),
    ("FAC005", "E", "Référentiel : tarif de supplément absent (code ou campagne inconnus)"),
    ("FAC006", "E", "Référentiel : coefficient prudentiel absent pour la campagne"),
    ("FAC007", "E", "Paramétrage : tarif journalier (TJC ou TJP) absent pour la discipline"),
    ("FAC008", "E", "Référentiel : montant de la participation forfaitaire absent pour la date"),
    ("FAC009", "E", "Données insuffisantes pour valoriser le séjour (dates, taux de remboursement)"),
    ("FAC010", "E", "Montant AMO du VIDHOSP différent du montant calculé"),
    ("FAC011", "E", "Base de remboursement du VIDHOSP différente du montant calculé"),
    ("FAC012", "A", "Montant du forfait journalier du VIDHOSP différent du montant calculé"),
    ("FAC013", "A", "Montant du ticket modérateur du VIDHOSP différent du montant calculé"),
    ("FAC014", "A", "Montants du VIDHOSP non renseignés : rapprochement impossible"),
    ("FAC015", "A", "Prix unitaire de la DMT différent du tarif journalier paramétré"),
    ("FAC016", "A", "DMT jusqu'au jour de sortie : le dernier jour du GHS n'est pas facturé en TJC"),
    ("FAC017", "A", "Participation forfaitaire demandée mais non applicable (maternité, AT, nouveau-né)"),
    ("FAC018", "A", "Code de prise en charge du FJ incohérent : FJ à la charge du régime (maternité, AT, nouveau-né)"),
    ("FAC019", "E", "Ligne FICHCOMP médicament ou DMI sans nombre ou sans montant"),
    ("FAC020", "A", "Ligne FICHCOMP datée hors du séjour"),
    # --- insurance returns (RET) and control flows (CTL): fides/returns ------------------
    ("RET001", "E", "Fichier NOEMIE sans en-tête (entité 000) lisible"),
    ("RET002", "E", "Référence NOEMIE non traitée par fides (seules 930, 908 et 578 le sont)"),
    ("RET003", "E", "Entité NOEMIE mal formée : elle et la facture ou le lot qu'elle décrit ne sont pas appliqués"),
    ("RET004", "E", "Titre de recette inconnu : aucune facture émise sous ce titre et ce complément"),
    ("RET005", "E", "Titre de recette annulé (MANAGEREJECT A) : retour non appliqué"),
    ("RET006", "E", "Dossier dans un état qui n'admet pas ce retour : retour non appliqué"),
    ("RET007", "A", "Retour déjà appliqué : rien n'est modifié"),
    ("RET008", "A", "Montant payé différent du montant facturé à l'assurance maladie : dossier payé, écart à vérifier"),
    ("RET009", "A", "Paiement sans montant lisible : dossier payé, montant à vérifier"),
    ("RET010", "E", "Lot inconnu : aucun lot B2 émis avec ce numéro à cette date"),
    ("RET011", "E", "ARL contraire à celui déjà enregistré pour ce lot : non appliqué"),
    ("RET012", "A", "Retour d'un envoi antérieur de la facture (autre lot) : rien n'est modifié"),
    ("RET013", "E", "Entité NOEMIE obligatoire absente : retour non appliqué"),
    ("RET014", "A", "Rejet sans motif (aucune entité 290)"),
    ("CTL001", "E", "Dossier inconnu : ni le N° administratif ni le titre ne désignent un dossier"),
    ("CTL002", "E", "Le N° administratif et le titre désignent deux dossiers différents"),
    ("CTL003", "E", "Titre de recette inconnu ou annulé"),
    ("CTL004", "E", "Dossier dans un état qui n'admet pas cette demande : ligne refusée"),
    ("CTL005", "A", "Demande déjà satisfaite : rien n'est modifié"),
    ("CTL006", "E", "Lot inconnu : aucun lot B2 émis avec ce FINESS géographique, ce numéro et cette date"),
    ("CTL007", "E", "Organisme destinataire différent de celui du lot : ligne refusée"),
    ("CTL008", "E", "Lot déjà acquitté positivement (ARL 930 positif) : ARL négatif refusé"),
    ("CTL009", "E", "Ligne sans N° administratif ni titre de recette"),
    ("CTL010", "E", "Mois demandé invalide (AAAAMM attendu)"),
    ("CTL011", "A", "Aucun dossier à extraire pour ce mois : archive vide"),
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
