"""docker-compose.yml as the compose client itself reads it, and the Dockerfile it builds.

`docker compose config` (or the older `docker-compose config`) resolves the file without a Docker
engine: anchors merged, paths made absolute, defaults filled. The checks below read that resolved
form field by field, so a typo the client silently accepts (a healthcheck under the wrong key, a
port published on every interface) still fails here. Compose v1 writes volumes and ports in
their short form, v2 in their long form: both are read.

When neither client is installed the compose tests are skipped (`.ci/run` installs Debian's
`docker-compose`). The Dockerfile checks need no client.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from fides.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
FIDES_SERVICES = ("fides", "dashboard")  # the services that run the fides image
LOOPBACK = {"127.0.0.1", "::1"}
SENSITIVE = re.compile(r"PASSWORD|TOKEN|SECRET|DATABASE_URL|PASS\b", re.I)


def _client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.fixture(scope="module")
def config() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML (installed with schemathesis) reads the resolved file")
    client = _client()
    if client is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed "
                    "(apt-get install docker-compose; .ci/run does it)")
    # The file alone decides: no COMPOSE_* variable of the caller's shell may add files or profiles.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    run = subprocess.run([*client, "-f", str(COMPOSE), "config"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{' '.join(client)} config failed:\n{run.stderr}"
    return yaml.safe_load(run.stdout)


def _mounts(service: dict) -> list[tuple[str, str, str]]:
    """(type, source, target) of each volume entry, from the short (v1) or long (v2) form."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, dict):
            out.append((v.get("type", "volume"), v.get("source", ""), v["target"]))
        else:
            source, target = v.split(":")[:2]
            kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
            out.append((kind, source, target))
    return out


def _ports(service: dict) -> list[tuple[str, str, str]]:
    """(host address, published port, container port) of each published port."""
    out = []
    for p in service.get("ports", []):
        if isinstance(p, dict):
            out.append((p.get("host_ip", ""), str(p.get("published", "")), str(p["target"])))
        else:
            parts = str(p).split("/")[0].rsplit(":", 2)
            parts = [""] * (3 - len(parts)) + parts
            out.append((parts[0].strip("[]"), parts[1], parts[2]))
    return out


def _command(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _cli(args: list[str]):
    """The arguments as `fides` parses them: a command the CLI does not know fails here."""
    try:
        return build_parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"`fides {' '.join(args)}` is not a valid fides command line")


def test_postgres_and_the_fides_services_are_there(config):
    services = config["services"]
    assert set(services) == {"postgres", *FIDES_SERVICES}
    assert services["postgres"]["image"].startswith("postgres:")
    for name in FIDES_SERVICES:
        build = services[name]["build"]
        context = build if isinstance(build, str) else build["context"]
        assert Path(context).resolve() == REPO, name
        assert isinstance(build, str) or build.get("dockerfile", "Dockerfile") == "Dockerfile"
        assert services[name]["image"] == services["fides"]["image"], "one image for both"
        assert services[name]["restart"] == "unless-stopped"


def test_postgres_runs_with_the_settings_of_the_embedded_server(config):
    from fides.store.db import EMBEDDED_SETTINGS

    command = config["services"]["postgres"]["command"]
    command = shlex.split(command) if isinstance(command, str) else command
    assert command[0] == "postgres" and command[1::2] == ["-c"] * len(EMBEDDED_SETTINGS)
    assert dict(setting.split("=", 1) for setting in command[2::2]) == EMBEDDED_SETTINGS


def test_every_service_has_a_healthcheck(config):
    for name, service in config["services"].items():
        check = service.get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert not check.get("disable"), name
        test = check["test"]
        assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, (name, test)
        assert check.get("interval") and check.get("timeout") and check.get("retries"), name


def test_healthchecks_probe_what_each_service_does(config):
    services = config["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"][1:])
    # the service's probe is a real fides command line that asks the database
    test = services["fides"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "fides"]
    args = _cli(test[2:])
    assert args.command == "status" and args.check is True
    assert str(args.root) == _cli(_command(services["fides"])).root.as_posix()
    # the dashboard's probe asks its own HTTP port, on the path served without a token
    probe = " ".join(services["dashboard"]["healthcheck"]["test"][1:])
    port = _cli(_command(services["dashboard"])).port
    assert f"http://127.0.0.1:{port}/api/openapi.json" in probe


def test_fides_starts_after_a_healthy_postgres(config):
    services = config["services"]
    assert services["fides"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    # the dashboard waits for the service, which has migrated the schema by then
    assert services["dashboard"]["depends_on"]["fides"]["condition"] == "service_healthy"


def test_the_buffer_tree_and_the_database_are_volumes(config):
    services, declared = config["services"], set(config.get("volumes") or {})
    for name in FIDES_SERVICES:
        args = _cli(_command(services[name]))
        root = args.root.as_posix()
        mounted = [(kind, source) for kind, source, target in _mounts(services[name]) if target == root]
        assert len(mounted) == 1, f"{name}: --root {root} is not a mounted volume"
        kind, source = mounted[0]
        assert kind == "volume" and source in declared, (name, mounted)
    assert _cli(_command(services["fides"])).command == "run"
    assert _cli(_command(services["dashboard"])).command == "web"
    # both containers see the same tree (the dashboard reads fides.toml and the .arl texts)
    assert {s for _, s, t in _mounts(services["fides"])} == {s for _, s, t in _mounts(services["dashboard"])}
    data = [(kind, source) for kind, source, target in _mounts(services["postgres"])
            if target == "/var/lib/postgresql/data"]
    assert data and data[0][0] == "volume" and data[0][1] in declared


def test_no_secret_in_plain_text(config):
    secrets = config.get("secrets") or {}
    for name, secret in secrets.items():
        path = Path(secret["file"]).resolve()
        assert path.parent == REPO / "secrets", f"{name}: secret file outside ./secrets/"
    for name, service in config["services"].items():
        mounted = {s["source"] if isinstance(s, dict) else s for s in service.get("secrets", [])}
        assert mounted <= set(secrets), name
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        for key, value in environment.items():
            value = str(value or "")
            assert not re.search(r"://[^/@\s]*:[^/@\s]+@", value), f"{name}: {key} holds a password"
            if SENSITIVE.search(key):
                assert key.endswith("_FILE"), f"{name}: {key} given in plain text, not as a secret file"
                assert value.startswith("/run/secrets/") and value.removeprefix("/run/secrets/") in mounted, \
                    f"{name}: {key} does not name a secret the service mounts"
        for command in (service.get("command"), (service.get("healthcheck") or {}).get("test")):
            text = " ".join(command) if isinstance(command, list) else str(command or "")
            assert "--token" not in text, f"{name}: token on a command line"


def test_dashboard_port_is_published_on_the_loopback_only(config):
    services = config["services"]
    assert _ports(services["postgres"]) == [], "PostgreSQL must not be published"
    for name, service in services.items():
        for host, _, _ in _ports(service):
            assert host in LOOPBACK, f"{name}: port published on {host or 'every interface'}"
    web = _cli(_command(services["dashboard"]))
    # inside its container it must listen beyond its own loopback, or the published port is dead
    assert web.host == "0.0.0.0"
    assert [target for _, _, target in _ports(services["dashboard"])] == [str(web.port)]


# --- the image (no compose client needed) ----------------------------------------------------

def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_image_runs_as_a_user_who_owns_the_buffer_volume():
    steps = _instructions()
    kinds = [k for k, _ in steps]
    user = [a for k, a in steps if k == "USER"]
    assert user and user[-1] not in ("root", "0"), "the service must not run as root"
    volume = next(i for i, (k, a) in enumerate(steps) if k == "VOLUME" and "/data" in a)
    # an empty named volume takes the owner of the image's directory: it must exist before VOLUME
    created = [i for i, (k, a) in enumerate(steps) if k == "RUN" and "/data" in a and f"-o {user[-1]}" in a]
    assert created and created[0] < volume, "/data is not created for the service user before VOLUME"
    assert ("ENV", "FIDES_ROOT=/data") in steps
    assert kinds.count("ENTRYPOINT") == 1


def test_the_image_healthcheck_and_default_command_are_real_fides_commands():
    steps = dict(_instructions())
    probe = re.search(r"CMD\s+(\[.*\])", steps["HEALTHCHECK"])
    assert probe, steps["HEALTHCHECK"]
    import json

    test = json.loads(probe.group(1))
    assert test[0] == "fides" and json.loads(steps["ENTRYPOINT"]) == ["fides"]
    assert _cli(test[1:]).check is True
    assert _cli(json.loads(steps["CMD"])).command == "run"
