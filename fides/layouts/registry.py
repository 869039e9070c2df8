"""Finding layouts: by name, by family, or by detection on a line of a flux."""

from __future__ import annotations

import functools

import threading

from fides.errors import Finding

from .codec import Layout
from .model import LayoutError, Spec, read_all

_lock = threading.Lock()
_specs: dict[str, Spec] | None = None
_compiled: dict[str, Layout] = {}
_dispatch: dict[str, tuple] = {}
_by_raw_key: dict[str, tuple[slice, dict[str, Layout]]] = {}  # flux -> (key, raw key text -> its only layout)


def _index() -> dict[str, Spec]:
    global _specs
    if _specs is None:
        with _lock:
            if _specs is None:
                _specs = {s.name: s for s in read_all()}
    return _specs


def names() -> list[str]:
    """Every described layout name, sorted."""
    return sorted(_index())


def load(name: str) -> Layout:
    """The compiled codec of one layout (compiled once, then shared)."""
    lay = _compiled.get(name)
    if lay is None:
        spec = _index().get(name)
        if spec is None:
            raise KeyError(f"unknown layout {name!r}")
        lay = _compiled.setdefault(name, Layout(spec))
    return lay


@functools.lru_cache(maxsize=None)
def family(name: str) -> dict[str, Layout]:
    """record -> Layout for one family ('b2' by record type, 'noemie' by entity, 'control' by
    flow, 'vidhosp' / 'rss' / 'ium' by version, 'fichcomp' by description). Cached: the same dict
    is returned to every caller, who must not modify it."""
    out = {s.record: load(s.name) for s in _index().values() if s.family == name}
    if not out:
        raise KeyError(f"unknown layout family {name!r}")
    return out


def _candidates(flux: str):
    """(key start, key length, {key value: [Layout]}) when every layout of the flux is selected
    by the same single key, else (None, None, [Layout])."""
    if flux not in _dispatch:
        specs = [s for s in _index().values() if s.flux == flux]
        if not specs:
            raise KeyError(f"unknown flux {flux!r}")
        keys = {(s.keys[0].start, s.keys[0].length) if len(s.keys) == 1 else None for s in specs}
        if len(keys) == 1 and None not in keys:
            start, length = keys.pop()
            table: dict[str, list[Layout]] = {}
            for s in specs:
                for v in s.keys[0].values:
                    table.setdefault(v, []).append(load(s.name))
            _dispatch[flux] = (start, length, table)
        else:
            _dispatch[flux] = (None, None, [load(s.name) for s in specs])
    return _dispatch[flux]


def _key_error(lay: Layout, line: str, line_no: int) -> Finding:
    k = lay.spec.keys[0]
    n, raw = len(line), line[k.start - 1 : k.start - 1 + k.length]
    if n < k.start - 1 + k.length:
        return Finding("FMT002", f"ligne de {n} caractères : trop courte pour lire les positions {k.start}-{k.start + k.length - 1}", line_no, 0)
    label = next((f.label for f in lay.fields if f.start == k.start and f.zone is None), "code")
    return Finding(k.unknown, f"{label} « {raw.rstrip()} » inconnu pour le flux {lay.flux} "
                   f"(positions {k.start}-{k.start + k.length - 1}, ligne de {n} caractères)", line_no, k.start)


def detect(flux: str, line: str, *, line_no: int = 0) -> Layout:
    """The layout of `flux` that fits `line`: its key (version, type, record) and its length.

    A known key with a wrong length still returns the layout, so that `check` can say precisely
    what is wrong; LayoutError (FMT001 / FMT011 unknown key, FMT002 length) when nothing fits."""
    known = _by_raw_key.get(flux)
    if known is not None and (lay := known[1].get(line[known[0]])) is not None:
        return lay  # the hot path: one slice, one lookup per line
    start, length, table = _candidates(flux)
    if start is not None:
        raw = line[start - 1 : start - 1 + length]
        cands = table.get(raw.rstrip(" "))
        if not cands:
            any_layout = next(iter(table.values()))[0]
            raise LayoutError([_key_error(any_layout, line, line_no)])
    else:
        cands = [lay for lay in table if all(line[k.start - 1 : k.start - 1 + k.length].rstrip(" ") in k.values for k in lay.spec.keys)]
        if not cands:
            keyed = [lay for lay in table if lay.spec.keys]
            raise LayoutError([_key_error(keyed[0], line, line_no)] if keyed else [])
    if len(cands) == 1 and cands[0].spec.keys:
        if start is not None:
            _by_raw_key.setdefault(flux, (slice(start - 1, start - 1 + length), {}))[1][raw] = cands[0]
        return cands[0]
    best = max(cands, key=lambda lay: (lay.fits(line), lay.spec.priority))
    if best.fits(line) == 0 and not best.spec.keys:
        lengths = sorted({lay.length for lay in cands})
        raise LayoutError([Finding("FMT002", f"ligne de {len(line)} caractères : aucun format {flux} de cette longueur "
                                   f"(longueurs connues : {', '.join(map(str, lengths))})", line_no, 0)])
    return best
