"""The signed-in person's notification settings, the managers' list of messages sent, and
GOV.UK Notify's delivery-receipt callback."""

from __future__ import annotations

import hmac
import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cmetrack.audit.services import Actor

from . import conf
from .forms import PreferencesForm
from .kinds import KINDS, PERSONAL_KINDS
from .models import Status
from .selectors import may_see_messages, messages_visible_to, preferences_of
from .services import preference_set, receipt_record

PAGE_SIZE = 100


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = request.user
    current = preferences_of(user)  # type: ignore[arg-type]
    form = PreferencesForm(request.POST if request.method == "POST" else None, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            preference_set(
                actor=Actor.from_request(request),
                user=user,  # type: ignore[arg-type]
                choices=form.cleaned_data,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect(f"{reverse('notifications:preferences')}?saved=1")
    required = [k for k in PERSONAL_KINDS if k.required and k.key in current]
    return render(
        request,
        "notifications/preferences.jinja",
        {
            "form": form,
            "required": required,
            "has_errors": bool(form.errors),
            "saved": request.method == "GET" and request.GET.get("saved") == "1",
            "may_see_messages": may_see_messages(user),  # type: ignore[arg-type]
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    if not may_see_messages(request.user):  # type: ignore[arg-type]
        raise PermissionDenied
    status = request.GET.get("status", "")
    rows = messages_visible_to(request.user)  # type: ignore[arg-type]
    if status in Status.values:
        rows = rows.filter(status=status)
    shown = [
        {
            "created": f"{timezone.localtime(m.created_at):%-d %B %Y %H:%M}",
            "kind": KINDS[m.kind].label if m.kind in KINDS else m.kind,
            "to": m.email_address,
            "reference": m.reference,
            "status": m.get_status_display(),
            "attempts": m.attempts,
            "error": m.last_error,
        }
        for m in rows[:PAGE_SIZE]
    ]
    return render(
        request,
        "notifications/messages.jinja",
        {"rows": shown, "statuses": Status.choices, "status": status},
    )


def _bearer_ok(request: HttpRequest) -> bool:
    token = str(conf.get("CALLBACK_TOKEN", "") or "")
    given = request.headers.get("Authorization", "")
    if not token or not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given.removeprefix("Bearer ").strip(), token)


@csrf_exempt
@require_POST
def receipt(request: HttpRequest) -> HttpResponse:
    """GOV.UK Notify's delivery receipt: ``Authorization: Bearer <CMETRACK_NOTIFY_CALLBACK_TOKEN>``
    and a JSON body with ``id``, ``reference`` and ``status``."""
    if not _bearer_ok(request):
        return JsonResponse({"detail": "Not authorised"}, status=401)
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "The body is not JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "The body is not a JSON object"}, status=400)
    row = receipt_record(payload)
    return JsonResponse({"recorded": row is not None}, status=200)
