"""A register's signature changes whenever its searchable rows do (the index is rebuilt)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cmetrack.detection.tests.factories import school
from cmetrack.registers.adapters import RollAdapter
from cmetrack.registers.models import RollEntry, RollSnapshot

pytestmark = pytest.mark.django_db


def _entry(snapshot: RollSnapshot, given: str) -> RollEntry:
    return RollEntry.objects.create(
        snapshot=snapshot, upn="A123456789012", legal_given_name=given,
        legal_family_name="Okafor", dob=dt.date(2014, 3, 1), sex="F",
    )  # fmt: skip


def test_a_roll_reimported_for_the_same_date_changes_the_signature() -> None:
    snapshot = RollSnapshot.objects.create(
        school=school(estab="2001"), taken_on=dt.date(2026, 10, 1)
    )
    _entry(snapshot, "Amara")
    before = RollAdapter().signature()
    # The same school and date imported again with a corrected name: the snapshot row is
    # kept, its entries replaced (detection.importers._roll).
    snapshot.entries.all().delete()
    _entry(snapshot, "Amarachi")
    snapshot.imported_at = timezone.now()
    snapshot.save(update_fields=["imported_at"])
    assert RollAdapter().signature() != before
