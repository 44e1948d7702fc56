from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_q.models import Schedule  # type: ignore[import-untyped]

from cmetrack.jobs import registry
from cmetrack.jobs.registry import register_schedule, scheduled, sync_schedules

pytestmark = pytest.mark.django_db


@pytest.fixture
def only_test_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry holds just what the test registers (the apps' own are put back after)."""
    monkeypatch.setattr(registry, "_SCHEDULES", {})
    Schedule.objects.all().delete()
    return


def test_register_rejects_unclear_schedules() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        register_schedule("x", "cmetrack.jobs.tasks.on_weekdays")
    with pytest.raises(ValueError, match="exactly one"):
        register_schedule("x", "cmetrack.jobs.tasks.on_weekdays", minutes=5, daily_at=dt.time(6, 0))
    with pytest.raises(ValueError, match="weekdays_only needs daily_at"):
        register_schedule("x", "cmetrack.jobs.tasks.on_weekdays", minutes=5, weekdays_only=True)
    with pytest.raises(ValueError, match="dotted path in cmetrack"):
        register_schedule("x", "os.getcwd", minutes=5)


def test_sync_creates_updates_and_removes_stale_rows(only_test_schedules: None) -> None:
    now = timezone.make_aware(dt.datetime(2026, 3, 2, 9, 30))  # a Monday, local time
    register_schedule("tick", "cmetrack.jobs.tests.test_registry.noop", minutes=10)
    register_schedule("morning", "cmetrack.jobs.tests.test_registry.noop", daily_at=dt.time(6))
    register_schedule(
        "weekday-evening",
        "cmetrack.jobs.tests.test_registry.noop",
        daily_at=dt.time(18, 15),
        weekdays_only=True,
    )
    Schedule.objects.create(name="someone-else", func="math.sqrt", args="4")
    assert [s.name for s in scheduled()] == ["morning", "tick", "weekday-evening"]

    assert sync_schedules(now=now) == {"created": 3, "updated": 0, "removed": 0, "unchanged": 0}
    rows = {s.name: s for s in Schedule.objects.all()}
    assert rows["tick"].schedule_type == Schedule.MINUTES
    assert rows["tick"].minutes == 10
    assert rows["tick"].next_run == now  # a repeating job runs soon after start
    # 06:00 has passed on the 2nd: tomorrow, local time.
    assert timezone.localtime(rows["morning"].next_run) == timezone.make_aware(
        dt.datetime(2026, 3, 3, 6, 0)
    )
    evening = rows["weekday-evening"]
    assert evening.func == "cmetrack.jobs.tasks.on_weekdays"
    assert evening.args == "'cmetrack.jobs.tests.test_registry.noop'"
    assert timezone.localtime(evening.next_run).time() == dt.time(18, 15)

    # Again: nothing changes, and next_run is kept (a restart neither reruns nor skips).
    Schedule.objects.filter(name="tick").update(next_run=now + dt.timedelta(minutes=7))
    later = now + dt.timedelta(hours=3)
    assert sync_schedules(now=later) == {"created": 0, "updated": 0, "removed": 0, "unchanged": 3}
    assert Schedule.objects.get(name="tick").next_run == now + dt.timedelta(minutes=7)

    # Changed and dropped schedules follow the code; others' rows are left alone.
    register_schedule("tick", "cmetrack.jobs.tests.test_registry.noop", minutes=5)
    registry.unregister_schedule("morning")
    assert sync_schedules(now=later) == {"created": 0, "updated": 1, "removed": 1, "unchanged": 1}
    assert Schedule.objects.get(name="tick").minutes == 5
    assert Schedule.objects.get(name="tick").next_run == later
    assert set(Schedule.objects.values_list("name", flat=True)) == {
        "tick",
        "weekday-evening",
        "someone-else",
    }


def test_sync_removes_duplicate_rows(only_test_schedules: None) -> None:
    register_schedule("tick", "cmetrack.jobs.tests.test_registry.noop", minutes=10)
    sync_schedules()
    Schedule.objects.create(
        name="tick", func="cmetrack.jobs.tests.test_registry.noop", schedule_type="I", minutes=10
    )
    assert sync_schedules()["removed"] == 1
    assert Schedule.objects.filter(name="tick").count() == 1


def test_a_helper_registers_through_the_registry(only_test_schedules: None) -> None:
    # As helper C does for the search index.
    register_schedule(
        "matching-index-refresh", "cmetrack.matching.jobs.refresh_indexes", minutes=10
    )
    sync_schedules()
    row = Schedule.objects.get(name="matching-index-refresh")
    assert (row.func, row.schedule_type, row.minutes) == (
        "cmetrack.matching.jobs.refresh_indexes",
        Schedule.MINUTES,
        10,
    )


def test_migrate_left_every_registered_schedule_in_place() -> None:
    # post_migrate ran sync_schedules when the test database was built.
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {spec.name for spec in scheduled()} <= names


def noop() -> str:
    return "ran"
