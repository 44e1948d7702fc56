"""Pages of the children-not-in-school register: the register, its completeness report,
the CSV export and one child's register details. Every page answers 404 until the
section commences (``CMETRACK_CNIS_ENABLED``); then only the CME team may use them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.casework.presenters import error_list
from cmetrack.kit.exports import csv_response
from cmetrack.people.models import Child
from cmetrack.people.selectors import child_get_for_view

from . import presenters, selectors, services
from .forms import DetailsForm, PartTimeForm, ProviderForm
from .models import OtherProvider, PartTimeArrangement, RegisterDetails

View = Callable[..., HttpResponseBase]


def register_page(view: View) -> View:
    """404 while the section is not in force; 403 for anyone outside the CME team."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not selectors.cnis_enabled():
            raise Http404("The children-not-in-school register is not in force yet.")
        if not selectors.may_see_register(request.user):  # type: ignore[arg-type]
            raise PermissionDenied("Only the CME team keeps the children-not-in-school register.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


@register_page
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    entries = selectors.register_entries()
    return render(
        request,
        "cnis/register.jinja",
        {
            "rows": [presenters.EntryRow(e) for e in entries],
            "headers": presenters.HEADERS,
            "complete": sum(1 for e in entries if e.complete),
            "today": timezone.localdate(),
        },
    )


@register_page
@require_GET
def completeness(request: HttpRequest) -> HttpResponse:
    report = selectors.completeness_report()
    return render(
        request,
        "cnis/completeness.jinja",
        {"report": report, "rows": [presenters.EntryRow(e) for e in report.incomplete]},
    )


@register_page
@require_GET
def export(request: HttpRequest) -> HttpResponseBase:
    entries = selectors.register_entries()
    audit_record(
        actor=Actor.from_request(request),
        action=AuditAction.EXPORT,
        object_type="cnis.register",
        summary=f"Exported the children-not-in-school register ({len(entries)} children)",
    )
    today = timezone.localdate()
    return csv_response(
        f"children-not-in-school-{today.isoformat()}.csv",
        presenters.CSV_HEADERS,
        (presenters.csv_row(e) for e in entries),
    )


def _entry_for(child: Child) -> selectors.RegisterEntry | None:
    return next(iter(selectors.register_entries(child_id=child.pk)), None)


@register_page
@require_http_methods(["GET", "POST"])
def child_details(request: HttpRequest, child_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    try:
        child = child_get_for_view(actor=actor, child_id=child_id)
    except Child.DoesNotExist as exc:
        raise Http404("No such child") from exc
    details = RegisterDetails.objects.filter(child=child).first()
    initial = (
        {
            "parent_hours_per_week": details.parent_hours_per_week,
            "no_other_providers": details.no_other_providers,
            "child_protection_enquiries": details.child_protection_enquiries,
            "child_in_need": details.child_in_need,
            "protected_characteristics": details.protected_characteristics,
        }
        if details
        else {}
    )
    forms: dict[str, Any] = {
        "details": DetailsForm(initial=initial),
        "provider": ProviderForm(),
        "parttime": PartTimeForm(),
    }
    if request.method == "POST" and request.POST.get("form") in ("end_provider", "end_parttime"):
        return _end(request, actor, child)
    if request.method == "POST":
        which = request.POST.get("form", "")
        saves: dict[str, tuple[type, Callable[[dict[str, Any]], object], str]] = {
            "details": (
                DetailsForm,
                lambda d: services.register_details_update(actor=actor, child=child, **d),
                "Register details saved",
            ),
            "provider": (
                ProviderForm,
                lambda d: services.provider_add(actor=actor, child=child, **d),
                "Provider added",
            ),
            "parttime": (
                PartTimeForm,
                lambda d: services.part_time_arrangement_add(actor=actor, child=child, **d),
                "Part-time arrangement recorded",
            ),
        }
        if which not in saves:
            raise Http404("No such form")
        form_class, save, success = saves[which]
        form = form_class(request.POST)
        if form.is_valid():
            try:
                save(form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, success)
                return HttpResponseRedirect(reverse("cnis:child", args=[child.pk]))
        forms[which] = form
    entry = _entry_for(child)
    providers = OtherProvider.objects.filter(child=child, ended_on__isnull=True)
    arrangements = PartTimeArrangement.objects.filter(child=child, ended_on__isnull=True)
    return render(
        request,
        "cnis/child.jinja",
        {
            "child": child,
            "entry": entry,
            "row": presenters.EntryRow(entry) if entry else None,
            "parents": presenters.parent_texts(entry) if entry else [],
            "providers": presenters.provider_texts(entry) if entry else [],
            "optional": presenters.optional_items(entry) if entry else [],
            "forms": forms,
            "current_providers": list(providers),
            "current_arrangements": list(arrangements.select_related("school")),
            "errors": [e for f in forms.values() for e in error_list(f)],
            "success": [str(m) for m in messages.get_messages(request)],
        },
    )


def _end(request: HttpRequest, actor: Actor, child: Child) -> HttpResponse:
    """A provider stopped, or a part-time arrangement ended, today."""
    today = timezone.localdate()
    try:
        if request.POST["form"] == "end_provider":
            provider = OtherProvider.objects.get(pk=request.POST.get("id", ""), child=child)
            services.provider_end(actor=actor, provider=provider, ended_on=today)
            messages.success(request, f"{provider.name} no longer educates the child")
        else:
            arrangement = PartTimeArrangement.objects.get(
                pk=request.POST.get("id", ""), child=child
            )
            services.part_time_arrangement_end(actor=actor, arrangement=arrangement, ended_on=today)
            messages.success(request, "Part-time arrangement ended")
    except (OtherProvider.DoesNotExist, PartTimeArrangement.DoesNotExist, ValueError) as exc:
        raise Http404("No such record") from exc
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    return HttpResponseRedirect(reverse("cnis:child", args=[child.pk]))
