"""kit.db: many rows inserted or updated by one statement run for them all."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmetrack.kit.db import insert_many, update_fields_many
from cmetrack.organisations.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


def test_insert_many_writes_every_row_with_its_fields() -> None:
    rows = [
        Organisation(kind=OrganisationKind.AGENCY, name=f"Agency {n}", postcode=f"ME{n} 1AA")
        for n in range(3)
    ]
    insert_many(rows)
    saved = Organisation.objects.filter(name__startswith="Agency ").order_by("name")
    assert [(o.name, o.postcode, o.is_active) for o in saved] == [
        ("Agency 0", "ME0 1AA", True),
        ("Agency 1", "ME1 1AA", True),
        ("Agency 2", "ME2 1AA", True),
    ]


def test_update_fields_many_writes_only_the_named_fields_of_each_row() -> None:
    insert_many([Organisation(kind=OrganisationKind.AGENCY, name=f"Old {n}") for n in range(3)])
    rows = list(Organisation.objects.filter(name__startswith="Old ").order_by("name"))
    for n, org in enumerate(rows):
        org.name = f"New {n}"
        org.is_active = False  # changed in memory, not named: must not be written
    with CaptureQueriesContext(connection) as queries:
        update_fields_many(rows, ["name"])
    assert len(queries) == 1
    fresh = Organisation.objects.filter(pk__in=[o.pk for o in rows]).order_by("name")
    assert [(o.name, o.is_active) for o in fresh] == [
        ("New 0", True),
        ("New 1", True),
        ("New 2", True),
    ]


def test_nothing_to_write_runs_no_statement() -> None:
    with CaptureQueriesContext(connection) as queries:
        insert_many([])
        update_fields_many([], ["name"])
    assert len(queries) == 0
