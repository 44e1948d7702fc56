"""Correcting the child's record from the case: details (names, date of birth, sex, UPN),
a new address (the previous one is ended, not overwritten) and parents or carers. Every
change goes through the people services, audited with the values before and after."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.models import Case
from cmetrack.kit.dates import govuk_date
from cmetrack.people import services as people
from cmetrack.people.models import ParentCarer
from cmetrack.people.selectors import addresses_for_display

from . import selectors
from .child_forms import AddressForm, ChildDetailsForm, ParentCarerForm
from .presenters import case_page_url, error_list


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        case = selectors.case_for_tracking(user=_user(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc
    if not selectors.may_record_tracking(_user(request), case):
        raise PermissionDenied("You cannot change this child's record.")
    return case


def _parent(case: Case, parent_id: str | None) -> ParentCarer | None:
    if not parent_id:
        return None
    try:
        return case.child.parents_carers.get(pk=int(parent_id))
    except (ValueError, ParentCarer.DoesNotExist) as exc:
        raise Http404("No such parent or carer") from exc


@login_required
def child_details(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    child = case.child
    actor = Actor.from_request(request)
    which = request.POST.get("form", "")
    parent = _parent(case, request.POST.get("parent_id") or request.GET.get("parent"))
    details = ChildDetailsForm.for_child(child, request.POST if which == "details" else None)
    address = AddressForm(request.POST if which == "address" else None)
    parent_form = ParentCarerForm(request.POST if which == "parent" else None, parent=parent)
    here = reverse("casework:child-details", args=[case.pk])
    if request.method == "POST":
        form: Any = {"details": details, "address": address, "parent": parent_form}.get(which)
        if form is None:
            raise Http404("No such form")
        if form.is_valid():
            try:
                done = _save(actor, case, which, form, parent)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, done)
                return HttpResponseRedirect(here)
    else:
        audit_record(
            actor=actor,
            action=AuditAction.VIEW,
            obj=child,
            child_id=child.pk,
            summary=f"Viewed the child's details to correct them, {case.reference}",
        )
    user = _user(request)
    addresses = [
        (
            str(a) if shown else "Restricted address (hidden)",
            govuk_date(a.date_from, "Not known"),
            govuk_date(a.date_to, "Now"),
        )
        for a, shown in addresses_for_display(user=user, child=child)
    ]
    bound = next((f for f in (details, address, parent_form) if f.is_bound), None)
    return render(
        request,
        "casework/child_details.jinja",
        {
            "case": case,
            "child": child,
            "case_url": case_page_url(case),
            "here": here,
            "details": details,
            "address": address,
            "parent_form": parent_form,
            "parent": parent,
            "addresses": addresses,
            "parents": list(child.parents_carers.all().order_by("id")),
            "aliases": list(child.aliases.all().order_by("id")),
            "former_upns": list(child.former_upns.all().order_by("recorded_at")),
            "errors": error_list(bound),
            "messages": messages.get_messages(request),
        },
        status=400 if bound is not None and bound.errors else 200,
    )


def _save(actor: Actor, case: Case, which: str, form: Any, parent: ParentCarer | None) -> str:
    child = case.child
    if which == "details":
        changes = form.changes(child)
        if not changes:
            return "Nothing was changed: the details are as recorded."
        people.child_details_correct(
            actor=actor, child=child, reason=form.cleaned_data["reason"], **changes
        )
        return (
            "The child's details were corrected. The previous values are kept in the audit trail."
        )
    if which == "address":
        people.child_address_record(actor=actor, child=child, **form.service_kwargs())
        return "New address recorded. The previous address is kept, with its end date."
    if parent is not None:
        people.child_parent_carer_correct(
            actor=actor, parent=parent, reason=form.cleaned_data["reason"], **form.service_kwargs()
        )
        return "Parent or carer corrected. The previous values are kept in the audit trail."
    people.child_parent_carer_record(actor=actor, child=child, **form.service_kwargs())
    return "Parent or carer added."
