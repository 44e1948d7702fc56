"""Middleware every request passes through.

- :class:`SecurityHeadersMiddleware`: a per-request CSP nonce (``request.csp_nonce``) and a
  Content Security Policy with no ``'unsafe-inline'`` script; no caching of personal data.
- :class:`SessionIdleTimeoutMiddleware`: signs a person out after
  ``CMETRACK_SESSION_IDLE_MINUTES`` without a request.
- :class:`DatabaseUnavailableMiddleware`: a database that cannot be reached gives the
  service's own "service unavailable" page (503), not a server error.
- :class:`TrustedProxyMiddleware`: behind a trusted reverse proxy, the client's address
  from ``X-Forwarded-For`` (``CMETRACK_TRUSTED_PROXIES``).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from .errors import DATABASE_UNAVAILABLE, service_unavailable

logger = logging.getLogger(__name__)

#: Session key holding the time (seconds since the epoch) of the last request.
LAST_SEEN_KEY = "cmetrack_last_seen"
#: The last-seen time is written at most this often, to spare a session write per request.
LAST_SEEN_RESOLUTION = 30


def content_security_policy(nonce: str) -> str:
    """The CSP: scripts only from our own origin or carrying this request's nonce."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' 'nonce-{nonce}'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'self'; object-src 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
        if not request.path.startswith("/static/") and signed_in_or_unknown(request):
            response.headers["Cache-Control"] = "no-store"
        return response


def signed_in_or_unknown(request: HttpRequest) -> bool:
    """Is someone signed in? When the database cannot say, assume so: the page must not be
    cached either way."""
    try:
        return bool(request.user.is_authenticated)
    except DATABASE_UNAVAILABLE:
        return True


class DatabaseUnavailableMiddleware:
    """Answer 503 with the service's own page when the database cannot be reached.

    Place it high in ``MIDDLEWARE``: after ``SecurityMiddleware`` and WhiteNoise (static
    files need no database), before the session and authentication middleware.

    - ``process_exception`` catches the error from a view's queries.
    - Django turns an error raised inside a later middleware (loading the session, looking
      up the user, two-factor) into ``handler500``'s response before it gets here;
      ``core.views.error_500`` gives the same 503 for it.
    - ``__call__`` catches whatever still reaches it (for example with
      ``DEBUG_PROPAGATE_EXCEPTIONS``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except DATABASE_UNAVAILABLE as exc:
            return self.unavailable(request, exc)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # With DEBUG on (development), Django's debug page shows the error instead.
        if isinstance(exception, DATABASE_UNAVAILABLE) and not settings.DEBUG:
            return self.unavailable(request, exception)
        return None

    @staticmethod
    def unavailable(request: HttpRequest, exception: Exception) -> HttpResponse:
        # With the traceback: on SQLite a missing table is an OperationalError too.
        logger.warning(
            "Database unavailable (%s) for %s %s",
            type(exception).__name__,
            request.method,
            request.path,
            exc_info=exception,
        )
        return service_unavailable(request)


class SessionIdleTimeoutMiddleware:
    """Sign out a signed-in person whose last request was too long ago.

    Place after ``AuthenticationMiddleware``. API requests with a bearer token carry no
    session and are not affected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            limit = int(getattr(settings, "CMETRACK_SESSION_IDLE_MINUTES", 30)) * 60
            now = time.time()
            last = request.session.get(LAST_SEEN_KEY)
            if isinstance(last, int | float) and now - last > limit:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                query = urlencode({"next": request.get_full_path(), "timed_out": "1"})
                return HttpResponseRedirect(f"{reverse('login')}?{query}")
            if not isinstance(last, int | float) or now - last >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_KEY] = int(now)
        return self.get_response(request)


def trusted_proxy_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``CMETRACK_TRUSTED_PROXIES``: the reverse proxies' addresses or networks."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False)
        for item in getattr(settings, "CMETRACK_TRUSTED_PROXIES", ())
        if item.strip()
    )


def forwarded_client(
    remote_addr: str,
    forwarded_for: str,
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> str:
    """The client's address behind trusted proxies.

    Only a request that came from a trusted proxy is looked into. ``X-Forwarded-For`` is read
    from the right (each proxy appends the address it saw): the first address that is not a
    trusted proxy is the client. Anything further left was written by the client and may be
    forged, so it is never used. A malformed entry stops the walk at the last good hop."""

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not is_trusted(remote_addr):
        return remote_addr
    client = remote_addr
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        client = hop
        if not is_trusted(hop):
            break
    return client


class TrustedProxyMiddleware:
    """Behind a reverse proxy, ``REMOTE_ADDR`` is the proxy's address. When it is one of
    ``CMETRACK_TRUSTED_PROXIES``, the client's address is taken from ``X-Forwarded-For``
    (see :func:`forwarded_client`), so the audit trail, the sign-in lockout and the public
    form's limit see the person, not the proxy. The proxy's own address is kept in
    ``META["CMETRACK_PROXY_ADDR"]``. First in ``MIDDLEWARE``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.trusted = trusted_proxy_networks()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        remote = request.META.get("REMOTE_ADDR", "")
        client = forwarded_client(
            remote, request.META.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
        )
        if client != remote:
            request.META["CMETRACK_PROXY_ADDR"] = remote
            request.META["REMOTE_ADDR"] = client
        return self.get_response(request)
