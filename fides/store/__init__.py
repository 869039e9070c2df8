"""PostgreSQL storage: connection (embedded or external), schema, migrations, named queries."""
