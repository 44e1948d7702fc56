"""kit.db: many rows inserted or updated by one statement run for them all."""

from __future__ import annotations

import datetime as dt

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


def test_a_value_shared_by_many_rows_is_prepared_once_and_written_to_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cmetrack.detection.models import Alert, AlertRule

    prepared: list[object] = []
    field = Alert._meta.get_field("evidence")
    original = type(field).get_db_prep_save

    def counted(self: object, value: object, connection: object) -> object:
        prepared.append(value)
        return original(self, value, connection)  # type: ignore[arg-type]

    monkeypatch.setattr(type(field), "get_db_prep_save", counted)
    when = dt.datetime(2025, 7, 21, 18, 0, tzinfo=dt.UTC)
    rows = [
        Alert(
            rule=AlertRule.ABSENCE_20 if n % 2 else AlertRule.ILLNESS_15,
            laestab="9992001",
            upn=f"A99920010000{n}",
            episode_start="2025-07-01",
            evidence={"sessions": n},
            detected_on=dt.date(2025, 7, 21),
            first_detected_at=when,
            last_detected_at=when,
            dob=dt.date(2014, 1, 1 + n),
        )
        for n in range(4)
    ]
    insert_many(rows)
    # A JSON document is prepared for each row (it is no plain value).
    assert prepared == [{"sessions": n} for n in range(4)]
    saved = Alert.objects.order_by("upn")
    assert [(a.rule, a.upn, a.evidence, a.dob, a.last_detected_at) for a in saved] == [
        (
            AlertRule.ABSENCE_20 if n % 2 else AlertRule.ILLNESS_15,
            f"A99920010000{n}",
            {"sessions": n},
            dt.date(2014, 1, 1 + n),
            when,
        )
        for n in range(4)
    ]


def test_plain_values_of_different_types_are_not_taken_for_each_other() -> None:
    rows = [
        Organisation(kind=OrganisationKind.AGENCY, name=name, is_active=active)
        for name, active in (("1", True), ("True", False), ("x", True))
    ]
    insert_many(rows)
    saved = Organisation.objects.filter(name__in=["1", "True", "x"]).order_by("name")
    assert [(o.name, o.is_active) for o in saved] == [("1", True), ("True", False), ("x", True)]
