"""fides: hospital-side FIDES-séjours integration middleware.

The public API is deliberately small: what a script or another tool of the hospital needs to
read fides' configuration, its layouts and codes. Everything else is internal and may change.
"""

from fides.config import Config, ConfigError
from fides.config import load as load_config
from fides.dossiers import EN_COURS, FACTURE, PAYE, REJETE, STATE_NAMES, VALIDE
from fides.errors import CODES, ErrorCode, Finding
from fides.layouts import detect as detect_layout
from fides.layouts import family as layout_family
from fides.layouts import load as load_layout

__version__ = "0.1.0"

__all__ = [
    "CODES",
    "Config",
    "ConfigError",
    "EN_COURS",
    "ErrorCode",
    "FACTURE",
    "Finding",
    "PAYE",
    "REJETE",
    "STATE_NAMES",
    "VALIDE",
    "__version__",
    "detect_layout",
    "layout_family",
    "load_config",
    "load_layout",
]
