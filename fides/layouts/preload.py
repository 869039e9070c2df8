"""Imported by the helpers' fork server (fides.helpers): every layout is read and compiled there,
once, and each helper it forks starts with them instead of reading the descriptions again (37 ms
of a helper's start, measured)."""

from fides.layouts import registry

try:
    for _name in registry.names():
        registry.load(_name)
except Exception:  # noqa: BLE001  a description in error: the server must still start; each helper
    pass  # then reads the descriptions itself and reports the error where it is used, as without preloading
