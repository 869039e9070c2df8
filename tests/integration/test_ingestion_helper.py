"""Large VIDHOSP, RSS and FICHCOMP files are read and checked in a helper process
(fides.flows.reading, from HELPER_BYTES up): what a file leaves behind must be what the
in-process path leaves, row for row and finding for finding, and a helper that dies must lose
nothing and apply nothing."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from fides import config as config_mod, helpers
from fides.bench import synthetic
from fides.flows import dossier_lines, reading

_SNAPSHOT = {
    "files": "SELECT name, flux, status, applied, lines_read, lines_integrated, lines_refused, errors_total, "
             "arl_text FROM flux_file ORDER BY id",
    "errors": "SELECT f.name, e.line_no, e.position, e.code, e.severity, e.message FROM file_error e "
              "JOIN flux_file f ON f.id = e.file_id ORDER BY f.id, e.id",
    "dossiers": "SELECT nda, state, to_validate, entry_date, exit_date, line_kinds FROM dossier ORDER BY nda",
    # dossiers whose line_kinds (migration 0012) are not the kinds of their current lines: none
    "line_kinds_wrong": "SELECT d.id FROM dossier d LEFT JOIN dossier_line l ON l.dossier_id = d.id AND l.current "
                        "GROUP BY d.id HAVING d.line_kinds <> coalesce(bit_or(CASE l.kind WHEN 'VIDHOSP' THEN 1 "
                        "WHEN 'RSS' THEN 2 ELSE 4 END), 0)",
    "lines": "SELECT d.nda, f.name, l.kind, l.subtype, l.layout, l.seq, l.line, l.line_no, l.current "
             "FROM dossier_line l JOIN dossier d ON d.id = l.dossier_id JOIN flux_file f ON f.id = l.file_id "
             "ORDER BY f.id, l.line_no",
}


def _cfg(root):
    return config_mod.from_mapping(root, {"inbox": {"stable_seconds": 0}, "establishment": {"finess": synthetic.FINESS},
                                          "arl": {"max_errors": 5}})


@pytest.fixture
def cfg(tmp_path):  # for the `engine` fixture
    return _cfg(tmp_path / "engine")


def _files(tmp_path) -> list[tuple[str, bytes]]:
    """Good flows of 120 dossiers, a VIDHOSP sent again with changed lines and warnings, and one
    with errors in its middle (KO: the file keeps nothing)."""
    source = tmp_path / "flows"
    source.mkdir()
    synthetic.write_flows(source, 120, seed=7)
    files = [(p.name, p.read_bytes()) for k in ("VIDHOSP", "RSS", "FICHCOMP")
             for p in source.glob(f"{k}_*")]
    vidhosp = files[0][1].decode("latin-1").split("\r\n")[:-1]
    again = [line[:299] + "01052025" + line[307:] for line in vidhosp[:60]]  # a changed AMO date
    again[10] = "X" * 15 + again[10][15:]  # NIR unknown (FMT101)
    files.append((f"VIDHOSP_{synthetic.FINESS}_20250402000000_0002.txt", _crlf(again)))
    broken = list(vidhosp[60:])
    broken[15] = broken[15][:13] + broken[15][13:].replace(synthetic.FINESS, "990000999", 1)  # a wrong key
    broken[25] = broken[25][:100]  # truncated
    files.append((f"VIDHOSP_{synthetic.FINESS}_20250403000000_0003.txt", _crlf(broken)))
    return files


def _crlf(lines: list[str]) -> bytes:
    return "".join(f"{line}\r\n" for line in lines).encode("latin-1")


def _run(engine, files) -> dict[str, list]:
    for name, content in files:  # one pass per file: their order is part of the story
        (engine.tree.inbox / name).write_bytes(content)
        engine.run_pass()
    found = {key: engine.conn.execute(query).fetchall() for key, query in _SNAPSHOT.items()}
    found["files"] = [(*row[:-1], re.sub(r";\d{14}$", ";", row[-1], flags=re.M)) for row in found["files"]]  # when
    return found


def test_a_helper_leaves_what_the_process_leaves(engine_on, db_url, other_db_url, tmp_path, monkeypatch):
    files = _files(tmp_path)
    monkeypatch.setattr(reading, "CHUNK_LINES", 7)  # many chunks, lines of one RSS across two
    monkeypatch.setattr(reading, "_FINDINGS_BATCH", 2)
    helped = []
    real = reading.read_in_helper
    monkeypatch.setattr(reading, "read_in_helper", lambda *a: helped.append(a[0].name) or real(*a))

    monkeypatch.setattr(reading, "HELPER_BYTES", 1 << 40)  # never
    alone = _run(engine_on(_cfg(tmp_path / "alone"), db_url), files)
    assert helped == []
    monkeypatch.setattr(reading, "HELPER_BYTES", 0)  # always
    helper = _run(engine_on(_cfg(tmp_path / "helper"), other_db_url), files)
    assert helped == [name for name, _ in files]

    statuses = [row[2] for row in alone["files"]]
    assert statuses == ["OK", "OK", "OK", "OK", "KO"]  # what the scenario is about
    assert {row[3] for row in alone["errors"]} >= {"FMT002", "FMT008", "FMT101"}  # truncated, FINESS key, X
    assert len(alone["lines"]) > 300
    assert alone["line_kinds_wrong"] == []
    for key in _SNAPSHOT:
        assert helper[key] == alone[key], key


def test_a_helper_that_dies_loses_nothing(engine, monkeypatch):
    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(reading, "CHUNK_LINES", 100)
    name = f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt"
    lines = [synthetic.vidhosp_line(i) for i in range(3000)]  # more than a pipe holds: the helper is still sending
    (engine.tree.inbox / name).write_bytes(_crlf(lines))
    real = dossier_lines._Applier.apply

    def apply_then_kill(self, chunk):
        real(self, chunk)
        for child in multiprocessing.active_children():
            if child.name == "fides-check":
                os.kill(child.pid, signal.SIGKILL)

    monkeypatch.setattr(dossier_lines._Applier, "apply", apply_then_kill)
    engine.run_pass()
    assert (engine.tree.inbox / name).exists()  # left for the next pass
    assert engine.conn.execute("SELECT count(*) FROM dossier_line").fetchone()[0] == 0
    assert engine.conn.execute("SELECT count(*) FROM flux_file WHERE applied").fetchone()[0] == 0
    assert not [c for c in multiprocessing.active_children() if c.name == "fides-check"]

    monkeypatch.setattr(dossier_lines._Applier, "apply", real)
    engine.run_pass()
    assert not (engine.tree.inbox / name).exists()
    assert engine.conn.execute("SELECT count(*) FROM dossier_line").fetchone()[0] == len(lines)


def test_an_error_while_applying_stops_the_helper(engine, monkeypatch):
    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(reading, "CHUNK_LINES", 100)
    name = f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt"
    (engine.tree.inbox / name).write_bytes(_crlf([synthetic.vidhosp_line(i) for i in range(3000)]))
    calls = []

    def apply_then_fail(self, chunk):
        calls.append(len(chunk))
        if len(calls) == 2:
            raise RuntimeError("panne simulée")

    monkeypatch.setattr(dossier_lines._Applier, "apply", apply_then_fail)
    engine.run_pass()
    assert calls == [10, 100]  # a small first chunk, then nothing applied after the error
    assert (engine.tree.inbox / name).exists()
    assert engine.conn.execute("SELECT count(*) FROM flux_file WHERE applied").fetchone()[0] == 0
    assert not [c for c in multiprocessing.active_children() if c.name == "fides-check"]
    assert not [t for t in threading.enumerate() if t.name == "fides-receive"]


@pytest.mark.parametrize("file_chunks", [4, 1000])
def test_a_large_first_send_creates_its_dossiers_in_savepoints(engine, monkeypatch, file_chunks):
    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(reading, "CHUNK_LINES", 100)
    monkeypatch.setattr(reading, "FILE_CHUNKS", file_chunks)
    monkeypatch.setattr(dossier_lines, "_SAVEPOINTS_MAX", 6)
    lines = [synthetic.vidhosp_line(i) for i in range(3000)]
    (engine.tree.inbox / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt").write_bytes(_crlf(lines))
    sizes, careful = [], []
    real_apply, real_careful = dossier_lines._Applier.apply, dossier_lines._Applier._create_carefully
    monkeypatch.setattr(dossier_lines._Applier, "apply",
                        lambda self, chunk: sizes.append(len(chunk)) or real_apply(self, chunk))
    monkeypatch.setattr(dossier_lines._Applier, "_create_carefully",
                        lambda self, missing, spans: careful.append(len(missing)) or real_careful(self, missing, spans))
    engine.run_pass()
    assert engine.conn.execute("SELECT count(*), count(DISTINCT nda) FROM dossier").fetchone() == (3000, 3000)
    assert sum(sizes) == 3000
    if file_chunks == 4:  # the first block says ~3 000 lines (LF counted, not CRLF): ~750 a chunk
        assert 750 <= sizes[1] < 760 and sizes[0] == sizes[1] // 10 and sizes[1:4] == [sizes[1]] * 3
        assert len(sizes) == 5 and careful == []  # a tenth first, then 3 full and the rest: all in savepoints
    else:  # chunks of 100: past the 6 savepoints, each chunk creates its dossiers carefully
        assert sizes[:2] == [10, 100] and len(sizes) == 31 and sum(careful) == 3000 - 10 - 5 * 100


def test_a_helper_says_its_cpu_time_and_the_bench_counts_it(engine, monkeypatch):
    from fides.bench import run as bench

    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(helpers, "cpu_seconds", 0.0)
    (engine.tree.inbox / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt").write_bytes(
        _crlf([synthetic.vidhosp_line(i) for i in range(6000)]))
    engine.run_pass()
    helper = helpers.cpu_seconds
    assert 0.02 < helper < 30  # the helper's own time: checking 6 000 lines, not its fork server's life
    mine = sum(os.times()[:4])  # this process and its waited-for children: not the fork server's
    fides, _ = bench._cpu_seconds(engine.conn.info.backend_pid)
    assert fides - mine >= helper


def test_the_helpers_server_is_started_before_the_first_large_file(tmp_path):
    """`fides run` starts the fork server when it starts (fides.helpers.start): a fresh
    interpreter has none, then one, whose helper has come and gone."""
    probe = (
        "import os, pathlib\n"
        "def servers():\n"
        "    found = []\n"
        "    for p in pathlib.Path('/proc').iterdir():\n"
        "        try:\n"
        "            stat = (p / 'stat').read_text().rsplit(')', 1)[1].split()\n"
        "            cmd = (p / 'cmdline').read_bytes()\n"
        "        except (OSError, ValueError):\n"
        "            continue\n"
        "        if p.name.isdigit() and int(stat[1]) == os.getpid() and b'forkserver' in cmd:\n"
        "            found.append(p.name)\n"
        "    return found\n"
        "from fides import helpers\n"
        "before = servers()\n"
        "helpers.start()\n"
        "print(len(before), len(servers()))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "1"]


def _checkers(monkeypatch, events: list) -> None:
    """Records, in `events`, each checking helper started and each hash, in their order."""
    from fides.engine import process

    real_init, real_digest = reading.Checker.__init__, process._digest
    monkeypatch.setattr(reading.Checker, "__init__", lambda self, *a: events.append("checker") or real_init(self, *a))
    monkeypatch.setattr(process, "_digest", lambda fd: events.append("hash") or real_digest(fd))


def _no_helper_left() -> bool:
    return (not [c for c in multiprocessing.active_children() if c.name == "fides-check"]
            and not [t for t in threading.enumerate() if t.name == "fides-receive"])


def test_a_large_file_is_checked_while_it_is_hashed(engine, monkeypatch):
    """Its checking helper starts before the hash (it writes nothing), and the file's
    transaction then applies what it checked: one helper, the whole file."""
    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(reading, "CHUNK_LINES", 100)
    events: list[str] = []
    _checkers(monkeypatch, events)
    lines = [synthetic.vidhosp_line(i) for i in range(3000)]
    (engine.tree.inbox / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt").write_bytes(_crlf(lines))
    assert [status for _, _, status in engine.run_pass().processed] == ["OK"]
    assert events == ["checker", "hash"]
    assert engine.conn.execute("SELECT count(*), count(DISTINCT line_no), min(line_no), max(line_no), "
                               "bool_and(seq = line_no) FROM dossier_line").fetchone() == (3000, 3000, 1, 3000, True)
    assert _no_helper_left()


def test_a_duplicate_or_refused_large_file_stops_its_early_helper(engine, monkeypatch):
    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(reading, "CHUNK_LINES", 100)
    events: list[str] = []
    _checkers(monkeypatch, events)
    content = _crlf([synthetic.vidhosp_line(i) for i in range(3000)])  # more than a pipe holds
    inbox = engine.tree.inbox
    (inbox / f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt").write_bytes(content)
    (inbox / f"VIDHOSP_{synthetic.FINESS}_20250402000000_0002.txt").write_bytes(content)  # the same lines again
    (inbox / f"VIDHOSP_{synthetic.FINESS}_20250403000000_0003.txt").write_bytes(content[:5000] + b"\0" + content[5001:])
    (inbox / "VIDHOSP_990000028_20250404000000_0004.txt").write_bytes(content)  # another establishment's
    for i in range(4):  # one file a pass, in this order
        os.utime(inbox / sorted(os.listdir(inbox))[i], (1_000_000_000 + i, 1_000_000_000 + i))
    assert [status for _, _, status in engine.run_pass().processed] == ["OK", "DOUBLON", "KO", "KO"]
    codes = engine.conn.execute("SELECT f.name, e.code FROM file_error e JOIN flux_file f ON f.id = e.file_id "
                                "WHERE f.status = 'KO' ORDER BY f.id").fetchall()
    assert [code for _, code in codes] == ["FIC006", "FIC007"]  # the NUL byte, the FINESS of the name
    # a helper for each file named for this establishment, started before its hash; none for the other
    assert events == ["checker", "hash"] * 3 + ["hash"]
    assert engine.conn.execute("SELECT count(*) FROM dossier_line").fetchone()[0] == 3000  # applied once
    assert _no_helper_left()


def test_a_large_file_applied_before_a_failure_is_finished_once_and_no_helper_stays(engine, monkeypatch):
    """Committed, then its move failed (the disk): its early helper is stopped, and the next
    pass's recovery finishes the file (hashed again, no helper) without applying it again."""
    import errno

    from fides.engine.process import Processor

    monkeypatch.setattr(reading, "HELPER_BYTES", 0)
    monkeypatch.setattr(reading, "CHUNK_LINES", 100)
    events: list[str] = []
    _checkers(monkeypatch, events)
    name = f"VIDHOSP_{synthetic.FINESS}_20250401000000_0001.txt"
    (engine.tree.inbox / name).write_bytes(_crlf([synthetic.vidhosp_line(i) for i in range(3000)]))
    real = Processor._complete

    def move_fails(self, *args):
        raise OSError(errno.EIO, "entrée/sortie", name)

    monkeypatch.setattr(Processor, "_complete", move_fails)
    engine.run_pass()
    assert (engine.tree.inbox / name).exists() and events == ["checker", "hash"]
    assert engine.conn.execute("SELECT count(*) FROM flux_file WHERE applied AND NOT finished").fetchone()[0] == 1
    monkeypatch.setattr(Processor, "_complete", real)
    engine.run_pass()
    assert not (engine.tree.inbox / name).exists() and events == ["checker", "hash", "hash"]
    assert engine.conn.execute("SELECT count(*) FROM flux_file WHERE applied AND finished").fetchone()[0] == 1
    assert engine.conn.execute("SELECT count(*) FROM dossier_line").fetchone()[0] == 3000  # applied once
    assert _no_helper_left()
