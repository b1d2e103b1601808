"""PostgreSQL only: pg_trgm with a GIN index for catalog search, unaccent for mining.

Both are no-ops on SQLite, where search falls back to rapidfuzz in memory.
"""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

INDEX = "catalog_entity_search_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_entity USING gin (search_text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_kinds")]
    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(create_index, drop_index),
    ]
