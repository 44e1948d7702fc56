"""The public report's hourly limit holds across web processes: it is counted in the cache
they share (files under the var folder), not in each process's own memory."""

from __future__ import annotations

from typing import Any

from django.core.cache import caches

from cmetrack.referrals.public import count_report, limit_per_hour, over_limit


def test_the_limit_is_counted_where_every_process_sees_it(settings: Any) -> None:
    settings.CMETRACK_PUBLIC_REPORT_LIMIT = 3
    for _ in range(limit_per_hour()):
        assert not over_limit("192.0.2.7")
        count_report("192.0.2.7")
    assert over_limit("192.0.2.7")
    # Another gunicorn process starts with its own empty memory cache: still over the limit.
    caches["default"].clear()
    assert over_limit("192.0.2.7")
    # Other clients are counted on their own.
    assert not over_limit("192.0.2.8")
    # The count is in the shared cache, and only there.
    assert caches["shared"].get("referrals:public-report:192.0.2.7") == 3
