"""The audited path: every change records before/after; rows cannot be changed or deleted."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent, ImmutableAuditError
from cmetrack.audit.services import Actor, audit_record, audited_update, json_safe
from cmetrack.people.models import Child
from cmetrack.people.services import child_create, child_update
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(make_user):
    return Actor(user=make_user(Role.CME_OFFICER), ip_address="192.0.2.10")


def test_create_records_who_where_and_initial_values(actor):
    child = child_create(
        actor=actor, legal_given_names="Amira", legal_family_name="Haddad", sex="F"
    )
    event = AuditEvent.objects.get(object_type="people.child", object_id=str(child.pk))
    assert event.action == AuditAction.CREATE
    assert event.actor == actor.user
    assert event.actor_label == actor.user.email
    assert event.ip_address == "192.0.2.10"
    assert event.child_id == child.pk
    assert event.changes["after"]["legal_family_name"] == "Haddad"


def test_update_records_only_changed_fields_before_and_after(actor):
    child = ChildFactory.create(legal_family_name="Smith", first_language="English")
    child_update(actor=actor, child=child, legal_family_name="Smyth", first_language="English")
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, child_id=child.pk)
    assert event.changes == {
        "before": {"legal_family_name": "Smith"},
        "after": {"legal_family_name": "Smyth"},
    }
    child.refresh_from_db()
    assert child.legal_family_name == "Smyth"


def test_update_with_no_real_change_writes_nothing(actor):
    child = ChildFactory.create(legal_family_name="Smith")
    child_update(actor=actor, child=child, legal_family_name="Smith")
    assert not AuditEvent.objects.filter(child_id=child.pk).exists()


def test_unknown_field_is_refused_before_anything_is_written(actor):
    child = ChildFactory.create()
    with pytest.raises(ValueError, match="Unknown fields"):
        audited_update(actor=actor, instance=child, changes={"nickname": "Bob"})
    assert not AuditEvent.objects.exists()


def test_invalid_change_is_not_saved_and_not_audited(actor):
    child = ChildFactory.create(upn=None)
    with pytest.raises(ValidationError):
        child_update(actor=actor, child=child, upn="A123456789001")  # check letter should be Y
    assert Child.objects.get(pk=child.pk).upn is None
    assert not AuditEvent.objects.filter(child_id=child.pk).exists()


def test_replaced_upn_is_kept_as_former_upn(actor):
    child = ChildFactory.create(upn="G80120000101A")  # temporary
    child_update(actor=actor, child=child, upn="H801200001001")
    assert list(child.former_upns.values_list("upn", flat=True)) == ["G80120000101A"]


def test_audit_rows_cannot_be_changed_or_deleted_through_the_app(actor):
    event = audit_record(actor=actor, action=AuditAction.EXPORT, summary="Exported a list")
    event.summary = "Nothing to see"
    with pytest.raises(ImmutableAuditError):
        event.save()
    with pytest.raises(ImmutableAuditError):
        event.delete()
    with pytest.raises(ImmutableAuditError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="x")
    with pytest.raises(ImmutableAuditError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.summary == "Exported a list"


def test_database_refuses_update_of_audit_rows(actor):
    event = audit_record(actor=actor, action=AuditAction.EXPORT, summary="Exported a list")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET summary = %s WHERE id = %s", ["x", event.pk])
    event.refresh_from_db()
    assert event.summary == "Exported a list"


def test_delete_of_audit_rows_is_refused(actor):
    """PostgreSQL refuses DELETE in the database; on SQLite the application guard does
    (its test runner clears tables with DELETE; see ADR 0004)."""
    event = audit_record(actor=actor, action=AuditAction.EXPORT, summary="Exported a list")
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    else:
        with pytest.raises(ImmutableAuditError):
            AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_change_and_audit_row_are_one_transaction(actor, monkeypatch):
    """If writing the audit row fails, the change is rolled back too."""
    child = ChildFactory.create(legal_family_name="Smith")

    def broken(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("cmetrack.audit.services.audit_record", broken)
    with pytest.raises(RuntimeError):
        child_update(actor=actor, child=child, legal_family_name="Smyth")
    child.refresh_from_db()
    assert child.legal_family_name == "Smith"


def test_audit_row_read_back_is_the_row_written(actor):
    """audit_record writes with its own INSERT statement (not the ORM's save): the row the
    database holds is the one the ORM would have written, field for field."""
    changes = {"fields": ["given_names", "dob"], "shown": ["children:7"], "n": 2, "x": None}
    event = audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        object_type="matching.search",
        object_id=12,
        child_id=34,
        summary="Searched for a child (1 possible match shown)",
        changes=changes,
    )
    assert event.pk is not None
    assert not event._state.adding
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.pk == AuditEvent.objects.latest("id").pk
    for name in ("at", "actor_id", "actor_label", "ip_address", "action", "object_type"):
        assert getattr(stored, name) == getattr(event, name), name
    assert (stored.object_id, stored.child_id) == ("12", 34)
    assert stored.summary == "Searched for a child (1 possible match shown)"
    assert stored.changes == changes
    assert stored.actor == actor.user
    assert stored.ip_address == "192.0.2.10"
    second = audit_record(actor=actor, action=AuditAction.VIEW, summary="again")
    assert second.pk > event.pk


def test_audit_row_goes_with_its_transaction(actor):
    """Inside a transaction that is rolled back, the audit row is rolled back with it."""
    before = AuditEvent.objects.count()

    def change_that_fails() -> None:
        with transaction.atomic():
            audit_record(actor=actor, action=AuditAction.EXPORT, summary="Exported a list")
            assert AuditEvent.objects.count() == before + 1
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert AuditEvent.objects.count() == before


def test_system_actor_is_labelled():
    event = audit_record(actor=Actor.system("nightly import"), action=AuditAction.CREATE)
    assert event.actor is None
    assert event.actor_label == "system: nightly import"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("x", "x"),
        (3, 3),
        ({"a": {1, 2} - {1}}, {"a": [2]}),
        (__import__("datetime").date(2026, 1, 31), "2026-01-31"),
        (__import__("decimal").Decimal("1.50"), "1.50"),
    ],
)
def test_json_safe(value, expected):
    assert json_safe(value) == expected
