"""Configuration: defaults, strict keys, clear errors, the template round-trips."""

import datetime as dt
import tomllib
from decimal import Decimal

import pytest

from fides import config


def test_defaults(tmp_path):
    cfg = config.load(tmp_path)
    assert cfg.finess == "990000010"
    assert cfg["establishment.date_bascule"] == dt.date(2025, 1, 1)


def test_unknown_key_is_an_error(tmp_path):
    with pytest.raises(config.ConfigError, match="establishment.finnes: clé inconnue"):
        config.from_mapping(tmp_path, {"establishment": {"finnes": "990000010"}})


@pytest.mark.parametrize("data,message", [
    ({"establishment": {"finess": "12"}}, "establishment.finess: 9 caractères"),
    ({"numbering": {"titre_first": 10, "titre_last": 5}}, "titre_first: doit être ≤"),
    ({"billing": {"lot_size": 0}}, "billing.lot_size: doit être > 0"),
    ({"establishment": {"date_bascule": "2025-13-01"}}, "establishment.date_bascule: valeur invalide"),
    ({"numbering": {"closed_exercices": ["2024"]}}, "numbering.closed_exercices: type attendu"),
])
def test_bad_values_name_their_key(tmp_path, data, message):
    with pytest.raises(config.ConfigError, match=message):
        config.from_mapping(tmp_path, data)


def test_template_is_valid_and_complete(tmp_path):
    text = config.render_template({"establishment.finess": "990000028"})
    data = tomllib.loads(text)
    cfg = config.from_mapping(tmp_path, data)
    assert cfg.finess == "990000028"
    assert cfg["billing.tolerance"] == Decimal("0.05")
    assert {f"{s}.{k}" for s, body in data.items() for k in body} == {s.path for s in config.SETTINGS}


def test_world_writable_config_is_refused(tmp_path):
    path = tmp_path / "fides.toml"
    path.write_text("")
    path.chmod(0o666)
    with pytest.raises(config.ConfigError, match="modifiable par tous"):
        config.load(tmp_path)
