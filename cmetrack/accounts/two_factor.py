"""Who must use two-factor authentication (TOTP, django-otp) and whether a session has.

Rule: with ``CMETRACK_REQUIRE_2FA`` on, every person must verify a TOTP code after the
password, except users whose roles are all in ``CMETRACK_2FA_OPTIONAL_ROLES`` (school and
agency users) and who have not set up an authenticator app. Someone who has set one up
always verifies with it. Service accounts use bearer tokens, not sessions, and are not
affected. With the setting off (tests, the local demo), nobody is asked.
"""

from __future__ import annotations

import segno
from django.conf import settings
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import User
from .roles import Role

#: What the authenticator app shows as the account's issuer.
ISSUER = "CME"


def enforcement_on() -> bool:
    return bool(getattr(settings, "CMETRACK_REQUIRE_2FA", True))


def optional_roles() -> frozenset[str]:
    default = (Role.SCHOOL_USER, Role.AGENCY_USER)
    return frozenset(str(r) for r in getattr(settings, "CMETRACK_2FA_OPTIONAL_ROLES", default))


def has_device(user: User) -> bool:
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def two_factor_required(user: User) -> bool:
    """Must this user verify a code at sign-in? (Ignores the on/off setting.)"""
    roles = user.role_set
    if roles and roles <= optional_roles():
        return has_device(user)
    return True


def two_factor_pending(request: HttpRequest) -> bool:
    """A signed-in person who still has to set up or enter a two-factor code."""
    user = request.user
    if not enforcement_on() or not user.is_authenticated:
        return False
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return False
    return two_factor_required(user)


def qr_code_svg(device: TOTPDevice) -> str:
    """The device's ``otpauth://`` URL as an inline SVG QR code (no network, no script)."""
    svg: str = segno.make(device.config_url, error="m").svg_inline(
        scale=5, title="QR code to scan with your authenticator app"
    )
    return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)


def secret_for_typing(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for people who cannot scan the code."""
    import base64

    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
