"""The database cannot be used: every `fides` command says so in one French line (what failed,
which server, what to check), without the password and without a traceback, and exits with its
documented code (docs/operations.md, "Exit codes"). Real `fides` processes against real
addresses where no PostgreSQL listens: a socket directory without a server, a closed local port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from fides.cli import EXIT_DATABASE, EXIT_FAILURE, EXIT_USAGE, _database_problem, build_parser

FINESS = "990000010"
PASSWORD = "s3cret-Pw"  # must never be printed
FIDES = Path(sys.executable).with_name("fides")


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    (root / "fides.toml").write_text(f'[establishment]\nfiness = "{FINESS}"\n', encoding="utf-8")
    return root


@pytest.fixture
def no_server_socket(tmp_path) -> Path:
    directory = tmp_path / "nosock"  # short: a Unix socket path is limited to 107 bytes
    directory.mkdir()
    return directory


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: nothing listens there


def fides(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FIDES_DATABASE_URL", "PG"))}  # only what the test sets
    return subprocess.run([str(FIDES), *args], capture_output=True, text=True, env={**clean, **env}, timeout=120)


def assert_one_clear_line(proc: subprocess.CompletedProcess, *expected: str) -> str:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and "sqlalchemy" not in out and "psycopg" not in out, out
    assert PASSWORD not in out
    lines = [line for line in proc.stderr.splitlines() if line.startswith("fides:")]
    assert len(lines) == 1, proc.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


COMMANDS = [
    ["process"], ["run", "--poll"], ["status"], ["state", "--all"], ["validate"], ["bill"],
    ["extract-epmsi", "202501"], ["referentials", "load"], ["audit", "verify"], ["purge"],
    ["db", "upgrade"], ["web"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_says_the_socket_has_no_server(root, no_server_socket, command):
    url = f"postgresql://fides:{PASSWORD}@/fides?host={no_server_socket}"
    proc = fides(*command, "--root", str(root), env={"FIDES_DATABASE_URL": url})
    assert proc.returncode == EXIT_DATABASE, proc.stderr
    assert_one_clear_line(proc, "base de données inaccessible", "aucun serveur sur ce socket",
                          f"socket {no_server_socket}", "base fides", "utilisateur fides",
                          "Vérifiez que PostgreSQL est démarré", "FIDES_DATABASE_URL")


def test_closed_port_names_the_server_and_the_port(root, closed_port):
    url = f"postgresql://fides:{PASSWORD}@127.0.0.1:{closed_port}/fides"
    proc = fides("process", "--root", str(root), env={"FIDES_DATABASE_URL": url})
    assert proc.returncode == EXIT_DATABASE
    assert_one_clear_line(proc, "connexion refusée", f"serveur 127.0.0.1:{closed_port}", "FIDES_DATABASE_URL")


def test_commands_without_a_root_too(closed_port):
    url = f"postgresql://fides:{PASSWORD}@127.0.0.1:{closed_port}/fides"
    proc = fides("bench", "--sizes", "10", env={"FIDES_DATABASE_URL": url})
    assert proc.returncode == EXIT_DATABASE
    assert_one_clear_line(proc, "connexion refusée", f"127.0.0.1:{closed_port}")


def test_health_check_keeps_its_zero_or_one(root, closed_port):
    url = f"postgresql://fides:{PASSWORD}@127.0.0.1:{closed_port}/fides"
    proc = fides("status", "--check", "--root", str(root), env={"FIDES_DATABASE_URL": url})
    assert proc.returncode == EXIT_FAILURE  # Docker reads 0 healthy, 1 unhealthy; 2 is reserved
    assert_one_clear_line(proc, "connexion refusée")


def test_doctor_reports_without_a_traceback(root, closed_port):
    url = f"postgresql://fides:{PASSWORD}@127.0.0.1:{closed_port}/fides"
    proc = fides("doctor", "--root", str(root), env={"FIDES_DATABASE_URL": url})
    assert proc.returncode == EXIT_FAILURE
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and PASSWORD not in out
    assert "base de données" in proc.stdout


def test_the_setting_to_check_is_the_one_that_gave_the_address(root, tmp_path, closed_port):
    url = f"postgresql://fides:{PASSWORD}@127.0.0.1:{closed_port}/fides"
    config = root / "fides.toml"
    config.write_text(config.read_text(encoding="utf-8") + f'\n[database]\nurl = "{url}"\n', encoding="utf-8")
    proc = fides("process", "--root", str(root), env={})
    assert proc.returncode == EXIT_DATABASE
    assert_one_clear_line(proc, f"[database] url de {root / 'fides.toml'}")

    secret = tmp_path / "database_url"
    secret.write_text(url + "\n", encoding="utf-8")
    proc = fides("process", "--root", str(root), env={"FIDES_DATABASE_URL_FILE": str(secret)})
    assert proc.returncode == EXIT_DATABASE
    assert_one_clear_line(proc, f"le fichier {secret} (FIDES_DATABASE_URL_FILE)")


def test_missing_secret_file(root, tmp_path):
    secret = tmp_path / "absent" / "database_url"
    proc = fides("status", "--root", str(root), env={"FIDES_DATABASE_URL_FILE": str(secret)})
    assert proc.returncode == EXIT_USAGE
    assert_one_clear_line(proc, str(secret), "fichier absent")


@pytest.mark.parametrize("url", [
    f"mysql://fides:{PASSWORD}@localhost/fides",
    f"postgresql://fides:{PASSWORD}@localhost:cinq/fides",
    f"fides:{PASSWORD}@localhost/fides",
])
def test_malformed_address_is_a_configuration_error(root, url):
    proc = fides("state", "--all", "--root", str(root), env={"FIDES_DATABASE_URL": url})
    assert proc.returncode == EXIT_USAGE
    assert_one_clear_line(proc, "adresse de la base de données invalide dans FIDES_DATABASE_URL",
                          "postgresql://utilisateur:mot_de_passe@serveur:port/base")


def test_connection_lost_during_a_command_and_a_failing_statement(db_url, root):
    """A real session killed by the server is the database gone; a real statement timeout is
    not (it keeps its traceback: a bug or a tuning matter, not an unreachable server)."""
    args = build_parser().parse_args(["status", "--root", str(root)])
    with psycopg.connect(db_url, autocommit=True) as victim, psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        with pytest.raises(psycopg.OperationalError) as lost:
            victim.execute("SELECT 1")
    message, code = _database_problem(lost.value, args)
    assert code == EXIT_DATABASE
    assert "connexion perdue pendant la commande" in message and "relancez la commande" in message

    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 10")
        with pytest.raises(psycopg.errors.QueryCanceled) as cancelled:
            conn.execute("SELECT pg_sleep(1)")
    assert _database_problem(cancelled.value, args) is None
