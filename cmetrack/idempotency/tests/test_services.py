"""submit_once: the first sending makes the record, a second one is told what it made."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.utils import timezone

from cmetrack.idempotency.models import Submission
from cmetrack.idempotency.services import (
    InvalidKey,
    KeyReused,
    Receipt,
    form_key,
    header_key,
    owner_of,
    repeat_message,
    submissions_purge,
    submit_once,
)
from cmetrack.idempotency.tokens import FIELD_NAME, new_token, token_input
from cmetrack.organisations.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


def _make(name: str) -> Organisation:
    return Organisation.objects.create(name=name, kind=OrganisationKind.AGENCY)


def _receipt(org: Organisation) -> Receipt:
    return Receipt(url=f"/org/{org.pk}/", reference=f"ORG-{org.pk}", object_ids=(org.pk,))


def test_the_same_token_twice_makes_one_record() -> None:
    token = new_token()
    calls = []

    def create() -> Organisation:
        calls.append(1)
        return _make("Housing")

    first = submit_once(key=token, owner="user:1", scope="t", create=create, receipt=_receipt)
    second = submit_once(key=token, owner="user:1", scope="t", create=create, receipt=_receipt)

    assert first.result is not None
    assert not first.repeated
    assert second.result is None
    assert second.repeated
    assert len(calls) == 1
    assert Organisation.objects.filter(name="Housing").count() == 1
    assert second.previous is not None
    assert second.previous.reference == f"ORG-{first.result.pk}"
    assert second.previous.result_url == f"/org/{first.result.pk}/"
    assert second.previous.object_ids == [first.result.pk]
    assert repeat_message(second.previous) == (
        f"This form was already sent: here is your reference ORG-{first.result.pk}."
    )


def test_no_token_means_no_protection() -> None:
    for _ in range(2):
        submit_once(
            key=None, owner="user:1", scope="t", create=lambda: _make("A"), receipt=_receipt
        )
    assert Organisation.objects.filter(name="A").count() == 2
    assert not Submission.objects.exists()


def test_a_refused_sending_keeps_nothing_so_the_corrected_form_can_be_sent() -> None:
    token = new_token()

    def refuse() -> Organisation:
        _make("Half made")
        raise ValidationError("Enter the child's name")

    with pytest.raises(ValidationError):
        submit_once(key=token, owner="user:1", scope="t", create=refuse, receipt=_receipt)
    assert not Submission.objects.exists()
    assert not Organisation.objects.filter(name="Half made").exists()

    done = submit_once(
        key=token, owner="user:1", scope="t", create=lambda: _make("Fixed"), receipt=_receipt
    )
    assert done.result is not None
    assert not done.repeated


def test_tokens_belong_to_their_owner_and_form() -> None:
    token = new_token()
    for owner, scope in [("user:1", "a"), ("user:2", "a"), ("user:1", "b"), ("public", "a")]:
        outcome = submit_once(
            key=token, owner=owner, scope=scope, create=lambda: _make("X"), receipt=_receipt
        )
        assert not outcome.repeated
    assert Organisation.objects.filter(name="X").count() == 4


def test_a_key_reused_for_another_request_is_refused() -> None:
    submit_once(
        key="k1", owner="user:1", scope="t", create=lambda: _make("A"), receipt=_receipt,
        fingerprint="aaa",
    )  # fmt: skip
    again = submit_once(
        key="k1", owner="user:1", scope="t", create=lambda: _make("A"), receipt=_receipt,
        fingerprint="aaa",
    )  # fmt: skip
    assert again.repeated
    with pytest.raises(KeyReused):
        submit_once(
            key="k1", owner="user:1", scope="t", create=lambda: _make("B"), receipt=_receipt,
            fingerprint="bbb",
        )  # fmt: skip
    assert Organisation.objects.filter(name__in=["A", "B"]).count() == 1


def test_token_field_and_keys() -> None:
    html = str(token_input())
    assert f'name="{FIELD_NAME}"' in html
    assert str(token_input()) != html  # fresh each time the form is shown
    rf = RequestFactory()
    assert form_key(rf.post("/", {FIELD_NAME: "abc"})) == "abc"
    assert form_key(rf.post("/", {FIELD_NAME: "bad token with spaces"})) is None
    assert form_key(rf.post("/", {})) is None
    assert header_key(rf.post("/")) is None
    assert header_key(rf.post("/", HTTP_IDEMPOTENCY_KEY='"8e03-47"')) == "8e03-47"
    with pytest.raises(InvalidKey):
        header_key(rf.post("/", HTTP_IDEMPOTENCY_KEY="x" * 200))
    with pytest.raises(InvalidKey):
        header_key(rf.post("/", HTTP_IDEMPOTENCY_KEY=""))


def test_owner(make_user: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    user = make_user()
    assert owner_of(user) == f"user:{user.pk}"
    assert owner_of(AnonymousUser()) == "public"
    assert owner_of(None) == "public"


def test_old_submissions_are_forgotten() -> None:
    old = Submission.objects.create(owner="public", scope="t", key="old")
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    Submission.objects.create(owner="public", scope="t", key="new")
    assert submissions_purge() == 1
    assert list(Submission.objects.values_list("key", flat=True)) == ["new"]


def test_the_daily_purge_is_scheduled() -> None:
    from cmetrack.idempotency.jobs import submissions_purge_old
    from cmetrack.jobs.registry import _SCHEDULES

    spec = _SCHEDULES["submissions-purge"]
    assert spec.func == "cmetrack.idempotency.jobs.submissions_purge_old"
    Submission.objects.create(owner="public", scope="t", key="k")
    Submission.objects.filter(key="k").update(created_at=timezone.now() - timedelta(days=40))
    assert submissions_purge_old() == 1
