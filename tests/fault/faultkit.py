"""Crash-safety harness (docs/robustness.md): a real buffer directory, a real PostgreSQL database,
`fides process` / `fides run --poll` run as subprocesses and killed with SIGKILL at chosen points,
and the invariants that must hold after every kill and after every clean restart.

Used by tests/fault/test_crash_cycles.py (the default run) and tools/soak.py (long runs).

A cycle: drop a random mix of files (good VIDHOSP / RSS / FICHCOMP for new dossiers, the same
content again under other names, bad files, STATEREQUEST, B2REQUEST billing every VALIDE
dossier), run fides with one fault (a SIGKILL at the n-th pass through a named point of the
engine, see fides/engine/faults.py; or inside the atomic write; or an external SIGKILL of a
`fides run --poll` after a random delay), check the invariants that hold at any moment, restart
(sometimes with a second fault), then run cleanly and check the settled invariants.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from fides import arl as arl_mod
from fides.billing import b2

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "sample_flows"
CHILD = Path(__file__).resolve().parent / "child.py"
FINESS = "990000010"
TMP_PREFIX = ".fides-tmp-"

# Where a kill can land. Engine points (fides/engine/faults.py), then `tmp` (inside
# Tree.write_atomic: temporary file half written, not renamed; tests/fault/child.py) and `timer`
# (an external SIGKILL of `fides run --poll` after a random delay).
POINTS = ("read", "handled", "commit", "committed", "moved", "write-arl", "write-b2", "write-reports",
          "written", "finish", "hook", "recover", "tmp", "timer")
# Which phase of DESIGN.md each point stands for (reported by the soak).
PHASES = {"read": "parsing + COPY", "handled": "flow applied, before commit", "commit": "commit",
          "committed": "after commit, before move", "moved": "file move", "write-arl": ".arl write",
          "write-b2": "B2 write", "write-reports": "report write", "written": "output renamed",
          "finish": "mark finished", "hook": "validation sweep", "recover": "recovery",
          "tmp": "inside atomic write", "timer": "random moment"}


# --- content --------------------------------------------------------------------------------

def _sample_lines(name: str) -> list[str]:
    return (SAMPLES / name).read_bytes().decode("latin-1").splitlines()


class Corpus:
    """Lines of a few billable sample dossiers, re-keyed to new N° administratifs."""

    TEMPLATES = ("2025000201", "2025000203", "2025000208", "2025000209", "2025000212")

    def __init__(self) -> None:
        self.vidhosp = {l[28:48].strip(): l for l in _sample_lines("VIDHOSP_990000010_20250402083000_0001.txt")}
        self.rss: dict[str, list[str]] = collections.defaultdict(list)
        for line in _sample_lines("RSS_990000010_20250403070000_0001.txt"):
            self.rss[line[47:67].strip()].append(line)
        self.fichcomp: dict[str, list[str]] = collections.defaultdict(list)
        for f in ("FICHCOMP_990000010_20250402180000_0001.txt", "FICHCOMP_990000010_20250402180000_0002.txt"):
            for line in _sample_lines(f):
                self.fichcomp[line[11:31].strip()].append(line)
        self.ium = (SAMPLES / "IUM_990000010_20250401080000_0001.txt").read_bytes()
        self.bad = [(n.split("_")[0], (SAMPLES / n).read_bytes()) for n in (
            "VIDHOSP_990000010_20250402090000_0001.erreur-date.txt",
            "VIDHOSP_990000010_20250402090000_0002.erreur-cle-nir.txt",
            "RSS_990000010_20250403073000_0001.erreur-tronque.txt")]

    def dossier(self, template: str, nda: str) -> tuple[str, list[str], list[str]]:
        """(VIDHOSP line, RSS lines, FICHCOMP lines) of `template` under the N° `nda`."""
        key = nda.ljust(20)
        v = self.vidhosp[template]
        vidhosp = v[:28] + key + v[48:]
        rss = [l[:27] + nda[-8:].ljust(20) + key + l[67:] for l in self.rss[template]]
        fichcomp = [l[:11] + key + l[31:] for l in self.fichcomp.get(template, [])]
        return vidhosp, rss, fichcomp


def text(lines: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in lines).encode("latin-1")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- the site -------------------------------------------------------------------------------

@dataclass
class Drop:
    name: str
    data: bytes
    kind: str  # good (data flow), dup (content of another good drop), bad, request
    flux: str
    ndas: tuple[str, ...] = ()

    @property
    def sha(self) -> str:
        return sha256(self.data)


@dataclass
class Run:
    mode: str
    fault: str | None
    returncode: int
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


@dataclass
class Stats:
    cycles: int = 0
    runs: int = 0
    kills: collections.Counter = field(default_factory=collections.Counter)  # point -> SIGKILLs landed
    tried: collections.Counter = field(default_factory=collections.Counter)  # point -> runs armed
    files: collections.Counter = field(default_factory=collections.Counter)  # kind -> dropped
    temp_leftovers: int = 0

    def summary(self) -> str:
        lines = [f"{self.cycles} cycles, {self.runs} fides runs, {sum(self.kills.values())} SIGKILLs landed, "
                 f"{sum(self.files.values())} files dropped ({dict(self.files)}), "
                 f"{self.temp_leftovers} temporary output(s) left by kills"]
        for p in POINTS:
            lines.append(f"  {p:14} {PHASES[p]:28} armed {self.tried[p]:5}  killed {self.kills[p]:5}")
        return "\n".join(lines)


class InvariantError(AssertionError):
    pass


class Site:
    """One root + one database, driven like production: files dropped, fides as a subprocess."""

    def __init__(self, root: Path, db_url: str, rng: random.Random, corpus: Corpus | None = None,
                 log_dir: Path | None = None) -> None:
        self.root = root
        self.db_url = db_url
        self.rng = rng
        self.corpus = corpus or Corpus()
        self.log_dir = log_dir or root.parent
        self.drops: dict[str, Drop] = {}
        self.good_by_sha: dict[str, list[str]] = collections.defaultdict(list)
        self.stats = Stats()
        self._seq = 0
        self._nda = 0
        self._stamp = dt.datetime(2025, 4, 2, 8, 0, 0)
        self.fault_dir = root.parent / "faults"

    # --- set-up and dropping ----------------------------------------------------------------

    def setup(self, extra_config: str = "") -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "fides.toml").write_text(
            f'[establishment]\nfiness = "{FINESS}"\n\n[inbox]\nstable_seconds = 0\nrescan_seconds = 0.2\n'
            + extra_config, encoding="utf-8")
        (self.root / "in").mkdir(exist_ok=True)
        self.fault_dir.mkdir(exist_ok=True)
        self.drop("IUM", self.corpus.ium, "good")
        run = self.run()
        assert run.returncode == 0, self.last_log()
        self.check_settled()

    def name(self, flux: str) -> str:
        self._seq += 1
        if self._seq > 9999:
            self._seq = 1
            self._stamp += dt.timedelta(seconds=1)
        return f"{flux}_{FINESS}_{self._stamp:%Y%m%d%H%M%S}_{self._seq:04d}.txt"

    def new_nda(self) -> str:
        self._nda += 1
        return f"9{self._nda:09d}"

    def drop(self, flux: str, data: bytes, kind: str, ndas: tuple[str, ...] = (), name: str | None = None) -> Drop:
        name = name or self.name(flux)
        d = Drop(name, data, kind, flux, ndas)
        tmp = self.root / "in" / f".{name}.part"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.root / "in" / name)
        self.drops[name] = d
        if kind in ("good", "dup"):
            self.good_by_sha[d.sha].append(name)
        self.stats.files[kind] += 1
        return d

    def drop_mix(self, bill: bool = False) -> list[Drop]:
        """A random mix of files for one cycle."""
        rng, corpus = self.rng, self.corpus
        dropped: list[Drop] = []
        for _ in range(rng.randint(1, 3)):
            members = [(rng.choice(Corpus.TEMPLATES), self.new_nda()) for _ in range(rng.randint(1, 4))]
            parts = [corpus.dossier(t, n) for t, n in members]
            ndas = tuple(n for _, n in members)
            files = [("VIDHOSP", [p[0] for p in parts]), ("FICHCOMP", [l for p in parts for l in p[2]]),
                     ("RSS", [l for p in parts for l in p[1]])]
            for flux, lines in files:
                if lines:
                    dropped.append(self.drop(flux, text(lines), "good", ndas))
        goods = [d for d in self.drops.values() if d.kind == "good" and d.flux != "IUM"]
        for _ in range(rng.choice((0, 1, 1, 2))):  # the same content again, under another name
            original = rng.choice(goods)
            dropped.append(self.drop(original.flux, original.data, "dup", original.ndas))
        if rng.random() < 0.5:
            bad = rng.choice(("sample", "sample", "garbage", "empty", "unknown", "nul"))
            if bad == "sample":
                flux, data = rng.choice(corpus.bad)
                dropped.append(self.drop(flux, data, "bad"))
            elif bad == "garbage":
                junk = bytes(rng.randrange(1, 256) for _ in range(rng.randint(1, 600)))
                dropped.append(self.drop("VIDHOSP", junk, "bad"))
            elif bad == "empty":
                dropped.append(self.drop("RSS", b"", "bad"))
            elif bad == "unknown":
                dropped.append(self.drop("INCONNU", b"hello\r\n", "bad", name=f"PASUNFLUX_{self.new_nda()}.txt"))
            else:
                dropped.append(self.drop("FICHCOMP", b"99000001006\0\0\0\r\n", "bad"))
        if rng.random() < 0.4:
            known = [n for d in goods for n in d.ndas]
            asked = rng.sample(known, min(len(known), 3)) + ["0000000001"]
            dropped.append(self.drop("STATEREQUEST", text(asked), "request"))
        if bill or rng.random() < 0.4:
            dropped.append(self.drop("B2REQUEST", b"*\r\n", "request"))
        return dropped

    # --- running fides ----------------------------------------------------------------------

    def _env(self, fault: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIDES_FAULT")}
        env["FIDES_DATABASE_URL"] = self.db_url
        env["FIDES_FAULT_DIR"] = str(self.fault_dir)
        if fault and not fault.startswith(("tmp:", "timer:")):
            env["FIDES_FAULT_POINT"] = fault
        if fault and fault.startswith("tmp:"):
            env["FIDES_FAULT_TMP"] = fault.split(":")[1]
        return env

    def last_log(self) -> str:
        path = self.log_dir / "last-run.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def run(self, fault: str | None = None, timeout: float = 180) -> Run:
        """`fides process` (`fault` = point:n[:action], tmp:n) or, for `timer:<ms>`, `fides run
        --poll` killed after that many milliseconds."""
        started = time.monotonic()
        log_path = self.log_dir / "last-run.log"
        with open(log_path, "wb") as log:
            if fault and fault.startswith("timer:"):
                cmd = [sys.executable, "-m", "fides.cli", "run", "--poll", "--root", str(self.root)]
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(fault))
                try:
                    proc.wait(int(fault.split(":")[1]) / 1000)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                rc = proc.wait(timeout)
                if rc != -signal.SIGKILL:
                    raise InvariantError(f"fides run exited by itself ({rc}):\n{self.last_log()}")
            else:
                script = [str(CHILD)] if fault and fault.startswith("tmp:") else ["-m", "fides.cli"]
                cmd = [sys.executable, *script, "process", "--root", str(self.root)]
                rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(fault),
                                    timeout=timeout).returncode
        self.stats.runs += 1
        run = Run("run" if fault and fault.startswith("timer:") else "process", fault, rc, time.monotonic() - started)
        if rc not in (0, -signal.SIGKILL):
            raise InvariantError(f"fides crashed (exit {rc}) with fault {fault}:\n{self.last_log()}")
        return run

    def choose_fault(self, point: str, dropped: list[Drop]) -> str:
        rng = self.rng
        files = len(dropped)
        lines = sum(d.data.count(b"\n") for d in dropped)
        n = {"read": rng.randint(1, max(1, lines)), "write-arl": rng.randint(1, files),
             "write-b2": rng.randint(1, 2), "write-reports": rng.randint(1, 3),
             "written": rng.randint(1, files + 2), "hook": 1, "recover": rng.randint(1, 2),
             "tmp": rng.randint(1, files + 2), "timer": rng.randint(700, 2500)}.get(point, rng.randint(1, files))
        return f"{point}:{n}"

    # --- a cycle ----------------------------------------------------------------------------

    def cycle(self, index: int) -> list[Run]:
        """Drop, run with a fault, check, restart (sometimes faulted again), settle, check."""
        rng = self.rng
        # every point in turn for the first rounds, then at random
        point = POINTS[index % len(POINTS)] if index < 2 * len(POINTS) or rng.random() < 0.5 else rng.choice(POINTS)
        dropped = self.drop_mix(bill=point in ("write-b2", "write-reports"))
        if point == "recover":  # needs something unfinished: crash after a commit first
            first = self.run(f"committed:{rng.randint(1, max(1, len(dropped) // 2))}")
            self.check_anytime()
            runs = [first]
        else:
            runs = []
        fault = self.choose_fault(point, dropped)
        self.stats.tried[point] += 1
        run = self.run(fault)
        runs.append(run)
        if run.killed:
            self.stats.kills[point] += 1
        self.check_anytime()
        if run.killed and rng.random() < 0.3:  # crash again, during the restart
            again = rng.choice(("recover", "commit", "moved", "write-arl", "written", "read"))
            self.stats.tried[again] += 1
            run = self.run(self.choose_fault(again, dropped))
            runs.append(run)
            if run.killed:
                self.stats.kills[again] += 1
            self.check_anytime()
        if run.killed or run.mode == "run":
            runs.append(self.run())  # the clean restart
        self.check_settled()
        self.stats.cycles += 1
        return runs

    # --- invariants -------------------------------------------------------------------------

    def query(self, sql: str, *params):
        with psycopg.connect(self.db_url) as c:
            return c.execute(sql, params).fetchall()

    def check_anytime(self) -> None:
        """What must hold at any moment, even right after a SIGKILL."""
        problems: list[str] = []
        with psycopg.connect(self.db_url) as c:
            rows = c.execute("""SELECT id, name, flux, sha256, status, applied, duplicate_of, finished,
                                       destination, arl_text, lines_integrated, lines_refused
                                FROM flux_file ORDER BY id""").fetchall()
            pending = c.execute("SELECT path, file_id, staged FROM pending_output").fetchall()
            lots = c.execute("SELECT id, b2_file, invoices FROM lot").fetchall()
            db_problems = _database_problems(c)
        problems += db_problems
        by_name: dict[str, list[tuple]] = collections.defaultdict(list)
        by_arl: dict[str, list[tuple]] = collections.defaultdict(list)
        for r in rows:
            by_name[r[1]].append(r)
            by_arl[arl_mod.arl_name(r[1])].append(r)
            if r[4] == "EN_COURS":
                problems.append(f"{r[1]}: a committed row without its outcome")
        pending_paths = {p for p, _, _ in pending}
        pending_files = {f for _, f, _ in pending}
        staged = {name: p for p, _, name in pending if name}
        inbox = self.root / "in"
        for name, d in self.drops.items():
            named = by_name.get(name, [])
            if len(named) > 1:
                problems.append(f"{name}: {len(named)} flux_file rows (handled more than once)")
            if os.path.lexists(inbox / name):
                if any(r[7] for r in named):
                    problems.append(f"{name}: finished but still in in/")
            elif not named:
                problems.append(f"{name}: gone from in/ without a flux_file row (lost)")
            else:
                r = named[-1]
                where = self.root / r[8] / name
                if not (os.path.lexists(where) or os.path.lexists(f"{where}.fenc")):
                    problems.append(f"{name}: not in in/ nor in its destination {r[8]}")
        for r in rows:
            file_id, name, finished = r[0], r[1], r[7]
            arl_path = self.root / "out" / "arl" / arl_mod.arl_name(name)
            if finished:
                if file_id in pending_files:
                    problems.append(f"{name}: finished with outputs still pending")
                if not arl_path.exists():
                    problems.append(f"{name}: finished without its .arl")
        # every file under a final name is complete
        out = self.root / "out"
        temps = 0
        for path in sorted(p for p in self.root.rglob("*") if p.is_file() or p.is_symlink()):
            rel = path.relative_to(self.root)
            top = rel.parts[0]
            if top in ("in", "pgdata") or rel.name == "fides.toml":
                continue
            if path.name.startswith(TMP_PREFIX):
                temps += 1  # a kill's leftover: never under a final name, never read by anyone
                continue
            if top == "out" and rel.parts[1] == ".staging":
                if path.name not in staged:
                    temps += 1  # staged by a run that never committed: the next billing run removes it
                continue
            data = path.read_bytes()
            if top == "out" and rel.parts[1] == "arl":
                texts = [r[9].encode("utf-8", "replace") for r in by_arl.get(path.name, [])]
                if data not in texts:
                    problems.append(f"{rel}: .arl differs from flux_file.arl_text (or has no row)")
            elif top == "out" and rel.parts[1] == "b2":
                lot = next((l for l in lots if l[1] == path.name), None)
                if lot is None:
                    problems.append(f"{rel}: B2 file of no lot")
                    continue
                try:
                    read = b2.read(data)
                except b2.B2FormatError as exc:
                    problems.append(f"{rel}: incomplete B2 file ({exc})")
                    continue
                if sum(len(l.invoices) for l in read.lots) != lot[2]:
                    problems.append(f"{rel}: {sum(len(l.invoices) for l in read.lots)} invoices, lot says {lot[2]}")
            elif top == "out" and rel.parts[1] == "reports":
                problems += _report_problems(rel, data, by_name)
            elif top in ("archive", "rejected"):
                sealed = path.name.endswith(".fenc")  # archive encryption on: content not comparable
                named = by_name.get(path.name[:-5] if sealed else path.name, [])
                dest = str(rel.parent)
                match = [r for r in named if r[8] == dest]
                if not match:
                    problems.append(f"{rel}: in {top}/ without a flux_file row sending it there")
                elif match[0][3] and not sealed and sha256(data) != match[0][3]:
                    problems.append(f"{rel}: content differs from the hash recorded for it")
            else:
                problems.append(f"{rel}: unexpected file")
        for lot_id, b2_file, _ in lots:
            if not (out / "b2" / b2_file).exists() and f"out/b2/{b2_file}" not in pending_paths:
                problems.append(f"lot {lot_id}: B2 file {b2_file} neither written nor pending (lost)")
        for name, rel in staged.items():  # committed: its file is staged, or already in place
            if not (out / ".staging" / name).exists() and not (self.root / rel).exists():
                problems.append(f"{rel}: pending, staged as {name}, but neither staged nor written (lost)")
        self.stats.temp_leftovers = temps
        if problems:
            raise InvariantError("invariants broken:\n  " + "\n  ".join(problems[:40]) + f"\n--- last run ---\n{self.last_log()}")

    def check_settled(self) -> None:
        """After a clean run to the end: everything dropped is integrated once and acknowledged."""
        self.check_anytime()
        problems: list[str] = []
        rows = self.query("""SELECT id, name, flux, sha256, status, applied, duplicate_of, finished, destination
                             FROM flux_file ORDER BY id""")
        by_name = {r[1]: r for r in rows}
        if self.query("SELECT count(*) FROM pending_output")[0][0]:
            problems.append("outputs still pending after a clean run")
        for r in rows:
            if not r[7]:
                problems.append(f"{r[1]}: unfinished after a clean run")
        for name, d in self.drops.items():
            if os.path.lexists(self.root / "in" / name):
                problems.append(f"{name}: still in in/ after a clean run")
                continue
            r = by_name.get(name)
            if r is None:
                continue  # reported by check_anytime
            status, dest = r[4], r[8]
            if d.kind in ("good", "dup"):
                if status not in ("OK", "PARTIEL", "DOUBLON") or not dest.startswith("archive/"):
                    problems.append(f"{name}: {d.kind} file ended {status} in {dest}")
            elif d.kind == "bad":
                if status != "KO" or dest != "rejected":
                    problems.append(f"{name}: bad file ended {status} in {dest}")
            elif d.kind == "request":
                if status not in ("OK", "PARTIEL"):
                    problems.append(f"{name}: request ended {status}")
                if not (self.root / "out" / "reports" / f"{name}.arl").exists():
                    problems.append(f"{name}: request without its answer in out/reports")
        applied = collections.Counter(r[3] for r in rows if r[5])
        for sha, names in self.good_by_sha.items():
            if applied[sha] != 1:
                problems.append(f"content {sha[:12]} ({', '.join(names)}): applied {applied[sha]} times")
            for n in names:
                r = by_name.get(n)
                if r and r[4] == "DOUBLON":
                    target = next((x for x in rows if x[0] == r[6]), None)
                    if target is None or target[3] != sha or not target[5]:
                        problems.append(f"{n}: DOUBLON of a row that is not the applied one")
        # dossiers whose VIDHOSP and RSS were integrated were validated (a kill in the validation
        # sweep loses nothing); their titres were never given twice (checked by check_anytime)
        states = dict(self.query("SELECT nda, state FROM dossier"))
        for d in self.drops.values():
            if d.kind == "good" and d.flux == "RSS":
                for nda in d.ndas:
                    if states.get(nda) not in (1, 2):
                        problems.append(f"dossier {nda}: state {states.get(nda)} after VIDHOSP+RSS, expected VALIDE or FACTURE")
        b2_files = {p.name for p in (self.root / "out" / "b2").glob("*") if not p.name.startswith(".")} \
            if (self.root / "out" / "b2").exists() else set()
        lots = {r[0] for r in self.query("SELECT b2_file FROM lot")}
        if b2_files != lots:
            problems.append(f"B2 files {sorted(b2_files ^ lots)} without lot or lot without file")
        from fides import audit
        with psycopg.connect(self.db_url) as c:
            problems += [f"audit: {p}" for p in audit.verify(c)]
        if problems:
            raise InvariantError("settled invariants broken:\n  " + "\n  ".join(problems[:40])
                                 + f"\n--- last run ---\n{self.last_log()}")


def _database_problems(c: psycopg.Connection) -> list[str]:
    checks = {
        "titre given twice": "SELECT exercice, budget, numero FROM titre GROUP BY 1, 2, 3 HAVING count(*) > 1",
        "two active titres for a dossier": "SELECT dossier_id FROM titre WHERE cancelled_at IS NULL GROUP BY 1 HAVING count(*) > 1",
        "two current invoices for a dossier": "SELECT dossier_id FROM invoice WHERE current GROUP BY 1 HAVING count(*) > 1",
        "dossier twice": "SELECT finess, nda FROM dossier GROUP BY 1, 2 HAVING count(*) > 1",
        "FACTURE without current invoice": """SELECT id FROM dossier d WHERE state = 2 AND NOT EXISTS
            (SELECT 1 FROM invoice i WHERE i.dossier_id = d.id AND i.current)""",
        "current invoice of a dossier not billed": """SELECT d.id FROM dossier d JOIN invoice i ON i.dossier_id = d.id
            AND i.current WHERE d.state NOT IN (2, 3, 4)""",
        "lot count differs from its invoices": """SELECT l.id FROM lot l WHERE l.invoices <>
            (SELECT count(*) FROM invoice i WHERE i.lot_id = l.id)""",
        "content applied twice": "SELECT sha256 FROM flux_file WHERE applied GROUP BY 1 HAVING count(*) > 1",
        "dossier line of a file not applied": """SELECT l.file_id, l.line_no FROM dossier_line l LEFT JOIN flux_file f ON f.id = l.file_id
            WHERE f.id IS NULL OR NOT f.applied""",
        "lines integrated differ from lines stored": """SELECT f.name FROM flux_file f WHERE f.applied
            AND f.flux IN ('VIDHOSP', 'RSS', 'FICHCOMP')
            AND f.lines_integrated <> (SELECT count(*) FROM dossier_line l WHERE l.file_id = f.id)""",
        "two current lines of one part": """SELECT dossier_id, subtype FROM dossier_line WHERE current AND kind = 'VIDHOSP'
            GROUP BY 1, 2 HAVING count(*) > 1""",
    }
    problems = []
    for label, sql in checks.items():
        found = c.execute(sql).fetchall()
        if found:
            problems.append(f"{label}: {found[:5]}")
    return problems


def _report_problems(rel: Path, data: bytes, by_name: dict) -> list[str]:
    name = rel.name
    if name == "FACT_SYNT.TXT":
        ok = data.endswith(b"\r\n") and all(l.startswith(b"FAC;") for l in data.split(b"\r\n")[:-1])
        return [] if ok else [f"{rel}: incomplete FACT_SYNT.TXT"]
    if name.endswith(".zip"):  # EXTRACTEPMSI export (a request or the monthly job)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                bad = zf.testzip()
        except zipfile.BadZipFile as exc:
            return [f"{rel}: incomplete zip ({exc})"]
        return [f"{rel}: corrupt member {bad}"] if bad else []
    request = name[:-4] if name.endswith(".arl") else None
    rows = by_name.get(request or "", [])
    if not rows:
        return [f"{rel}: report of no committed request"]
    flux = rows[-1][2]
    lines = data.decode("utf-8").split("\n")
    if lines[-1] != "":
        return [f"{rel}: report does not end with a line break (incomplete)"]
    lines = lines[:-1]
    prefix = {"B2REQUEST": "DOS;", "STATEREQUEST": "ETAT;"}.get(flux)
    if prefix is None or any(not l.startswith(prefix) or l.count(";") != 8 for l in lines):
        return [f"{rel}: malformed {flux} answer"]
    if flux == "B2REQUEST" and len(lines) != rows[-1][10] + rows[-1][11]:
        return [f"{rel}: {len(lines)} DOS lines, the request row counts {rows[-1][10] + rows[-1][11]}"]
    return []


def make_database(server_url: str, name: str) -> str:
    """A fresh migrated database with the shipped referentials on `server_url`."""
    from fides.store import schema

    return schema.create_database(server_url, name)
