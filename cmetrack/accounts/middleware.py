"""Two-factor enforcement for every page, including the administration site."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .two_factor import has_device, two_factor_pending

#: Paths a person may reach before finishing two-factor sign-in.
EXEMPT_PREFIXES = ("/static/", "/sign-out/", "/account/two-factor/", "/accessibility/",
                   "/privacy/", "/api/")  # fmt: skip


class TwoFactorMiddleware:
    """Send a signed-in person who has not passed two-factor to set-up or verification.

    Place after ``django_otp.middleware.OTPMiddleware``. The API is left to
    ``accounts.api.SessionAuth``, which refuses a session still waiting for its code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(EXEMPT_PREFIXES) and two_factor_pending(request):
            name = "accounts:two-factor-verify"
            if not has_device(request.user):  # type: ignore[arg-type]
                name = "accounts:two-factor-set-up"
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{reverse(name)}?{query}")
        return self.get_response(request)
