"""The client's address behind a reverse proxy: taken from X-Forwarded-For only when the
request came from a trusted proxy, and never from what the client itself wrote."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from cmetrack.audit.services import client_ip
from cmetrack.core.middleware import TrustedProxyMiddleware, forwarded_client

TRUSTED = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/24"))


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        # No trusted proxy in front: the header is ignored (a client could write it).
        ("203.0.113.9", "198.51.100.1", "203.0.113.9"),
        # One proxy: the address it saw.
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        # The client forged a first entry; the proxy appended the real one.
        ("127.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7"),
        # Two trusted proxies (load balancer then nginx).
        ("127.0.0.1", "198.51.100.7, 10.0.0.5", "198.51.100.7"),
        # Every hop trusted: the leftmost.
        ("127.0.0.1", "10.0.0.8, 10.0.0.5", "10.0.0.8"),
        # A malformed hop stops the walk at the last good address.
        ("127.0.0.1", "198.51.100.7, not-an-ip", "127.0.0.1"),
        # A trusted proxy that sent no header.
        ("127.0.0.1", "", "127.0.0.1"),
        ("::1", "198.51.100.7", "::1"),  # ::1 is not in the trusted list here
    ],
)
def test_forwarded_client(remote: str, forwarded: str, expected: str) -> None:
    assert forwarded_client(remote, forwarded, TRUSTED) == expected


def test_nothing_trusted_means_remote_addr_as_it_is() -> None:
    assert forwarded_client("127.0.0.1", "198.51.100.7", ()) == "127.0.0.1"


def test_middleware_sets_the_address_the_audit_trail_records(settings: Any) -> None:
    settings.CMETRACK_TRUSTED_PROXIES = ["127.0.0.1"]
    seen: dict[str, str | None] = {}

    def view(request: HttpRequest) -> HttpResponse:
        seen["client"] = client_ip(request)
        seen["proxy"] = request.META.get("CMETRACK_PROXY_ADDR")
        return HttpResponse("ok")

    middleware = TrustedProxyMiddleware(view)
    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7"
    )
    middleware(request)
    assert seen == {"client": "198.51.100.7", "proxy": "127.0.0.1"}

    settings.CMETRACK_TRUSTED_PROXIES = []
    middleware = TrustedProxyMiddleware(view)
    request = RequestFactory().get(
        "/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    middleware(request)
    assert seen == {"client": "203.0.113.9", "proxy": None}
