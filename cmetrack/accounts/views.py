"""Sign-in, sign-out, two-factor set-up and verification, and the lockout page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record

from .forms import SecurityCodeForm, SignInForm
from .models import User
from .services import two_factor_device_confirm, two_factor_device_start
from .two_factor import has_device, qr_code_svg, secret_for_typing


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.jinja"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timed_out") == "1"
        context["idle_minutes"] = getattr(settings, "CMETRACK_SESSION_IDLE_MINUTES", 30)
        return context


class SignOutView(auth_views.LogoutView):
    pass


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("home")


@login_required
def two_factor_set_up(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code, then type a code to confirm it."""
    user: User = request.user  # type: ignore[assignment]
    if has_device(user) and not user.is_verified():  # type: ignore[attr-defined]
        # Replacing an app needs the old one first: a password alone must never be enough
        # to enrol a new device and so get round two-factor.
        return HttpResponseRedirect(
            f"{reverse('accounts:two-factor-verify')}?{urlencode({'next': request.path})}"
        )
    device = two_factor_device_start(user=user)
    form = SecurityCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        if two_factor_device_confirm(actor=actor, device=device, token=form.cleaned_data["code"]):
            django_otp.login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error("code", "The security code is wrong or has expired; enter a new one")
    context = {
        "form": form,
        "qr_svg": qr_code_svg(device),
        "secret": secret_for_typing(device),
        "next": _next_url(request),
        "replacing": has_device(user),
    }
    return render(request, "accounts/two_factor_set_up.jinja", context)


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the app set up earlier."""
    user: User = request.user  # type: ignore[assignment]
    if not has_device(user):
        return HttpResponseRedirect(
            f"{reverse('accounts:two-factor-set-up')}?{request.GET.urlencode()}"
        )
    form = SecurityCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = django_otp.match_token(user, form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            return HttpResponseRedirect(_next_url(request))
        audit_record(
            actor=Actor.from_request(request),
            action=AuditAction.SIGN_IN_FAILED,
            obj=user,
            summary="Wrong two-factor security code",
        )
        form.add_error("code", "The security code is wrong or has expired; enter a new one")
    return render(
        request, "accounts/two_factor_verify.jinja", {"form": form, "next": _next_url(request)}
    )


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' lockout response (``AXES_LOCKOUT_CALLABLE``): a GOV.UK page, 429."""
    cool_off = getattr(settings, "AXES_COOLOFF_TIME", None)
    minutes = int(cool_off.total_seconds() // 60) if cool_off is not None else None
    return render(request, "accounts/locked_out.jinja", {"minutes": minutes}, status=429)
