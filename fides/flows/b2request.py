"""B2REQUEST: bill the listed N° administratifs (or `*`, or an empty file: every VALIDE dossier)
and answer with the report `out/reports/<request name>.arl` (DESIGN.md §6)."""

from __future__ import annotations

from fides.billing.run import bill
from fides.flows import register
from fides.flows.base import FileJob, Flow, Outcome


def requested(lines: list[str]) -> list[str] | None:
    """None = every VALIDE dossier (a `*` line, or no N° at all)."""
    # A non-blank line with a blank N° stays in the list (reported as unknown): a malformed
    # request must never widen into "bill everything".
    ndas = [line[:20].strip() for line in lines if line.strip()]
    if not ndas or "*" in ndas:
        return None
    return list(dict.fromkeys(ndas))


def handle(job: FileJob) -> Outcome:
    lines = [text for _, text in job.read_lines()]
    result = bill(job.conn, job.config, job.context["refs"], job.tree, job.actor, job.now,
                  job.tree.reports / f"{job.name}.arl", requested(lines), job.file_id)
    return Outcome("OK", len(lines), result.generated, result.not_generated)


register(Flow("B2REQUEST", data=False, handle=handle))
