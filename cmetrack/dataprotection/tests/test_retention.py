"""Retention: only children past the retention age with no open case are anonymised."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.dataprotection.retention import (
    ANONYMISED,
    birthday,
    children_past_retention,
    latest_dob_past_retention,
    retention_anonymise,
)
from cmetrack.people.models import Address, Child, ParentCarer
from cmetrack.people.services import child_add_address, child_add_parent_carer
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
TODAY = dt.date(2026, 11, 25)


@pytest.mark.parametrize(
    ("dob", "years", "expected"),
    [
        (dt.date(2001, 11, 25), 25, dt.date(2026, 11, 25)),
        (dt.date(2000, 2, 29), 25, dt.date(2025, 3, 1)),
        (dt.date(2004, 2, 29), 20, dt.date(2024, 2, 29)),
    ],
)
def test_birthday(dob, years, expected):
    assert birthday(dob, years) == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [(dt.date(2026, 11, 25), dt.date(2001, 11, 25)), (dt.date(2028, 2, 29), dt.date(2003, 2, 28))],
)
def test_latest_dob_past_retention(today, expected):
    assert latest_dob_past_retention(today, 25) == expected


def make_child(key: str, dob: dt.date | None, case_states: list[str]) -> Child:
    child = ChildFactory.create(legal_given_names=f"Keep{key}", legal_family_name=f"Qv{key}",
                                dob=dob, upn=None)  # fmt: skip
    child_add_address(actor=SYSTEM, child=child, line1=f"{key} Road", postcode="AB1 2CD")
    child_add_parent_carer(actor=SYSTEM, child=child, given_names="Pat", family_name=f"Qv{key}",
                           relationship="mother", phone="07700900000")  # fmt: skip
    for state in case_states:
        CaseFactory.create(child=child, state=state, last_education_place=f"School of {key}")
    return child


@pytest.fixture
def children():
    return {
        # 25 today, only closed cases: eligible.
        "old_closed": make_child("oldclosed", dt.date(2001, 11, 25), [CaseState.CLOSED]),
        # 26, no case at all: eligible.
        "old_nocase": make_child("oldnocase", dt.date(2000, 6, 1), []),
        # Old enough, but a dormant case is still open: never touched.
        "old_dormant": make_child(
            "olddormant", dt.date(1999, 1, 1), [CaseState.CLOSED, CaseState.DORMANT]
        ),
        # 25 tomorrow: not yet.
        "young": make_child("young", dt.date(2001, 11, 26), [CaseState.CLOSED]),
        # Date of birth unknown: never anonymised automatically.
        "no_dob": make_child("nodob", None, [CaseState.CLOSED]),
    }


def test_children_past_retention(children):
    eligible = set(children_past_retention(TODAY).values_list("pk", flat=True))
    assert eligible == {children["old_closed"].pk, children["old_nocase"].pk}


def test_anonymise_only_eligible_children_in_one_audited_run(children):
    result = retention_anonymise(actor=SYSTEM, today=TODAY)
    assert result.children == 2
    for key in ("old_closed", "old_nocase"):
        child = Child.objects.get(pk=children[key].pk)
        assert child.legal_given_names == ANONYMISED
        assert child.legal_family_name == ANONYMISED
        assert child.dob is None
        assert not Address.objects.filter(child=child).exists()
        assert not ParentCarer.objects.filter(child=child).exists()
        for case in Case.objects.filter(child=child):
            assert case.last_education_place == ""
            assert case.state == CaseState.CLOSED  # statistics are kept
        event = AuditEvent.objects.get(child_id=child.pk, summary__startswith="Anonymised")
        assert event.action == AuditAction.UPDATE
        assert event.actor_label == "system: test"
    for key in ("old_dormant", "young", "no_dob"):
        child = Child.objects.get(pk=children[key].pk)
        assert child.legal_given_names.startswith("Keep")
        assert Address.objects.filter(child=child).count() == 1
        assert ParentCarer.objects.filter(child=child).count() == 1
        assert Case.objects.filter(child=child).exclude(last_education_place="").exists()
    assert AuditEvent.objects.filter(summary="Retention run: anonymised 2 children").count() == 1
    # A second run finds nothing more to do.
    assert retention_anonymise(actor=SYSTEM, today=TODAY).children == 0


def test_retention_age_is_a_setting(children, settings):
    settings.CMETRACK_RETENTION_AGE_YEARS = 30
    assert not children_past_retention(TODAY).exists()


def test_command_lists_then_needs_confirmation(children):
    out = StringIO()
    call_command("retention", "--list", stdout=out)
    listed = out.getvalue()
    assert f"child {children['old_closed'].pk}: reached 25" in listed
    assert f"child {children['old_dormant'].pk}:" not in listed
    assert "Keep" not in listed  # ids only, no names in logs
    with pytest.raises(CommandError, match="--confirm"):
        call_command("retention", "--anonymise")
    assert not Child.objects.filter(legal_given_names=ANONYMISED).exists()
    out = StringIO()
    call_command("retention", "--anonymise", "--confirm", stdout=out)
    assert "Anonymised" in out.getvalue()
    assert Child.objects.filter(pk=children["old_closed"].pk, legal_given_names=ANONYMISED).exists()
    dormant = Child.objects.get(pk=children["old_dormant"].pk)
    assert dormant.legal_given_names != ANONYMISED


def test_anonymise_is_all_or_nothing(children, monkeypatch):
    from cmetrack.dataprotection import retention

    calls = {"n": 0}
    real = retention.child_anonymise

    def fail_on_second(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(retention, "child_anonymise", fail_on_second)
    with pytest.raises(RuntimeError):
        retention_anonymise(actor=SYSTEM, today=TODAY)
    assert not Child.objects.filter(legal_given_names=ANONYMISED).exists()
    assert Address.objects.count() == 5


def test_anonymise_clears_documents_that_left_the_system(children):
    """Structured documents hold the child's details too (an enquiry's data set): they are
    emptied with the free text, and the enquiry row itself is kept for the figures."""
    from cmetrack.accounts.tests.factories import LocalAuthorityFactory
    from cmetrack.enquiries.models import OutgoingEnquiry

    def enquiry(child: Child) -> OutgoingEnquiry:
        return OutgoingEnquiry.objects.create(
            reference=f"ENQ-{child.pk}",
            case=Case.objects.filter(child=child).earliest("pk"),
            local_authority=LocalAuthorityFactory.create(),
            contact_name="Named Contact",
            reason_linked="Family said they were moving there",
            shared_items=["name", "dob"],
            shared={"child": {"name": child.legal_family_name, "dob": str(child.dob)}},
            sent_on=TODAY,
            reply_due_on=TODAY,
            remind_on=TODAY,
        )

    gone, kept = enquiry(children["old_closed"]), enquiry(children["young"])
    retention_anonymise(actor=SYSTEM, today=TODAY)
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert gone.shared == {}
    assert gone.shared_items == []
    assert gone.reason_linked != "Family said they were moving there"
    assert kept.shared["child"]["name"] == children["young"].legal_family_name
