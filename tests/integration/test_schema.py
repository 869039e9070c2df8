"""The migrated schema is exactly the declared one."""

from fides.store import schema


def test_migrations_produce_the_declared_models(db_url):
    assert schema.differences(db_url) == []


def test_upgrade_twice_is_harmless(db_url):
    schema.upgrade(db_url)
    assert schema.differences(db_url) == []
