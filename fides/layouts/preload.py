"""Imported by the helpers' fork server (fides.helpers): every layout is read and compiled there,
once, and each helper it forks starts with them instead of reading the descriptions again (37 ms
of a helper's start, measured)."""

from fides.layouts import registry

for _name in registry.names():
    registry.load(_name)
