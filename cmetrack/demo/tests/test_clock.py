"""The demo's controlled clock moves "now" for the services and the models' defaults."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor, audit_record
from cmetrack.demo.clock import DemoClock


def test_now_localdate_and_isinstance_follow_the_clock() -> None:
    with DemoClock() as clock:
        clock.set_day(dt.date(2024, 9, 12), hour=10, minute=30)
        now = timezone.now()
        assert timezone.localtime(now).replace(tzinfo=None) == dt.datetime(2024, 9, 12, 10, 30)
        assert timezone.localdate() == dt.date(2024, 9, 12) == clock.today()
        assert isinstance(now, timezone.datetime)  # type: ignore[attr-defined]
        clock.advance(days=1)
        assert timezone.localdate() == dt.date(2024, 9, 13)
    assert timezone.localdate() >= dt.date(2026, 1, 1)


def test_the_clock_never_runs_ahead_of_real_time() -> None:
    with DemoClock() as clock:
        clock.set_day(dt.date(2999, 1, 1))
        assert timezone.now() <= dt.datetime.now(dt.UTC)


@pytest.mark.django_db
def test_model_defaults_take_the_controlled_time() -> None:
    with DemoClock() as clock:
        clock.set_day(dt.date(2025, 3, 3))
        audit_record(actor=Actor.system("test"), action="view", summary="Then")
    event = AuditEvent.objects.get(summary="Then")
    assert timezone.localdate(event.at) == dt.date(2025, 3, 3)
