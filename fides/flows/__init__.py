"""The flows fides understands, one module each, registered in one table."""

from __future__ import annotations

from fides.flows.base import FileJob, Flow, Outcome

REGISTRY: dict[str, Flow] = {}


def register(flow: Flow) -> Flow:
    if flow.name in REGISTRY:
        raise ValueError(f"flow {flow.name} registered twice")
    REGISTRY[flow.name] = flow
    return flow


def by_content(head: bytes) -> Flow | None:
    for flow in REGISTRY.values():
        if flow.sniff and flow.sniff(head):
            return flow
    return None


def known_names() -> frozenset[str]:
    return frozenset(REGISTRY)


# The plug-in table: importing a module registers its flow.
from fides.flows import b2request, dossier_lines, ium  # noqa: E402,F401
from fides.returns import control, extract_epmsi, noemie, state_request  # noqa: E402,F401

__all__ = ["REGISTRY", "FileJob", "Flow", "Outcome", "register", "by_content", "known_names"]
