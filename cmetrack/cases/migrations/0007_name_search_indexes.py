"""Indexes for the work queues' name search (``cases.selectors.search_cases``).

The search asks for children whose family name, first given name or alias starts with each
word typed, ignoring case: ``UPPER(name::text) LIKE UPPER('word%')`` on PostgreSQL. These
expression indexes (``text_pattern_ops``, so a prefix LIKE can use them under any collation)
answer that without reading every child. They live on the people app's tables but exist
for the case queues, so they are created here. PostgreSQL only: SQLite's LIKE is already
case-insensitive for ASCII and a small authority's SQLite file is scanned quickly.
"""

from django.db import migrations

INDEXES = [
    ("child_family_name_prefix", "people_child", "legal_family_name"),
    ("child_given_names_prefix", "people_child", "legal_given_names"),
    ("alias_family_name_prefix", "people_childalias", "family_name"),
    ("alias_given_names_prefix", "people_childalias", "given_names"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'(UPPER("{column}"::text) text_pattern_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_waiting_since_index"),
        ("people", "0002_restricted_address_access"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
