"""Two officers triage one referral at the same moment: one wins, the other is told it has
already been triaged, and there is one case."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import OperationalError, connection

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.referrals.models import Referral, ReferralStatus
from cmetrack.referrals.services import TriageNotAllowed, referral_record, referral_triage

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_officers_triaging_at_once_cannot_both_win(make_user: Any) -> None:
    referral = referral_record(
        actor=Actor.system("t"), route=ReferralRoute.AGENCY, given_names="Ola",
        family_name="Kowalska", reason="r",
    )  # fmt: skip
    officers = [make_user(Role.CME_OFFICER), make_user(Role.CME_OFFICER)]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def work(officer: Any) -> None:
        stale = Referral.objects.get(pk=referral.pk)  # both read it as "received"
        start.wait()
        try:
            referral_triage(actor=Actor(user=officer), referral=stale)
            outcomes.append("won")
        except TriageNotAllowed as exc:
            outcomes.append(str(exc))
        except OperationalError:  # SQLite refuses a second writer instead of waiting
            outcomes.append("refused by the database")
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(o,)) for o in officers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes)[-1] == "won"
    assert outcomes.count("won") == 1
    loser = next(o for o in outcomes if o != "won")
    if connection.vendor == "postgresql":  # the second waits for the row lock, then reads
        assert "already been triaged" in loser
    else:
        assert "already been triaged" in loser or loser == "refused by the database"
    assert Case.objects.count() == 1
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.LINKED
