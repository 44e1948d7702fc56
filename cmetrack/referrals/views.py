"""Thin views for the front door and triage: check the role, call a selector or a
service, build a presenter, render."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.services import Actor, client_ip
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.idempotency.services import (
    FIELD_NAME,
    Outcome,
    Receipt,
    form_key,
    owner_of,
    repeat_message,
    submit_once,
)
from cmetrack.matching.services import SearchNotReady
from cmetrack.people.selectors import children_visible_to

from . import public
from .forms import (
    NEW_CHILD,
    AgencyReferralForm,
    PublicReportForm,
    SchoolReferralForm,
    TriageForm,
    add_service_errors,
    check_forms,
    error_summary,
)
from .models import CheckKind, Referral, ReferralStatus
from .presenters import (
    AnswerSection,
    ReferralListPresenter,
    ReferralPresenter,
    TriagePresenter,
    agency_answers,
    public_answers,
    school_answers,
)
from .selectors import (
    TRIAGE_ROLES,
    may_triage,
    own_latest_roll,
    own_latest_snapshot,
    referral_get,
    referrals_visible_to,
    roll_search,
    triage_duplicates,
    triage_queue,
)
from .services import (
    UNDER_THRESHOLD_RULE,
    CheckInput,
    TriageNotAllowed,
    referral_agency_check,
    referral_agency_create,
    referral_link_to_child,
    referral_public_check,
    referral_public_create,
    referral_school_check,
    referral_school_create,
    referral_triage,
)

PER_PAGE = 25
REFERRER_ROLES = (Role.SCHOOL_USER, Role.AGENCY_USER)
View = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[View], View]:
    """Signed in (else sign in), and holding one of ``roles`` (else 403)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_role(*roles):  # type: ignore[union-attr]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _receipt(referral: Referral) -> Receipt:
    """What a person who sends the same referral form twice is shown: the first one."""
    return Receipt(
        url=reverse("referrals:submitted", kwargs={"reference": referral.reference}),
        reference=referral.reference,
        object_ids=(referral.pk,),
    )


def _send_once(
    request: HttpRequest, scope: str, create: Callable[[], Referral]
) -> Outcome[Referral]:
    """Make the referral unless this form (its one-time token) was already sent."""
    return submit_once(
        key=form_key(request),
        owner=owner_of(request.user),
        scope=scope,
        create=create,
        receipt=_receipt,
    )


def _sent(request: HttpRequest, outcome: Outcome[Referral]) -> HttpResponse:
    """To the acknowledgement: this referral's, or the first one's if sent twice."""
    if outcome.previous is not None:
        messages.info(request, repeat_message(outcome.previous))
        return redirect(outcome.previous.result_url)
    assert outcome.result is not None
    return redirect("referrals:submitted", reference=outcome.result.reference)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


# --- what a referrer sees -------------------------------------------------------------


@role_required(*REFERRER_ROLES, *TRIAGE_ROLES)
def referral_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    route = request.GET.get("route", "")
    qs = referrals_visible_to(user).order_by("-received_at", "-id")
    if route in ReferralRoute.values:
        qs = qs.filter(route=route)
    else:
        route = ""
    page = Paginator(qs, PER_PAGE).get_page(_page_number(request))
    presenter = ReferralListPresenter(
        page=page,
        show_off_roll=user.has_role(Role.SCHOOL_USER),
        route=route,
        base=reverse("referrals:list"),
    )
    return render(
        request,
        "referrals/list.jinja",
        {
            "presenter": presenter,
            "can_refer_school": user.has_role(Role.SCHOOL_USER),
            "can_refer_agency": user.has_role(Role.AGENCY_USER),
        },
    )


@login_required
def referral_detail(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        referral = referral_get(_user(request), reference)
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    presenter = ReferralPresenter(referral=referral, viewer=_user(request))
    return render(request, "referrals/detail.jinja", {"presenter": presenter})


@login_required
def referral_submitted(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        referral = referral_get(_user(request), reference)
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    return render(
        request,
        "referrals/submitted.jinja",
        {"referral": referral, "messages": messages.get_messages(request)},
    )


# --- school referral: choosing the pupil -------------------------------------------------


@role_required(Role.SCHOOL_USER)
def school_pick_pupil(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    query = request.GET.get("q", "").strip()[:100]
    snapshot = own_latest_snapshot(user)
    page = None
    if query:
        page = Paginator(roll_search(user, query), PER_PAGE).get_page(_page_number(request))
    return render(
        request,
        "referrals/school_pick.jinja",
        {"query": query, "page": page, "snapshot": snapshot},
    )


def _check_inputs(forms_: list[Any]) -> list[CheckInput]:
    out = []
    for f in forms_:
        d = f.cleaned_data
        out.append(
            CheckInput(
                kind=f.kind.value,
                status=d.get("status", ""),
                done_on=d.get("done_on"),
                result=d.get("result") or "",
                reason=d.get("reason") or "",
            )
        )
    return out


# --- drafts: answers kept until they are sent from "Check your answers" ----------------

#: Posted fields that belong to one showing of a page, not to the answers.
_NOT_ANSWERS = frozenset({"csrfmiddlewaretoken", FIELD_NAME})


class _NoDraft(Exception):
    """A "Send" with no answers kept in the session (sent already, or signed out)."""


def _draft_key(route: str, entry_id: int | None = None) -> str:
    return f"referrals.draft.{route}" + (f".{entry_id}" if entry_id is not None else "")


def _keep_draft(request: HttpRequest, key: str, data: QueryDict) -> None:
    """Keep the answers in the person's session (server side, ended by signing out or
    after the session's idle time); nothing is saved as a referral until it is sent."""
    request.session[key] = {k: data.getlist(k) for k in data if k not in _NOT_ANSWERS}


def _draft(request: HttpRequest, key: str) -> QueryDict | None:
    kept = request.session.get(key)
    if not isinstance(kept, dict):
        return None
    data = QueryDict(mutable=True)
    for k, values in kept.items():
        data.setlist(k, list(values))
    return data


def _send_draft(
    request: HttpRequest, key: str, scope: str, create: Callable[[], Referral]
) -> Outcome[Referral] | None:
    """Send the kept answers once (the check page's one-time token), then forget them.
    None when there were no answers to send and this page was not sent before."""
    try:
        outcome = _send_once(request, scope, create)
    except _NoDraft:
        return None
    request.session.pop(key, None)
    return outcome


def _no_draft() -> Referral:
    raise _NoDraft


def _answers_page(
    request: HttpRequest, *, title: str, sections: list[AnswerSection], form_url: str, **extra: Any
) -> HttpResponse:
    return render(
        request,
        "referrals/check_answers.jinja",
        {"title": title, "sections": sections, "form_url": form_url, **extra},
    )


# --- school referral --------------------------------------------------------------------


def _own_entry(request: HttpRequest, entry_id: int) -> Any:
    entry = own_latest_roll(_user(request)).filter(pk=entry_id).first()
    if entry is None:
        raise Http404("No such pupil on your roll")
    return entry


def _school_forms(data: QueryDict | None) -> tuple[SchoolReferralForm, list[Any], bool]:
    form = SchoolReferralForm(data)
    checks = check_forms(data)
    if data is None:
        return form, checks, False
    valid = form.is_valid()
    for check in checks:
        valid = check.is_valid() and valid
    return form, checks, valid


def _school_service_args(request: HttpRequest, entry: Any, form: Any, checks: list[Any]) -> Any:
    return {
        "actor": Actor.from_request(request),
        "roll_entry": entry,
        "checks": _check_inputs(checks),
        "all_checks_complete": form.cleaned_data["all_checks_complete"],
        **form.service_fields(),
    }


def _school_form_page(
    request: HttpRequest, entry: Any, form: Any, checks: list[Any]
) -> HttpResponse:
    return render(
        request,
        "referrals/school_form.jinja",
        {
            "form": form,
            "checks": checks,
            "entry": entry,
            "errors": error_summary(form, *checks),
            "rule": UNDER_THRESHOLD_RULE,
            "check_kinds": list(CheckKind),
            "action": reverse("referrals:school-new", args=[entry.pk]),
        },
    )


@role_required(Role.SCHOOL_USER)
@require_http_methods(["GET", "POST"])
def school_referral_new(request: HttpRequest, entry_id: int) -> HttpResponse:
    """The school's referral form. "Continue" checks the answers against every rule and
    keeps them for "Check your answers"; nothing is sent from here."""
    entry = _own_entry(request, entry_id)
    key = _draft_key("school", entry.pk)
    if request.method == "POST":
        form, checks, valid = _school_forms(request.POST)
        if valid:
            try:
                referral_school_check(**_school_service_args(request, entry, form, checks))
            except ValidationError as exc:
                add_service_errors(exc, form, checks)
            else:
                _keep_draft(request, key, request.POST)
                return redirect("referrals:school-check", entry_id=entry.pk)
    elif (draft := _draft(request, key)) is not None:
        form, checks, _ = _school_forms(draft)  # changing an answer: the kept answers
    else:
        preferred = " ".join(
            p for p in (entry.preferred_given_name, entry.preferred_family_name) if p
        )
        form = SchoolReferralForm(
            initial={
                "given_names": entry.legal_given_name,
                "family_name": entry.legal_family_name,
                "aliases": preferred,
                "dob": entry.dob,
                "sex": entry.sex,
                "upn": entry.upn,
                "address": entry.address,
                "postcode": entry.postcode,
            }
        )
        checks = check_forms()
    return _school_form_page(request, entry, form, checks)


@role_required(Role.SCHOOL_USER)
@require_http_methods(["GET", "POST"])
def school_referral_check(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Check your answers, then send: the only place a school's referral is sent from."""
    entry = _own_entry(request, entry_id)
    key = _draft_key("school", entry.pk)
    form_url = reverse("referrals:school-new", args=[entry.pk])
    draft = _draft(request, key)
    form, checks, valid = _school_forms(draft)
    if request.method == "POST":
        try:
            outcome = _send_draft(
                request,
                key,
                "referrals.school",
                (
                    lambda: referral_school_create(
                        **_school_service_args(request, entry, form, checks)
                    )
                )
                if valid
                else _no_draft,
            )
        except ValidationError as exc:  # the rules changed since "Continue"
            add_service_errors(exc, form, checks)
            return _school_form_page(request, entry, form, checks)
        if outcome is not None:
            return _sent(request, outcome)
    if draft is None:
        return redirect(form_url)
    if not valid:
        return _school_form_page(request, entry, form, checks)
    child = f"{entry.legal_given_name} {entry.legal_family_name}"
    return _answers_page(
        request,
        title=f"Check your answers before referring {child}",
        caption="School referral",
        sections=school_answers(form, checks, form_url),
        form_url=form_url,
        button="Send referral",
        declaration=(
            "By sending this referral you confirm that, to the best of your knowledge, the "
            "details you are giving are correct."
        ),
    )


# --- agency referral ----------------------------------------------------------------------


def _agency_form_page(request: HttpRequest, form: AgencyReferralForm) -> HttpResponse:
    return render(
        request,
        "referrals/agency_form.jinja",
        {"form": form, "errors": error_summary(form), "action": reverse("referrals:agency-new")},
    )


@role_required(Role.AGENCY_USER)
@require_http_methods(["GET", "POST"])
def agency_referral_new(request: HttpRequest) -> HttpResponse:
    """The agency's referral form; "Continue" keeps the answers for checking."""
    key = _draft_key("agency")
    if request.method == "POST":
        form = AgencyReferralForm(request.POST)
        if form.is_valid():
            try:
                referral_agency_check(actor=Actor.from_request(request), **form.service_fields())
            except ValidationError as exc:
                add_service_errors(exc, form)
            else:
                _keep_draft(request, key, request.POST)
                return redirect("referrals:agency-check")
    else:
        form = AgencyReferralForm(_draft(request, key))
    return _agency_form_page(request, form)


@role_required(Role.AGENCY_USER)
@require_http_methods(["GET", "POST"])
def agency_referral_check(request: HttpRequest) -> HttpResponse:
    """Check your answers, then send: the only place an agency's referral is sent from."""
    key = _draft_key("agency")
    form_url = reverse("referrals:agency-new")
    draft = _draft(request, key)
    form = AgencyReferralForm(draft)
    valid = draft is not None and form.is_valid()
    if request.method == "POST":
        try:
            outcome = _send_draft(
                request,
                key,
                "referrals.agency",
                (
                    lambda: referral_agency_create(
                        actor=Actor.from_request(request), **form.service_fields()
                    )
                )
                if valid
                else _no_draft,
            )
        except ValidationError as exc:
            add_service_errors(exc, form)
            return _agency_form_page(request, form)
        if outcome is not None:
            return _sent(request, outcome)
    if draft is None:
        return redirect(form_url)
    if not valid:
        return _agency_form_page(request, form)
    return _answers_page(
        request,
        title="Check your answers before sending your referral",
        caption="Agency referral",
        sections=agency_answers(form, form_url),
        form_url=form_url,
        button="Send referral",
        declaration=(
            "By sending this referral you confirm that, to the best of your knowledge, the "
            "details you are giving are correct."
        ),
    )


# --- public report ----------------------------------------------------------------------

PUBLIC_SESSION_KEY = "referrals_public_reference"
#: Set when the public form was sent twice: the sent page says so.
PUBLIC_REPEAT_KEY = "referrals_public_repeated"


def _too_many(request: HttpRequest) -> HttpResponse:
    return render(request, "referrals/public_too_many.jinja", status=429)


def _public_form_page(request: HttpRequest, form: PublicReportForm) -> HttpResponse:
    # A fresh token each time the form is shown, so a second try is timed from now.
    return render(
        request,
        "referrals/public_form.jinja",
        {
            "form": form,
            "errors": error_summary(form),
            "form_token": public.issue_token(),
            "action": reverse("referrals:public-report"),
        },
    )


def _public_token_error(form: PublicReportForm, problem: public.TokenProblem | None) -> bool:
    """Put a too-fast or stale form's message on it; whether there was one."""
    if problem == public.TokenProblem.TOO_FAST:
        form.add_error(None, "Check your answers and send the form again")
    elif problem == public.TokenProblem.EXPIRED:
        form.add_error(
            None,
            "This page was open for more than 2 hours. Check your answers and send the form again",
        )
    else:
        return False
    return True


def _public_bot(request: HttpRequest, client: str | None) -> HttpResponse:
    """A bot: answer as if it worked, and keep nothing."""
    public.count_report(client)
    fake = "R-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRTUVWXY3456789") for _ in range(8))
    request.session[PUBLIC_SESSION_KEY] = fake
    request.session.pop(PUBLIC_DRAFT_KEY, None)
    return redirect("referrals:public-sent")


PUBLIC_DRAFT_KEY = _draft_key("public")


@require_http_methods(["GET", "POST"])
def public_report(request: HttpRequest) -> HttpResponse:
    """The public's form; "Continue" keeps the answers (and the form's signed token) for
    "Check your answers". Nothing is sent or looked up here."""
    client = client_ip(request)
    if request.method == "POST":
        if public.over_limit(client):
            return _too_many(request)
        form = PublicReportForm(request.POST)
        if form.is_valid():
            problem = public.token_problem(form.cleaned_data.get("form_token", ""))
            if form.cleaned_data.get("website") or problem in (
                public.TokenProblem.MISSING,
                public.TokenProblem.TAMPERED,
            ):
                return _public_bot(request, client)
            if not _public_token_error(form, problem):
                try:
                    referral_public_check(**form.service_fields())
                except ValidationError as exc:
                    add_service_errors(exc, form)
                else:
                    _keep_draft(request, PUBLIC_DRAFT_KEY, request.POST)
                    return redirect("referrals:public-check")
    else:
        form = PublicReportForm(_draft(request, PUBLIC_DRAFT_KEY))
    return _public_form_page(request, form)


@require_http_methods(["GET", "POST"])
def public_report_check(request: HttpRequest) -> HttpResponse:
    """Check your answers, then send: the only place a public report is sent from. The
    form's token works once: its nonce is the key the report is recorded under."""
    client = client_ip(request)
    form_url = reverse("referrals:public-report")
    draft = _draft(request, PUBLIC_DRAFT_KEY)
    if draft is None:
        if request.method == "POST" and request.session.get(PUBLIC_SESSION_KEY):
            # "Send" pressed again after the report went: the first report stands.
            request.session[PUBLIC_REPEAT_KEY] = True
            return redirect("referrals:public-sent")
        return redirect(form_url)
    form = PublicReportForm(draft)
    if not form.is_valid():
        return _public_form_page(request, form)
    token = form.cleaned_data.get("form_token", "")
    if request.method == "POST":
        if public.over_limit(client):
            return _too_many(request)
        problem = public.token_problem(token)
        if problem in (public.TokenProblem.MISSING, public.TokenProblem.TAMPERED):
            return _public_bot(request, client)
        if _public_token_error(form, problem):
            return _public_form_page(request, form)
        try:
            outcome = submit_once(
                key=public.token_nonce(token),
                owner=owner_of(request.user),
                scope="referrals.public",
                create=lambda: referral_public_create(
                    actor=Actor(user=None, ip_address=client), **form.service_fields()
                ),
                receipt=_receipt,
            )
        except ValidationError as exc:
            add_service_errors(exc, form)
            return _public_form_page(request, form)
        request.session.pop(PUBLIC_DRAFT_KEY, None)
        if outcome.previous is not None:  # sent twice: the first report stands
            request.session[PUBLIC_SESSION_KEY] = outcome.previous.reference
            request.session[PUBLIC_REPEAT_KEY] = True
            return redirect("referrals:public-sent")
        assert outcome.result is not None
        public.count_report(client)
        request.session[PUBLIC_SESSION_KEY] = outcome.result.reference
        request.session.pop(PUBLIC_REPEAT_KEY, None)
        return redirect("referrals:public-sent")
    return _answers_page(
        request,
        title="Check your answers before sending",
        caption="",
        sections=public_answers(form, form_url),
        form_url=form_url,
        button="Send",
        declaration="",
    )


def public_report_sent(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(PUBLIC_SESSION_KEY)
    if not reference:
        return redirect("referrals:public-report")
    repeated = bool(request.session.pop(PUBLIC_REPEAT_KEY, False))
    return render(
        request, "referrals/public_sent.jinja", {"reference": reference, "repeated": repeated}
    )


# --- triage -----------------------------------------------------------------------------


@role_required(*TRIAGE_ROLES)
def triage_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    route = request.GET.get("route", "")
    if route not in ReferralRoute.values:
        route = ""
    page = Paginator(triage_queue(user, route=route), PER_PAGE).get_page(_page_number(request))
    presenter = ReferralListPresenter(
        page=page, show_off_roll=False, route=route, base=reverse("referrals:triage-queue")
    )
    routes = ReferralRoute.choices if user.has_role(*ALL_CASES_ROLES) else []
    return render(
        request,
        "referrals/triage_queue.jinja",
        {"presenter": presenter, "routes": routes, "route": route},
    )


def _assignees(user: User) -> list[tuple[str, str]]:
    if not user.has_role(*ALL_CASES_ROLES):
        return [(str(user.pk), user.get_full_name())]
    people = (
        User.objects.filter(
            is_active=True, roles__role__in=[Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO]
        )
        .distinct()
        .order_by("full_name", "pk")
    )
    return [(str(u.pk), u.get_full_name()) for u in people]


@role_required(*TRIAGE_ROLES)
@require_http_methods(["GET", "POST"])
def triage(request: HttpRequest, reference: str) -> HttpResponse:
    user = _user(request)
    try:
        referral = referral_get(user, reference)
    except Referral.DoesNotExist as exc:
        raise Http404("No such referral") from exc
    if not may_triage(user, referral):
        raise PermissionDenied
    if referral.status != ReferralStatus.RECEIVED:
        return redirect("referrals:detail", reference=referral.reference)
    search_ready = True
    try:
        shown, hidden = triage_duplicates(actor=Actor.from_request(request), referral=referral)
    except SearchNotReady:
        # Never read as "no duplicate": the page says the check is being prepared, and
        # "a new child" is not chosen for the officer.
        shown, hidden, search_ready = [], False, False
    presenter = TriagePresenter.build(
        referral=referral, viewer=user, duplicates=shown, hidden=hidden
    )
    assignees = _assignees(user)
    linking = request.method == "POST" and request.POST.get("link_child", "").isdigit()
    form = TriageForm(
        request.POST if request.method == "POST" and not linking else None,
        decisions=presenter.decisions,
        children=presenter.child_choices,
        open_cases=presenter.open_case_choices,
        assignees=assignees,
        initial={
            "child": NEW_CHILD if not shown and search_ready else None,
            "family_name": referral.family_name,
        },
    )
    link_error = ""
    if linking:
        # One step from a possible duplicate: "this is the same child".
        linked = children_visible_to(user).filter(pk=int(request.POST["link_child"])).first()
        try:
            if linked is None:
                raise ValidationError({"child": ["Choose a child record you can see"]})
            referral_link_to_child(
                actor=Actor.from_request(request), referral=referral, child=linked
            )
        except ValidationError as exc:
            link_error = "; ".join(exc.messages)
        except TriageNotAllowed as exc:
            link_error = str(exc)
        else:
            return redirect("referrals:detail", reference=referral.reference)
    elif request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        child = None
        if d.get("child") and d["child"] != NEW_CHILD:
            child = children_visible_to(user).filter(pk=int(d["child"])).first()
        duplicate_of: Case | None = None
        if d.get("duplicate_of"):
            duplicate_of = cases_visible_to(user).filter(pk=int(d["duplicate_of"])).first()
        assign_to = (
            User.objects.filter(pk=int(d["assign_to"])).first() if d.get("assign_to") else None
        )
        try:
            referral_triage(
                actor=Actor.from_request(request),
                referral=referral,
                decision=d["decision"],
                child=child,
                duplicate_of=duplicate_of,
                reason=d.get("reason", ""),
                assign_to=assign_to,
                family_name=d.get("family_name", ""),
            )
        except ValidationError as exc:
            add_service_errors(exc, form)
        except TriageNotAllowed as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("referrals:detail", reference=referral.reference)
    return render(
        request,
        "referrals/triage.jinja",
        {
            "presenter": presenter,
            "form": form,
            "errors": error_summary(form),
            "search_not_ready": not search_ready,
            "link_error": link_error,
        },
    )
