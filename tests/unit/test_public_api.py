"""The public API is pinned: adding or removing a name is a deliberate, reviewed change."""

import fides


def test_all_is_pinned():
    assert fides.__all__ == [
        "CODES", "Config", "ConfigError", "EN_COURS", "ErrorCode", "FACTURE", "Finding", "PAYE",
        "REJETE", "STATE_NAMES", "VALIDE", "__version__", "detect_layout", "layout_family",
        "load_config", "load_layout",
    ]


def test_every_public_name_resolves():
    for name in fides.__all__:
        assert getattr(fides, name) is not None, name


def test_public_names_work_together():
    layout = fides.load_layout("vidhosp_V015")
    assert layout.version == "V015"
    assert fides.STATE_NAMES[fides.VALIDE] == "VALIDE"
    assert fides.CODES["FMT007"].severity == "E"
