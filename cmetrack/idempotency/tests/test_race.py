"""Two sendings of one form at the same moment make one record: the unique constraint
decides, and the loser is told the winner's result.

Runs on PostgreSQL only: the suite's SQLite database is in memory, one connection that
threads cannot share, so two real transactions cannot race there (on a file-backed SQLite
the database lets one writer in at a time, which serialises the sendings anyway).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection

from cmetrack.idempotency.models import Submission
from cmetrack.idempotency.services import Outcome, Receipt, submit_once
from cmetrack.idempotency.tokens import new_token
from cmetrack.organisations.models import Organisation, OrganisationKind

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'",
        reason="needs two real transactions at once: the suite's SQLite is one in-memory "
        "connection",
    ),
]


def race(count: int, work: Any) -> list[Any]:
    """Run ``work()`` in ``count`` threads released together; their results or errors."""
    start = threading.Barrier(count)
    results: list[Any] = []

    def run() -> None:
        try:
            start.wait()
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_sendings_at_once_make_one_record() -> None:
    token = new_token()

    def create() -> Organisation:
        org = Organisation.objects.create(name="Raced", kind=OrganisationKind.AGENCY)
        time.sleep(0.3)  # hold the transaction open: the other sending arrives meanwhile
        return org

    def work() -> Outcome[Organisation]:
        return submit_once(
            key=token,
            owner="user:7",
            scope="race",
            create=create,
            receipt=lambda org: Receipt(url=f"/o/{org.pk}/", reference=f"O-{org.pk}"),
        )

    outcomes = race(2, work)

    assert all(isinstance(o, Outcome) for o in outcomes), outcomes
    winners = [o for o in outcomes if not o.repeated]
    losers = [o for o in outcomes if o.repeated]
    assert len(winners) == 1
    assert len(losers) == 1
    made = Organisation.objects.get(name="Raced")
    assert winners[0].result.pk == made.pk
    assert losers[0].previous.reference == f"O-{made.pk}"
    assert Submission.objects.count() == 1
