"""Imported by the helpers' fork server (fides.helpers): the shipped referentials are read there
once, with their checksums, and each helper it forks whose database holds those very tables starts
with them (fides.store.referentials.read) instead of reading 15 500 rows back (0.12-0.16 s of
each validation or billing helper's start; 24 MB, 0.19 s once in the server)."""

from fides.store import referentials

try:
    referentials.preload()
except Exception:  # noqa: BLE001  unreadable shipped files: the server must still start (its death
    pass  # would fail every helper); each helper then reads the database, as without preloading
