"""Thin views: the work queues, the case page, its chronology and one page per action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.idempotency.services import Receipt, form_key, owner_of, submit_once

from .actions import ACTIONS, not_possible_now, perform
from .forms import QueueFilterForm
from .lifecycle import TransitionNotAllowed
from .models import Case
from .presenters import (
    QUEUE_SORTS,
    ActionPresenter,
    CasePresenter,
    QueuePresenter,
    chronology_rows,
)
from .selectors import (
    QUEUES,
    QueueFilters,
    UnknownQueue,
    cases_visible_to,
    chronology_for_case,
    home_visits_for_case,
    queue_page,
)
from .services import CaseVersionConflict

#: What the page says after each action (GOV.UK style: what happened, in the past tense).
DONE: dict[str, str] = {
    "start_slo_investigation": "Case sent to the School Liaison Officer.",
    "start_tracking": "Tracking started.",
    "record_slo_outcome": "The School Liaison Officer's decision was recorded.",
    "record_home_visit": "Home visit recorded.",
    "request_slo_visit": "Home visit asked of the School Liaison Officer.",
    "record_missing_from_care": "Missing from care recorded.",
    "advise_off_roll": "Off-roll date advised to the school.",
    "locate": "Where the child is was recorded.",
    "begin_needs_assessment": "Needs assessment started.",
    "determine_provision": "Form of provision recorded.",
    "move_into_provision": "Move into provision recorded.",
    "placement_failed": "Failed placement recorded: the case is awaiting provision again.",
    "close": "Case closed.",
    "make_dormant": "Case made dormant. Review it every month.",
    "reopen_tracking": "Tracking resumed.",
    "reopen": "A new episode was opened.",
    "assign": "Case assigned.",
    "record_circumstances": "Reason and circumstances recorded.",
    "correct_statutory_date": "Statutory date corrected.",
    "correct_state_date": "The date the move took effect was corrected.",
    "correct_route": "Route corrected.",
}

#: How many chronology entries the case page shows (the chronology page shows them all).
RECENT_CHRONOLOGY = 10


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _case_for(request: HttpRequest, case_id: int) -> Case:
    """The case, if the user may see it; 404 otherwise (out of scope looks like missing)."""
    try:
        return cases_visible_to(_user(request)).get(pk=case_id)
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc


def _audit_view(request: HttpRequest, case: Case, what: str) -> None:
    """A page showing the child's data: a ``view`` row, as for the child's record."""
    audit_record(
        actor=Actor.from_request(request),
        action=AuditAction.VIEW,
        obj=case.child,
        child_id=case.child_id,
        summary=f"Viewed {what} of {case.reference}",
    )


@login_required
def case_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = QueueFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    # An officer starts at their own cases; a manager, an SLO or others at all they may see.
    own_desk = user.has_role(Role.CME_OFFICER) and not user.has_role(Role.CME_MANAGER)
    name = request.GET.get("queue") or ("mine" if own_desk else "open")
    if name not in QUEUES:
        name = "open"
    filters = QueueFilters(
        state=data.get("state", ""),
        route=data.get("route", ""),
        officer=data.get("officer", ""),
        q=data.get("q", ""),
    )
    sort = request.GET.get("sort") or "oldest"
    if sort not in QUEUE_SORTS:
        sort = "oldest"
    try:
        page = queue_page(
            user, name, filters, after=data.get("after", ""), newest_first=sort == "newest"
        )
    except UnknownQueue as exc:
        raise Http404("No such queue") from exc
    presenter = QueuePresenter(name=name, page=page, filters=filters, sort=sort)
    return render(request, "cases/queue.jinja", {"presenter": presenter, "form": form})


@login_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    _audit_view(request, case, "the case")
    events = list(chronology_for_case(_user(request), case.pk).reverse()[:RECENT_CHRONOLOGY])
    presenter = CasePresenter(
        case=case,
        viewer=_user(request),
        chronology=events,
        home_visits=list(home_visits_for_case(case)),
    )
    return render(
        request,
        "cases/case_detail.jinja",
        {"presenter": presenter, "messages": messages.get_messages(request)},
    )


@login_required
def case_chronology(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case_for(request, case_id)
    _audit_view(request, case, "the chronology")
    rows = chronology_rows(chronology_for_case(_user(request), case.pk), _user(request))
    return render(request, "cases/chronology.jinja", {"case": case, "rows": rows})


def _receipt(case: Case) -> Receipt:
    """Where an action sent twice leads: the case it was done to (or the new episode)."""
    return Receipt(
        url=reverse("cases:case-detail", kwargs={"case_id": case.pk}),
        reference=case.reference,
        object_ids=(case.pk,),
    )


@login_required
def case_action(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    case = _case_for(request, case_id)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action")
    user = _user(request)
    if not spec.allowed_for(user, case):
        raise PermissionDenied("You cannot do this to this case.")
    form = spec.form_class(request.POST or None, case=case, actor_user=user)
    conflicted = False
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        try:
            # Sent twice (a double click, a resent page): the action is done once.
            outcome = submit_once(
                key=form_key(request),
                owner=owner_of(user),
                scope=f"cases.action.{spec.name}",
                create=lambda: perform(actor=actor, case=case, action=spec, form=form),
                receipt=lambda result: _receipt(result if isinstance(result, Case) else case),
            )
        except CaseVersionConflict as conflict:
            conflicted = True
            form.add_error(None, conflict.message)
            # Keep what they typed; let them resubmit against the case as it is now.
            data = request.POST.copy()
            data["expected_version"] = str(conflict.current_version)
            form.data = data
        except TransitionNotAllowed as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            if outcome.previous is not None:
                messages.info(
                    request,
                    f"This form was already sent: “{spec.title}” was done once, on case "
                    f"{outcome.previous.reference}. Nothing was saved a second time.",
                )
                return redirect(outcome.previous.result_url)
            result = outcome.result
            target = result if isinstance(result, Case) else case
            messages.success(request, DONE.get(spec.name, "Saved."))
            return redirect("cases:case-detail", case_id=target.pk)
    elif case.state not in spec.states:
        # Not a form with nothing to choose (closing a case still being tracked offered no
        # outcome): say why, and what comes first. (A valid form sent again after the move
        # was made is answered above, by its receipt or the version conflict.)
        _audit_view(request, case, f"why “{spec.title}” is not possible now")
        return render(
            request,
            "cases/action_not_possible.jinja",
            {"case": case, "action": spec, "why": not_possible_now(spec, case)},
        )
    else:
        _audit_view(request, case, f"the form “{spec.title}”")
    presenter = ActionPresenter(case=case, action=spec, form=form)
    status = 409 if conflicted else 200
    return render(request, "cases/action.jinja", {"presenter": presenter}, status=status)
