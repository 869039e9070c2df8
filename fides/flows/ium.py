"""IUM: the UM authorisation file, loading UM -> FINESS géographique with dates d'effet.

The file is the establishment's full list (as GENRSA exports it): a new file replaces the list,
the previous one is kept as history. Format errors reject the whole file.
"""

from __future__ import annotations

from fides.errors import Finding
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome
from fides.layouts import LayoutError, detect
from fides.store import sql


def handle(job: FileJob) -> Outcome:
    rows = []
    read = 0
    for line_no, text in job.read_lines():
        read += 1
        try:
            layout = detect("IUM", text)
        except LayoutError as exc:
            job.findings.extend(Finding(f.code, f.message, line_no, f.position) for f in exc.findings)
            continue
        findings = layout.check(text, job.context.get("codes"), line_no)
        job.findings.extend(findings)
        if any(f.blocking for f in findings):
            continue
        rec = layout.parse(text)
        rows.append((job.config.finess, rec["num_um"], rec["finess_geo"], rec["type_autorisation"],
                     rec["date_effet"], rec.get("mode_hospitalisation", ""), job.file_id))
    if read == 0:
        job.findings.add(Finding("FIC001"))
    if read == 0 or job.findings.blocking:
        return Outcome("KO", read, 0, read)
    job.conn.execute(sql.RETIRE_UMS, (job.config.finess,))
    with job.conn.cursor().copy(sql.COPY_UMS) as copy:
        for row in rows:
            copy.write_row(row)
    return Outcome("OK", read, len(rows), 0)


register(Flow("IUM", data=True, handle=handle))
