"""A controlled clock for building the demo's past through the real services.

Every service stamps what it writes with ``django.utils.timezone.now()`` (chronology entries,
state changes, audit rows, effective dates through ``timezone.localdate()``), and the model
fields' defaults call the same function. ``timezone.now()`` reads the name ``datetime`` from
its module each time it is called, so replacing that name for the length of a ``with
DemoClock()`` block moves "now" for all of them at once: no library, and nothing in the
services changes. Outside the block the real clock is back.

    with DemoClock() as clock:
        clock.set_day(dt.date(2024, 9, 12))   # 09:00 on that day, local time
        case_open(...)                         # stamped 12 September 2024
        clock.advance(minutes=20)

Only the demo builder uses it (a single thread, a management command).
"""

from __future__ import annotations

import datetime as dt
from types import TracebackType
from typing import Any

from django.utils import timezone as django_timezone

_REAL_DATETIME = dt.datetime


class _ControlledMeta(type):
    """isinstance(x, the controlled class) is isinstance(x, datetime): Django's
    ``template_localtime`` checks values against the module's ``datetime``."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, _REAL_DATETIME)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, _REAL_DATETIME)


class DemoClock:
    """While entered, ``timezone.now()`` answers :attr:`current` (aware, UTC)."""

    def __init__(self) -> None:
        self.current: dt.datetime = _REAL_DATETIME.now(dt.UTC)
        clock = self

        class ControlledDatetime(_REAL_DATETIME, metaclass=_ControlledMeta):
            @classmethod
            def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
                return clock.current.astimezone(tz) if tz else clock.current.replace(tzinfo=None)

        self._controlled = ControlledDatetime
        self._saved: Any = None

    def __enter__(self) -> DemoClock:
        self._saved = django_timezone.datetime  # type: ignore[attr-defined]
        django_timezone.datetime = self._controlled  # type: ignore[attr-defined]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        django_timezone.datetime = self._saved  # type: ignore[attr-defined]

    def set(self, moment: dt.datetime) -> None:
        """Move the clock to ``moment`` (aware), never later than the real time."""
        real = _REAL_DATETIME.now(dt.UTC)
        self.current = min(moment.astimezone(dt.UTC), real)

    def set_day(self, day: dt.date, hour: int = 9, minute: int = 0) -> None:
        """Move the clock to ``hour:minute`` local time on ``day``."""
        local = django_timezone.make_aware(_REAL_DATETIME.combine(day, dt.time(hour, minute)))
        self.set(local)

    def reset(self) -> None:
        """Back to the real time (still controlled: later ``set`` calls move it again)."""
        self.current = _REAL_DATETIME.now(dt.UTC)

    def advance(self, **delta: float) -> None:
        self.set(self.current + dt.timedelta(**delta))

    def today(self) -> dt.date:
        return django_timezone.localtime(self.current).date()
