"""Places pages: providers and places, a provider (update its figures and profile), the
CSV import, a case's provision (shortlist, applications, panel, start, monitoring), and the
panel's delay queue. Views are thin: scope, form, service, presenter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import TransitionNotAllowed
from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.cases.services import CaseVersionConflict
from cmetrack.kit.exports import csv_response
from cmetrack.kit.storage import StorageUnavailable, staged_upload, upload_not_stored
from cmetrack.organisations.models import Organisation

from . import selectors, services
from .delays import delay_queue_page, delays_for_cases
from .forms import (
    FORM_CHOICES,
    ApplicationForm,
    ImportForm,
    OutcomeForm,
    PanelDecisionForm,
    PanelReferralForm,
    PlaceFigureForm,
    PlacementUpnForm,
    ProviderProfileForm,
    RecommendForm,
    ServiceForm,
    StartForm,
)
from .imports import IMPORTERS
from .models import AdmissionApplication, ApplicationOutcome, PanelReferral, ProvisionImportKind
from .monitoring import monitoring_for
from .presenters import (
    ApplicationRow,
    CaseProvisionPresenter,
    PanelRow,
    StepPresenter,
    delay_rows,
    field_specs,
    figure_text,
    panel_agenda_rows,
    provider_row,
)
from .rules import is_stale, year_group_label
from .shortlist import shortlist_for


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def date_initial(day: Any) -> list[str]:
    """A date as the three boxes of the GOV.UK date input show it."""
    return [str(day.day), str(day.month), str(day.year)]


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied("You cannot use this page.")


# --- Providers and places -------------------------------------------------------------------


@login_required
@require_GET
def places_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(selectors.may_see_places(user))
    today = timezone.localdate()
    year = request.GET.get("year", "")
    form = request.GET.get("form", "")
    providers = list(selectors.providers())
    figures = selectors.figures_by_provider([p.pk for p in providers])
    rows = [provider_row(p, figures.get(p.pk, {}), today) for p in providers]
    if form in dict(FORM_CHOICES):
        rows = [r for r in rows if r.form == FormOfProvision(form).label]
    if year.isdigit() and 0 <= int(year) <= 13:
        label = year_group_label(int(year))
        rows = [r for r in rows if any(f.year == label and f.places > 0 for f in r.figures)]
        for r in rows:
            r.figures[:] = [f for f in r.figures if f.year == label]
    return render(
        request,
        "provision/places_list.jinja",
        {
            "rows": rows,
            "year": year,
            "form": form,
            "form_choices": FORM_CHOICES,
            "may_update": selectors.may_update_places(user),
            "stale_count": sum(1 for r in rows if r.any_stale),
            "missing_count": sum(1 for r in rows if not r.figures),
        },
    )


@login_required
@require_GET
def places_export(request: HttpRequest) -> StreamingHttpResponse:
    """Every current figure as CSV; the columns are the places import's, so the file can be
    edited and imported back."""

    _require(selectors.may_see_places(_user(request)))
    today = timezone.localdate()
    figures = selectors.current_figures().select_related("provider__local_authority")
    return csv_response(
        f"places-{today.isoformat()}.csv",
        ("laestab", "urn", "provider", "year_group", "places", "as_of", "stale"),
        (
            (
                f.provider.laestab,
                f.provider.urn or "",
                f.provider.name,
                "R" if f.year_group == 0 else f.year_group,
                f.places,
                f.as_of.isoformat(),
                "yes" if is_stale(f.as_of, today) else "no",
            )
            for f in figures
        ),
    )


def _provider(provider_id: int) -> Organisation:
    try:
        return selectors.providers().get(pk=provider_id)
    except Organisation.DoesNotExist as exc:
        raise Http404("No such provider") from exc


@login_required
def provider_detail(request: HttpRequest, provider_id: int) -> HttpResponse:
    """A provider, its current figures and history; the form to update a figure."""
    user = _user(request)
    _require(selectors.may_see_places(user))
    provider = _provider(provider_id)
    today = timezone.localdate()
    form = PlaceFigureForm(request.POST or None, initial={"as_of": date_initial(today)})
    if request.method == "POST":
        _require(selectors.may_update_places(user))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.place_figure_record(
                    actor=Actor.from_request(request),
                    provider=provider,
                    year_group=data["year_group"],
                    places=data["places"],
                    as_of=data["as_of"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Places updated.")
                return HttpResponseRedirect(reverse("provision:provider", args=[provider.pk]))
    figures = selectors.figures_by_provider([provider.pk]).get(provider.pk, {})
    history = list(selectors.figure_history(provider)[:100])
    presenter = StepPresenter(
        title="Update places",
        caption=provider.name,
        back_href=reverse("provision:places"),
        back_text="Back to providers and places",
        action=reverse("provision:provider", args=[provider.pk]),
        button="Save places",
        form=form,
        fields=field_specs(
            form,
            {
                "year_group": "Year group",
                "places": ("Places available", "0 if the year group is full"),
                "as_of": ("Date of the figure", "The day the provider gave the figure"),
            },
        ),
    )
    return render(
        request,
        "provision/provider.jinja",
        {
            "row": provider_row(provider, figures, today),
            "history": [(h, figure_text(h, today)) for h in history],
            "presenter": presenter,
            "may_update": selectors.may_update_places(user),
            "success": [str(m) for m in messages.get_messages(request)],
        },
        status=400 if form.errors else 200,
    )


@login_required
def provider_profile(request: HttpRequest, provider_id: int) -> HttpResponse:
    user = _user(request)
    _require(selectors.may_update_places(user))
    provider = _provider(provider_id)
    profile = selectors.profile_for(provider)
    initial: dict[str, Any] = {}
    if profile is not None:
        initial = {
            f: getattr(profile, f)
            for f in (
                "provision_form",
                "youngest_year",
                "oldest_year",
                "sen_suitability",
                "sen_notes",
                "latitude",
                "longitude",
            )
        }
    form = ProviderProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_profile_save(
                actor=Actor.from_request(request), provider=provider, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Provider details saved.")
            return HttpResponseRedirect(reverse("provision:provider", args=[provider.pk]))
    presenter = StepPresenter(
        title="Provider details",
        caption=provider.name,
        back_href=reverse("provision:provider", args=[provider.pk]),
        back_text=f"Back to {provider.name}",
        action=reverse("provision:provider-profile", args=[provider.pk]),
        button="Save details",
        form=form,
        fields=field_specs(
            form,
            {
                "provision_form": "Form of provision offered",
                "youngest_year": "Youngest year group",
                "oldest_year": "Oldest year group",
                "sen_suitability": "SEN suitability",
                "sen_notes": ("SEN provision", "For example: resourced provision for autism"),
                "latitude": ("Latitude (optional)", "For distances; for example 51.50135"),
                "longitude": ("Longitude (optional)", "For example -0.14189"),
            },
        ),
    )
    return render(
        request,
        "provision/step.jinja",
        {"presenter": presenter},
        status=400 if form.errors else 200,
    )


@login_required
def places_import(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(selectors.may_update_places(user))
    form = ImportForm(request.POST or None, request.FILES or None)
    run = None
    # A large upload Django could not spool to disk (full or read-only): said on the form.
    storage_failed = request.method == "POST" and upload_not_stored(request, form)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            with staged_upload(upload, suffix=".csv") as path:
                run = IMPORTERS[form.cleaned_data["kind"]](
                    actor=Actor.from_request(request),
                    path=path,
                    file_name=(upload.name or "upload.csv")[:255],
                )
        except StorageUnavailable as exc:
            # Disk full or read-only: said on this form; nothing was kept or recorded.
            form.add_error("file", exc.message)
            storage_failed = True
    return render(
        request,
        "provision/import.jinja",
        {
            "form": form,
            "run": run,
            "has_errors": bool(form.errors),
            "recent": selectors.recent_imports(),
            "kinds": ProvisionImportKind,
            "centroids": selectors.centroid_count(),
        },
        status=503 if storage_failed else 400 if form.errors else 200,
    )


# --- A case's provision ---------------------------------------------------------------------


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_for_provision(actor=Actor.from_request(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc


@login_required
@require_GET
def case_provision(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    case = _case(request, case_id)
    today = timezone.localdate()
    can_record = selectors.may_record_applications(user, case)
    presenter = CaseProvisionPresenter(
        case=case,
        shortlist=shortlist_for(
            user=user, case=case, today=today, form=request.GET.get("form", None)
        ),
        applications=[
            ApplicationRow(
                a,
                reverse("provision:application-outcome", args=[case.pk, a.pk])
                if can_record and a.outcome == ApplicationOutcome.PENDING
                else "",
            )
            for a in selectors.applications_for(case)
        ],
        panels=[
            PanelRow(
                p,
                reverse("provision:panel-decision", args=[case.pk, p.pk])
                if can_record and p.is_open
                else "",
            )
            for p in selectors.panel_referrals_for(case)
        ],
        offers=selectors.offers_for(case),
        monitoring=monitoring_for(case, today),
        delays=delays_for_cases([case], today) if case.is_open else [],
        can_record=can_record and case.is_open,
        can_change_case=selectors.may_change_case(user, case) and case.is_open,
        success=[str(m) for m in messages.get_messages(request)],
    )
    return render(request, "provision/case.jinja", {"p": presenter})


def _step(
    request: HttpRequest,
    case: Case,
    form: ServiceForm,
    *,
    title: str,
    button: str,
    action: str,
    labels: dict[str, str | tuple[str, str]],
    save: Callable[[dict[str, Any]], object],
    done: str,
    intro: str = "",
) -> HttpResponse:
    """Validate, call the service, redirect to the case's provision page or show errors."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                save(form.cleaned_data)
            except CaseVersionConflict as conflict:
                form.add_error(None, conflict.message)
                data = request.POST.copy()
                data["expected_version"] = str(conflict.current_version)
                form.data = data
                status = 409
            except TransitionNotAllowed as refusal:
                form.add_refusal(refusal.message, refusal.field)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, done)
                return HttpResponseRedirect(reverse("provision:case", args=[case.pk]))
        status = 409 if status == 409 else 400
    presenter = StepPresenter(
        title=title,
        caption=f"{case.reference}: {case.child.full_name}",
        back_href=reverse("provision:case", args=[case.pk]),
        back_text="Back to the case's provision",
        action=action,
        button=button,
        form=form,
        fields=field_specs(form, labels),
        intro=intro,
    )
    return render(request, "provision/step.jinja", {"presenter": presenter}, status=status)


def _providers() -> list[Organisation]:
    return list(selectors.providers())


@login_required
def recommend(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    _require(selectors.may_change_case(_user(request), case))
    form = RecommendForm(
        request.POST or None,
        case=case,
        initial={"provision_recommended": case.provision_recommended or None},
    )
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title="Record the form of provision recommended",
        button="Save",
        action=reverse("provision:recommend", args=[case.pk]),
        labels={
            "date_of_assessment": "Date of the needs assessment",
            "provision_recommended": "Form of provision recommended",
            "date_provision_determined": "Date the form of provision was determined",
            "reason": "Notes (optional)",
        },
        save=lambda d: services.provision_recommend(
            actor=actor,
            case=case,
            provision_recommended=d["provision_recommended"],
            date_provision_determined=d["date_provision_determined"],
            date_of_assessment=d.get("date_of_assessment"),
            reason=d.get("reason", ""),
            expected_version=d.get("expected_version"),
        ),
        done="Form of provision recorded.",
        intro="This sets the case's date form of provision determined.",
    )


@login_required
def application_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    _require(selectors.may_record_applications(_user(request), case))
    form = ApplicationForm(request.POST or None, providers=_providers())
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title="Record an in-year admission application",
        button="Save application",
        action=reverse("provision:application-add", args=[case.pk]),
        labels={
            "school": "School applied to",
            "applied_on": "Date of the application",
            "year_group": "Year group applied for",
        },
        save=lambda d: services.admission_application_record(
            actor=actor,
            case=case,
            school=d["school"],
            applied_on=d["applied_on"],
            year_group=d.get("year_group"),
        ),
        done="Application recorded.",
    )


@login_required
def application_outcome(request: HttpRequest, case_id: int, application_id: int) -> HttpResponse:
    case = _case(request, case_id)
    _require(selectors.may_record_applications(_user(request), case))
    try:
        application = selectors.applications_for(case).get(pk=application_id)
    except AdmissionApplication.DoesNotExist as exc:
        raise Http404("No such application") from exc
    form = OutcomeForm(request.POST or None)
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title=f"Record the outcome of the application to {application.school}",
        button="Save outcome",
        action=reverse("provision:application-outcome", args=[case.pk, application.pk]),
        labels={
            "outcome": "Outcome",
            "outcome_on": "Date of the outcome",
            "notes": ("Notes", "If refused, the reason"),
        },
        save=lambda d: services.admission_outcome_record(
            actor=actor,
            application=application,
            outcome=d["outcome"],
            outcome_on=d["outcome_on"],
            notes=d.get("notes", ""),
        ),
        done="Outcome recorded.",
    )


@login_required
def panel_refer(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    _require(selectors.may_record_applications(_user(request), case))
    form = PanelReferralForm(request.POST or None)
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title="Refer to the fair-access panel",
        button="Save referral",
        action=reverse("provision:panel-refer", args=[case.pk]),
        labels={
            "referred_on": "Date of the referral",
            "panel_date": ("Date of the panel (optional)", "If it is known"),
            "reason": "Why the child needs the panel",
        },
        save=lambda d: services.panel_referral_record(
            actor=actor,
            case=case,
            referred_on=d["referred_on"],
            reason=d.get("reason", ""),
            panel_date=d.get("panel_date"),
        ),
        done="Referral to the fair-access panel recorded.",
    )


@login_required
def panel_decide(request: HttpRequest, case_id: int, referral_id: int) -> HttpResponse:
    case = _case(request, case_id)
    _require(selectors.may_record_applications(_user(request), case))
    try:
        referral = selectors.panel_referrals_for(case).get(pk=referral_id)
    except PanelReferral.DoesNotExist as exc:
        raise Http404("No such panel referral") from exc
    form = PanelDecisionForm(request.POST or None, providers=_providers())
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title="Record the panel's decision",
        button="Save decision",
        action=reverse("provision:panel-decision", args=[case.pk, referral.pk]),
        labels={
            "decision": "The panel's decision",
            "named_school": "School or provider named",
            "decision_on": "Date of the decision",
            "notes": "Notes (optional)",
        },
        save=lambda d: services.panel_decision_record(
            actor=actor,
            referral=referral,
            decision=d["decision"],
            decision_on=d["decision_on"],
            named_school=d.get("named_school"),
            notes=d.get("notes", ""),
        ),
        done="Panel decision recorded.",
    )


@login_required
def start(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    _require(selectors.may_change_case(_user(request), case))
    offers = selectors.offers_for(case)
    initial: dict[str, Any] = {"upn": case.child.upn or ""}
    if offers:
        initial["provider"] = str(offers[0].school.pk)
    if case.provision_recommended:
        initial["provision_accessed"] = case.provision_recommended
    form = StartForm(request.POST or None, case=case, providers=_providers(), initial=initial)
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title="Record the start at the new provider",
        button="Save start",
        action=reverse("provision:start", args=[case.pk]),
        labels={
            "provider": "School or provider",
            "started_on": "Date the child started",
            "provision_accessed": "Form of provision accessed",
            "upn": ("UPN at the provider", "The attendance feed is read for this UPN"),
            "reason": "Notes (optional)",
        },
        save=lambda d: services.provision_start_record(
            actor=actor,
            case=case,
            provider=d["provider"],
            started_on=d["started_on"],
            provision_accessed=d["provision_accessed"],
            upn=d.get("upn", ""),
            reason=d.get("reason", ""),
            expected_version=d.get("expected_version"),
        ),
        done="Start recorded: attendance is now monitored.",
        intro="This sets the case's date moved into provision.",
    )


@login_required
def start_again(request: HttpRequest, case_id: int) -> HttpResponse:
    """Record the start again (in provision): the UPN at the provider."""
    case = _case(request, case_id)
    _require(selectors.may_change_case(_user(request), case) and case.state == "in_provision")
    placement = selectors.latest_placement(case)
    initial = {"upn": (placement.upn if placement else "") or case.child.upn or ""}
    form = PlacementUpnForm(request.POST or None, initial=initial)
    actor = Actor.from_request(request)
    return _step(
        request,
        case,
        form,
        title="Record the start again",
        button="Save",
        action=reverse("provision:start-again", args=[case.pk]),
        labels={
            "upn": ("UPN at the provider", "The attendance feed is read for this UPN"),
            "reason": "Why it is recorded again (optional)",
        },
        save=lambda d: services.placement_correct(
            actor=actor, case=case, upn=d["upn"], reason=d.get("reason", "")
        ),
        done="Start recorded again: attendance is monitored for the new UPN.",
        intro="The day the child started is the case's date moved into provision: a manager "
        "corrects it with “Correct a statutory date” on the case.",
    )


#: The longest waits the delays page lists (the total counts them all).
DELAYS_SHOWN = 500


@login_required
@require_GET
def delays(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require(selectors.may_work_provision(user))
    today = timezone.localdate()
    page = delay_queue_page(user, today, limit=DELAYS_SHOWN)
    agenda = panel_agenda_rows(list(selectors.panel_waiting_list(user)), today)
    return render(
        request,
        "provision/delays.jinja",
        {"rows": delay_rows(page.delays), "total": page.total, "agenda": agenda},
    )
