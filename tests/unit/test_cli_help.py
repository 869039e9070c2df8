"""The command line documents itself: `fides --help`, `fides <command> --help` for every
registered command, the README's command table, the commented `fides.toml` that `fides init`
writes, and usage errors that say what is wrong with exit code 2 (before any database is opened).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fides import config
from fides.cli import COMMANDS, EXIT_USAGE, build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_fides_help_lists_every_command():
    # the installed entry point, as a user types it
    script = Path(sys.executable).with_name("fides")
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "fides.cli"]
    run = subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: fides")
    listed = set(re.findall(r"^    (\S+)", run.stdout, re.M))
    assert set(COMMANDS) <= listed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_help_text(capsys, name):
    text = _help(capsys, name)
    assert text.startswith(f"usage: fides {name}")
    description = COMMANDS[name][1]
    assert len(description.split()) >= 4, f"fides {name}: description too short: {description!r}"
    # argparse wraps the description: compare word by word
    assert " ".join(description.split()) in " ".join(text.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_argument_of_every_command_is_explained(name):
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    unexplained = [a.dest for a in commands.choices[name]._actions if not (a.help or "").strip()]
    assert unexplained == []


def test_every_command_is_in_the_readme_table():
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `fides ")]
    named = {line.split("`")[1].split()[1] for line in rows}
    assert sorted(set(COMMANDS) - named) == []


def test_init_writes_a_commented_configuration_and_the_tree(tmp_path, capsys):
    root = tmp_path / "site"
    assert main(["init", "--root", str(root), "--finess", "990000028"]) == 0
    text = (root / config.CONFIG_NAME).read_text(encoding="utf-8")
    lines = text.splitlines()
    for s in config.SETTINGS:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{s.key} = "))
        comment = lines[at - 1]
        assert comment.startswith("# ") and len(comment) > 10, f"{s.path}: no comment above it"
    assert config.from_mapping(root, tomllib.loads(text)).finess == "990000028"
    for folder in ("in", "out/arl", "out/b2", "out/reports", "archive", "rejected"):
        assert (root / folder).is_dir(), folder
    assert str(root / "in") in capsys.readouterr().out
    # a second init keeps the file an operator may have edited
    (root / config.CONFIG_NAME).write_text(text.replace('"990000028"', '"990000036"'), encoding="utf-8")
    assert main(["init", "--root", str(root)]) == 0
    assert "existe déjà" in capsys.readouterr().out
    assert '"990000036"' in (root / config.CONFIG_NAME).read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["state"], "donner des N° administratifs ou --all"),
    (["extract-epmsi", "202513"], "mois invalide '202513'"),
    (["archive", "decrypt"], "aucun fichier de clés"),
])
def test_usage_errors_say_what_is_wrong_and_exit_2(tmp_path, capsys, argv, message):
    assert main([*argv, "--root", str(tmp_path)]) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_an_unknown_command_or_option_exits_2(capsys):
    for argv in (["facturer"], ["process", "--racine", "/tmp"], []):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == EXIT_USAGE
        assert "usage: fides" in capsys.readouterr().err


def test_an_invalid_configuration_is_named_and_exits_2(tmp_path, capsys):
    (tmp_path / config.CONFIG_NAME).write_text("[establishment]\nfiness = 12\n", encoding="utf-8")
    assert main(["doctor", "--root", str(tmp_path)]) != 0
    assert main(["db", "upgrade", "--root", str(tmp_path)]) == EXIT_USAGE
    assert "establishment.finess" in capsys.readouterr().err
