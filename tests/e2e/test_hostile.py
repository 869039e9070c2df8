"""Hostile and bad input in a real inbox (docs/robustness.md): symlinks, FIFOs, device files,
directories, names with `..` or control characters or bytes that are not UTF-8, empty files, a
2 GiB sparse file, invalid bytes, a file without a line break, a file changed while it is read.
Each is refused with a clear `.arl` (or waits, with a log line, when it changed), is never
followed or opened as something else, and never stops `fides process` or `fides run`."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time

import pytest
from buffer import FINESS, Site, example_lines, flow_name

VIDHOSP = example_lines("vidhosp_V015.txt")


def vidhosp_bytes(lines=VIDHOSP) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("latin-1")


def run_measured(site: Site, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, int]:
    """`fides …` as a subprocess; returns (result, its peak resident memory in MiB)."""
    full = dict(os.environ, FIDES_DATABASE_URL=site.db_url, **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "fides.cli", *args, "--root", str(site.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full)
    out, err = proc.communicate(timeout=600)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # includes earlier children: an upper bound
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode()), usage.ru_maxrss // 1024


def refused(site: Site, name: str, arl_name: str | None = None) -> tuple[str, list[str]]:
    """(the .arl header's flux and status, the error codes) of a refused entry."""
    path = site.root / "out" / "arl" / (arl_name or f"{name}.arl")
    rows = [line.split(";") for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows[0][0] == "ARL" and rows[0][3] == "KO", rows
    return rows[0][1], [r[3] for r in rows[1:]]


def test_links_special_files_and_directories_are_refused_never_followed(site, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "VIDHOSP_secret.txt"
    secret.write_bytes(vidhosp_bytes())  # a valid file: followed, it would create dossiers
    fifo_target = outside / "fifo"
    os.mkfifo(fifo_target)
    inbox = site.inbox
    names = {
        "link": flow_name("VIDHOSP", 1), "link_dir": flow_name("VIDHOSP", 2), "dangling": flow_name("VIDHOSP", 3),
        "link_fifo": flow_name("VIDHOSP", 4), "fifo": flow_name("RSS", 5), "dir": flow_name("FICHCOMP", 6),
        "device": flow_name("RSS", 7),
    }
    os.symlink(secret, inbox / names["link"])
    os.symlink(outside, inbox / names["link_dir"])
    os.symlink(outside / "nothing", inbox / names["dangling"])
    os.symlink(fifo_target, inbox / names["link_fifo"])
    os.mkfifo(inbox / names["fifo"])  # opened for reading, it would block the pass for ever
    (inbox / names["dir"]).mkdir()
    (inbox / names["dir"] / "inside.txt").write_bytes(vidhosp_bytes())
    try:
        os.mknod(inbox / names["device"], 0o600 | 0o020000, os.makedev(1, 3))  # like /dev/null
    except PermissionError:
        del names["device"]
    result = subprocess.run([sys.executable, "-m", "fides.cli", "process", "--root", str(site.root)],
                            capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, FIDES_DATABASE_URL=site.db_url))
    assert result.returncode == 0, result.stderr
    for kind, name in names.items():
        assert refused(site, name) == ("INCONNU", ["FIC004"]), kind
        assert os.path.lexists(site.root / "rejected" / name) and not os.path.lexists(inbox / name), kind
    assert os.path.islink(site.root / "rejected" / names["link"])  # moved as a link, not copied
    assert secret.read_bytes() == vidhosp_bytes() and fifo_target.exists()
    assert site.query("SELECT count(*) FROM dossier")[0][0] == 0
    assert site.query("SELECT DISTINCT sha256 FROM flux_file") == [("",)]  # nothing was read
    text = (site.root / "out" / "arl" / f"{names['link']}.arl").read_text()
    assert "lien symbolique" in text


def test_dangerous_names_are_refused(site):
    inbox = site.inbox
    dots = f"VIDHOSP_{FINESS}_20250325101500_0001..txt"
    control = f"VIDHOSP_{FINESS}_20250325101500_0002\x01.txt"
    newline = f"RSS_{FINESS}_20250325101500_0003\n.txt"
    for name in (dots, control, newline):
        (inbox / name).write_bytes(vidhosp_bytes())
    raw = os.fsencode(inbox) + b"/VIDHOSP_" + FINESS.encode() + b"_20250325101500_0004_\xe9t\xe9.txt"  # latin-1 name
    fd = os.open(raw, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, vidhosp_bytes())
    os.close(fd)
    site.process()
    assert refused(site, dots)[1] == ["FIC005"]
    assert refused(site, control, control.replace("\x01", "_") + ".arl")[1] == ["FIC005"]
    assert refused(site, newline, newline.replace("\n", "_") + ".arl")[1] == ["FIC005"]
    latin = f"VIDHOSP_{FINESS}_20250325101500_0004__xe9t_xe9.txt.arl"  # the \xNN escapes, '\' made '_'
    assert refused(site, "", latin)[1] == ["FIC005"]
    assert not os.listdir(inbox)
    assert os.path.lexists(os.fsencode(site.root / "rejected") + raw[len(os.fsencode(inbox)):])
    assert site.query("SELECT count(*) FROM dossier")[0][0] == 0
    names = [r[0] for r in site.query("SELECT name FROM flux_file")]
    assert f"VIDHOSP_{FINESS}_20250325101500_0004_\\xe9t\\xe9.txt" in names
    # the .arl header never carries a raw line break
    for arl in (site.root / "out" / "arl").iterdir():
        assert arl.read_text().count("\n") == 2


def test_empty_binary_and_invalid_bytes(site):
    empty, nul, invalid, noname = flow_name("VIDHOSP", 1), flow_name("RSS", 2), flow_name("VIDHOSP", 3), "hello.txt"
    site.drop(empty, b"")
    site.drop(nul, b"\0" * 10 + vidhosp_bytes())
    bad = VIDHOSP[0][:100] + "\xff\xfe\x80\x01\x7f" + VIDHOSP[0][105:]
    site.drop(invalid, vidhosp_bytes([bad, VIDHOSP[1]]))
    site.drop(noname, b"not a flow\r\n")
    site.process()
    assert refused(site, empty)[1] == ["FIC001"]
    assert refused(site, nul)[1] == ["FIC006"]
    flux, codes = refused(site, invalid)
    assert flux == "VIDHOSP" and codes and all(c.startswith("FMT") for c in codes)
    assert refused(site, noname)[1] == ["FIC002"]
    assert site.query("SELECT count(*) FROM dossier_line")[0][0] == 0


def test_sparse_2gib_refused_by_size(site):
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\nmax_file_bytes = 1048576\n',
        encoding="utf-8")
    name = flow_name("VIDHOSP", 1)
    with open(site.inbox / name, "wb") as f:
        f.write(vidhosp_bytes())
        f.truncate(2 << 30)  # 2 GiB, sparse: no disk space used
    result, _ = run_measured(site, "process")
    assert result.returncode == 0, result.stderr
    flux, codes = refused(site, name)
    assert codes == ["FIC008"]
    assert str(2 << 30) in (site.root / "out" / "arl" / f"{name}.arl").read_text()


@pytest.mark.slow
def test_sparse_2gib_with_default_limit_is_streamed(site):
    """Under the default 4 GiB limit the 2 GiB sparse file is read (hashed) in 1 MiB chunks and
    refused for its NUL bytes, without ever being held in memory."""
    name = flow_name("VIDHOSP", 1)
    with open(site.inbox / name, "wb") as f:
        f.write(vidhosp_bytes())
        f.truncate(2 << 30)
    started = time.monotonic()
    result, peak_mib = run_measured(site, "process")
    assert result.returncode == 0, result.stderr
    assert refused(site, name)[1] == ["FIC006"]
    assert peak_mib < 400, f"peak memory {peak_mib} MiB"
    print(f"2 GiB sparse file refused in {time.monotonic() - started:.1f} s, peak {peak_mib} MiB")


def _no_line_break(site: Site, size: int) -> tuple[str, int]:
    name = flow_name("NOEMIE", 1)
    with open(site.inbox / name, "wb") as f:
        block = b"A" * (1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    result, peak_mib = run_measured(site, "process")
    assert result.returncode == 0, result.stderr
    return name, peak_mib


def test_file_without_line_break_is_refused_with_bounded_memory(site):
    name, peak_mib = _no_line_break(site, 40 << 20)
    flux, codes = refused(site, name)
    assert codes == ["FIC008"]
    assert "sans fin de ligne" in (site.root / "out" / "arl" / f"{name}.arl").read_text()
    assert peak_mib < 400, peak_mib


@pytest.mark.slow
def test_2gib_file_without_line_break(site):
    """Before the fix this never finished (a copy of the whole pending line per MiB read)."""
    started = time.monotonic()
    name, peak_mib = _no_line_break(site, 2 << 30)
    assert refused(site, name)[1] == ["FIC008"]
    assert peak_mib < 400, peak_mib
    assert time.monotonic() - started < 120


def test_file_changed_while_read_is_read_again_whole(site, tmp_path):
    name = flow_name("VIDHOSP", 1)
    site.drop(name, vidhosp_bytes(VIDHOSP[:2]))
    faults = tmp_path / "faults"
    faults.mkdir()
    env = dict(os.environ, FIDES_DATABASE_URL=site.db_url, FIDES_FAULT_POINT="read:1:pause", FIDES_FAULT_DIR=str(faults))
    proc = subprocess.Popen([sys.executable, "-m", "fides.cli", "process", "--root", str(site.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    deadline = time.monotonic() + 60
    while not (faults / "read.reached").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() is not None else ""
        time.sleep(0.02)
    with open(site.inbox / name, "ab") as f:  # the producer appends while fides reads
        f.write(vidhosp_bytes(VIDHOSP[2:]))
    (faults / "read.go").touch()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "changed while being read" in err
    assert (site.inbox / name).exists()
    assert site.query("SELECT count(*) FROM flux_file")[0][0] == 0  # nothing kept of the torn read
    site.process()
    arl = site.arl(name)
    assert arl.status == "OK" and arl.counts == (len(VIDHOSP), len(VIDHOSP), 0)


def test_service_survives_all_of_it(site, tmp_path):
    """Everything hostile at once under `fides run`, then a good file: refused once each, the
    service keeps running and integrates the good file."""
    inbox = site.inbox
    os.symlink("/etc/passwd", inbox / flow_name("VIDHOSP", 1))
    os.mkfifo(inbox / flow_name("RSS", 2))
    (inbox / flow_name("FICHCOMP", 3)).mkdir()
    (inbox / f"VIDHOSP_{FINESS}_..\x02.txt").write_bytes(b"x\r\n")
    fd = os.open(os.fsencode(inbox) + b"/RSS_\xff\xfe.txt", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    site.drop(flow_name("VIDHOSP", 6), b"")
    site.drop(flow_name("VIDHOSP", 7), b"\x00\x01\x02")
    (site.root / "fides.toml").write_text(
        f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\nrescan_seconds = 0.2\n', encoding="utf-8")
    log = tmp_path / "run.log"
    proc = subprocess.Popen([sys.executable, "-m", "fides.cli", "run", "--poll", "--root", str(site.root)],
                            stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env=dict(os.environ, FIDES_DATABASE_URL=site.db_url))
    try:
        deadline = time.monotonic() + 60
        while os.listdir(inbox):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, os.listdir(inbox)
            time.sleep(0.1)
        good = flow_name("VIDHOSP", 8)
        site.drop(good, vidhosp_bytes())
        while not (site.root / "out" / "arl" / f"{good}.arl").exists():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1)  # a few more passes over the refused entries' places
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    assert rc == 0, log.read_text()
    assert site.arl(good).status == "OK"
    statuses = site.query("SELECT status, count(*) FROM flux_file GROUP BY 1 ORDER BY 1")
    assert statuses == [("KO", 7), ("OK", 1)], statuses
    assert "Traceback" not in log.read_text()
