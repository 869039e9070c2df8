"""Flat-file layouts as data: interfaces/**/*.xml compiled into record codecs.

    from fides.layouts import load, family, detect, Layout, LayoutError
    lay = load("vidhosp_V015")
    rec = lay.parse(line)            # dict: fixed fields by name, each zone name -> list[dict]
    lay.render(rec) == line          # byte for byte
    lay.keyword_renderer(none)(**values)  # render of a flat layout, compiled: a field is a keyword
    lay.check(line, refs, line_no)   # list[fides.errors.Finding]
    detect("FICHCOMP", line)         # the layout that fits the line

Lines are `str` decoded as latin-1, without their terminator. render(parse(line)) == line for every
line of full length; a right-trimmed line (only space-padded fields missing, FMT102) is parsed as
if padded and renders padded. NOEMIE entities and control-flow lines may stop early: their missing
trailing fields parse as None and render(parse(line)) gives the short line back.

parse is lenient: a value that does not convert (non-digit, false date, 'X' placeholder) stays its
raw text, so use `check` to validate. `refs` maps a referential table name to its codes; compiled
lookups are cached for the last mapping object seen, so pass the same one for a whole file.
AAMMJJ (D6) years up to today + 20 are read as 20xx, the others as 19xx.
"""

from .codec import Layout, Record
from .model import Field, LayoutError, Zone
from .registry import detect, family, load, names

__all__ = ["Field", "Layout", "LayoutError", "Record", "Zone", "detect", "family", "load", "names"]
