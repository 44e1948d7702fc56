"""Schedules: each app registers its own at the foot of its ``jobs`` module (loaded by
``CoreConfig.ready()``); the worker (at start)
and ``migrate`` (post_migrate) make django-q2's ``Schedule`` rows match.

    from cmetrack.jobs.registry import register_schedule

    register_schedule("matching-index-refresh", "cmetrack.matching.jobs.refresh_indexes",
                      minutes=10)
    register_schedule("followup-prompts", "cmetrack.casework.jobs.followup_prompts",
                      daily_at=datetime.time(6, 0))

``func`` is the dotted path of a plain function taking no arguments. Times are local
(``TIME_ZONE``, Europe/London; django-q2 keeps a daily time across clock changes).
Schedule rows whose function is in ``cmetrack`` belong to this registry: one not registered
any more is removed. Add schedules in code, not in the admin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule  # type: ignore[import-untyped]

#: Schedules whose function starts with this are ours (see :func:`sync_schedules`).
OWNED_PREFIX = "cmetrack."
#: Runs a weekdays-only job's function on Monday to Friday (local date).
WEEKDAYS_WRAPPER = "cmetrack.jobs.tasks.on_weekdays"


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    minutes: int | None = None
    daily_at: dt.time | None = None
    weekdays_only: bool = False

    @property
    def when(self) -> str:
        """In words, for the operations guide and the admin."""
        if self.minutes is not None:
            return f"every {self.minutes} minute{'s' if self.minutes != 1 else ''}"
        assert self.daily_at is not None
        days = "weekdays" if self.weekdays_only else "daily"
        return f"{days} at {self.daily_at:%H:%M}"


_SCHEDULES: dict[str, ScheduleSpec] = {}


def register_schedule(
    name: str,
    func: str,
    *,
    minutes: int | None = None,
    daily_at: dt.time | None = None,
    weekdays_only: bool = False,
) -> ScheduleSpec:
    """Run ``func`` every ``minutes`` or each day at ``daily_at`` (exactly one of them).

    Registering a name again replaces it (a module may be loaded again in tests).
    """
    if not name or len(name) > 100:
        raise ValueError("a schedule needs a name of at most 100 characters")
    if (minutes is None) == (daily_at is None):
        raise ValueError(f"schedule {name!r}: give exactly one of minutes= or daily_at=")
    if minutes is not None and not 1 <= minutes <= 32767:
        raise ValueError(f"schedule {name!r}: minutes must be between 1 and 32767")
    if weekdays_only and daily_at is None:
        raise ValueError(f"schedule {name!r}: weekdays_only needs daily_at=")
    if not func.startswith(OWNED_PREFIX) or "." not in func.removeprefix(OWNED_PREFIX):
        raise ValueError(f"schedule {name!r}: func must be a dotted path in cmetrack")
    spec = ScheduleSpec(name, func, minutes, daily_at, weekdays_only)
    _SCHEDULES[name] = spec
    return spec


def unregister_schedule(name: str) -> None:
    """Forget a schedule (tests); the next :func:`sync_schedules` removes its row."""
    _SCHEDULES.pop(name, None)


def scheduled() -> list[ScheduleSpec]:
    """Every registered schedule, by name."""
    return [_SCHEDULES[name] for name in sorted(_SCHEDULES)]


def check_functions() -> list[str]:
    """Problems with the registered functions (a path that does not import)."""
    problems = []
    for spec in scheduled():
        try:
            import_string(spec.func)
        except ImportError as exc:
            problems.append(f"{spec.name}: {spec.func} cannot be imported ({exc})")
    return problems


def _row_values(spec: ScheduleSpec) -> dict[str, Any]:

    if spec.minutes is not None:
        return {
            "func": spec.func,
            "args": None,
            "schedule_type": Schedule.MINUTES,
            "minutes": spec.minutes,
        }
    if spec.weekdays_only:
        return {
            "func": WEEKDAYS_WRAPPER,
            "args": repr(spec.func),
            "schedule_type": Schedule.DAILY,
            "minutes": None,
        }
    return {"func": spec.func, "args": None, "schedule_type": Schedule.DAILY, "minutes": None}


def first_run(spec: ScheduleSpec, now: dt.datetime | None = None) -> dt.datetime:
    """When a new (or changed) schedule first runs: at once for a repeating one, else the
    next ``daily_at`` (today if it is still to come)."""
    now = now or timezone.now()
    if spec.daily_at is None:
        return now
    local = timezone.localtime(now)
    at = timezone.make_aware(dt.datetime.combine(local.date(), spec.daily_at))
    if at <= now:
        at = timezone.make_aware(
            dt.datetime.combine(local.date() + dt.timedelta(days=1), spec.daily_at)
        )
    return at


def _on_time(spec: ScheduleSpec, next_run: dt.datetime | None) -> bool:
    if next_run is None:
        return False
    if spec.daily_at is None:
        return True
    local = timezone.localtime(next_run)
    return (local.hour, local.minute) == (spec.daily_at.hour, spec.daily_at.minute)


def sync_schedules(*, using: str = "default", now: dt.datetime | None = None) -> dict[str, int]:
    """Create, update and remove ``Schedule`` rows to match :func:`scheduled`. Idempotent.

    An unchanged schedule keeps its ``next_run`` (a restart does not run it again or skip
    it); a changed one starts again from :func:`first_run`. Returns the counts.
    """

    counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
    specs = {spec.name: spec for spec in scheduled()}
    with transaction.atomic(using=using):
        rows = Schedule.objects.using(using)
        for spec in specs.values():
            values = _row_values(spec)
            existing = list(rows.filter(name=spec.name).order_by("pk"))
            for extra in existing[1:]:
                extra.delete()
                counts["removed"] += 1
            if not existing:
                rows.create(name=spec.name, repeats=-1, next_run=first_run(spec, now), **values)
                counts["created"] += 1
                continue
            row = existing[0]
            same = all(getattr(row, key) == value for key, value in values.items())
            if same and row.repeats == -1 and row.cluster is None and _on_time(spec, row.next_run):
                counts["unchanged"] += 1
                continue
            for key, value in values.items():
                setattr(row, key, value)
            row.repeats = -1
            row.cluster = None
            if not (same and _on_time(spec, row.next_run)):
                row.next_run = first_run(spec, now)
            row.save()
            counts["updated"] += 1
        stale = rows.filter(func__startswith=OWNED_PREFIX).exclude(name__in=list(specs))
        counts["removed"] += stale.count()
        stale.delete()
    return counts
