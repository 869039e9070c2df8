"""VIDHOSP, RSS and FICHCOMP: lines that create or replace parts of dossiers (DESIGN.md §3).

Each line is recognised (layout and version), checked field by field, and COPYed into a staging
table; a file with any format error keeps nothing. The staged lines are then merged set-based:
dossiers created in EN_COURS, lines of locked dossiers refused one by one (PARTIEL), the previous
version of the replaced part kept as history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from fides import dossiers
from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import Layout, LayoutError, detect
from fides.store import sql


@dataclass(frozen=True)
class Part:
    """Which part of a dossier a flow replaces, and where its key and dates are."""

    kind: str
    entry: str | None
    exit: str | None
    subtype: Callable[[Layout, str], str]
    per_subtype: bool  # FICHCOMP replaces only the lines of its own type
    single_line: bool  # one current line per dossier (VIDHOSP)
    touch: str


PARTS = {
    "VIDHOSP": Part("VIDHOSP", "date_entree", "date_sortie", lambda lay, line: lay.part(line),
                    False, True, sql.TOUCH_DOSSIERS_FROM_VIDHOSP),
    "RSS": Part("RSS", "date_entree_um", "date_sortie_um", lambda lay, line: "", False, False,
                sql.TOUCH_DOSSIERS_FROM_RSS),
    "FICHCOMP": Part("FICHCOMP", None, None, lambda lay, line: line[9:11], True, False, sql.TOUCH_DOSSIERS),
}


class _Slices:
    """Positions of the few fields the merge needs, per layout (cached)."""

    _cache: dict[str, dict[str, slice]] = {}

    @classmethod
    def of(cls, layout: Layout) -> dict[str, slice]:
        found = cls._cache.get(layout.name)
        if found is None:
            found = {f.name: slice(f.start - 1, f.start - 1 + f.length) for f in layout.fields
                     if getattr(f, "zone", None) in (None, "", "FIXED")}
            cls._cache[layout.name] = found
        return found


_ISO: dict[str, str] = {}
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\n": "\\n"})
_BATCH = 2000


def _iso(text: str) -> str:
    """JJMMAAAA (already checked) as COPY text for a date column; few distinct values: cached."""
    found = _ISO.get(text)
    if found is None:
        found = "\\N" if not text.strip() else dt.date(int(text[4:8]), int(text[2:4]), int(text[0:2])).isoformat()
        _ISO[text] = found
    return found


def _copy_text(value: str) -> str:
    return value.translate(_COPY_ESCAPE) if ("\\" in value or "\t" in value or "\r" in value) else value


def _stage(job: FileJob, part: Part) -> tuple[int, int]:
    """Check every line and stage the good ones; returns (lines read, lines staged)."""
    finess = job.config.finess
    refs = job.context.get("codes")
    read = staged = 0
    job.conn.execute(sql.CREATE_STAGE)
    rows: list[str] = []
    with job.conn.cursor().copy(sql.COPY_STAGE) as copy:
        for line_no, text in job.read_lines():
            read += 1
            try:
                layout = detect(part.kind, text)
            except LayoutError as exc:
                job.findings.extend(_at(exc.findings, line_no))
                continue
            findings = layout.check(text, refs, line_no)
            job.findings.extend(findings)
            if any(f.blocking for f in findings):
                continue
            if any(f.code == "FMT102" for f in findings):  # right-trimmed by an editor: store it whole
                text = layout.render(layout.parse(text))
            cut = _Slices.of(layout)
            line_finess = text[cut["finess_epmsi"]].strip() if "finess_epmsi" in cut else job.name_finess
            if line_finess != finess:
                job.findings.add(Finding("FMT013", f"{line_finess or 'absent'} au lieu de {finess}", line_no,
                                         cut["finess_epmsi"].start + 1 if "finess_epmsi" in cut else 0))
                continue
            nda = text[cut["num_admin_sejour"]].strip()
            if not nda:
                job.findings.add(Finding("FMT012", "", line_no, cut["num_admin_sejour"].start + 1))
                continue
            entry = _iso(text[cut[part.entry]]) if part.entry else "\\N"
            exit_ = _iso(text[cut[part.exit]]) if part.exit else "\\N"
            rows.append(f"{line_no}\t{finess}\t{_copy_text(nda)}\t{_copy_text(part.subtype(layout, text))}\t"
                        f"{layout.name}\t{line_no}\t{entry}\t{exit_}\t{_copy_text(text)}\n")
            staged += 1
            if len(rows) >= _BATCH:
                copy.write("".join(rows))
                rows.clear()
        if rows:
            copy.write("".join(rows))
    return read, staged


def _at(findings, line_no: int) -> list[Finding]:
    return [Finding(f.code, f.message, line_no, f.position) for f in findings]


def _merge(job: FileJob, part: Part) -> int:
    """Apply the staged lines; returns the number of lines refused (locked dossiers)."""
    conn = job.conn
    created = [r[0] for r in conn.execute(sql.CREATE_DOSSIERS, {"at": job.now}).fetchall()]
    dossiers.record_created(conn, created, dossiers.Cause(job.actor, job.file_id, None, job.name), job.now)
    conn.execute(sql.BIND_STAGE)
    refused = conn.execute(sql.LOCKED_STAGE_LINES).fetchall()
    for line_no, nda, state in refused:
        job.findings.add(Finding("DOS001", f"dossier {nda} à l'état {dossiers.STATE_NAMES[state]}", line_no))
    scope = "AND dl.subtype = s.subtype" if part.per_subtype else ""
    conn.execute(sql.RETIRE_LINES.format(scope=scope), {"at": job.now, "kind": part.kind})
    conn.execute(sql.INSERT_LINES, {"kind": part.kind, "file_id": job.file_id, "single": part.single_line})
    conn.execute(part.touch, {"at": job.now})
    return len(refused)


def _handler(part: Part) -> Callable[[FileJob], Outcome]:
    def handle(job: FileJob) -> Outcome:
        read, staged = _stage(job, part)
        if read == 0:
            job.findings.add(Finding("FIC001"))
        if read == 0 or job.findings.blocking:
            return Outcome("KO", read, 0, read)
        refused = _merge(job, part)
        return Outcome("PARTIEL" if refused else "OK", read, staged - refused, refused)

    return handle


for _name, _part in PARTS.items():
    register(Flow(_name, data=True, handle=_handler(_part)))
