"""Writes of users, their roles and API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from cmetrack.audit.services import Actor, audit_record
from cmetrack.organisations.models import Organisation

from .models import ApiToken, User, UserRole, hash_token
from .roles import Role


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    email: str,
    full_name: str,
    roles: Iterable[Role | str],
    organisation: Organisation | None = None,
    password: str | None = None,
    job_title: str = "",
    is_service_account: bool = False,
) -> User:
    role_values = sorted({str(Role(r)) for r in roles})
    user = User.objects.create_user(
        email=email,
        password=password,
        full_name=full_name,
        job_title=job_title,
        organisation=organisation,
        is_service_account=is_service_account,
        is_staff=Role.ADMINISTRATOR in role_values,
    )
    UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in role_values])
    audit_record(
        actor=actor,
        action="create",
        obj=user,
        summary=f"Created user {user.email}",
        changes={
            "after": {
                "email": user.email,
                "roles": role_values,
                "organisation": organisation.pk if organisation else None,
            }
        },
    )
    return user


@transaction.atomic
def user_set_roles(*, actor: Actor, user: User, roles: Iterable[Role | str]) -> User:
    wanted = {str(Role(r)) for r in roles}
    before = set(user.roles.values_list("role", flat=True))
    if wanted == before:
        return user
    user.roles.exclude(role__in=wanted).delete()
    UserRole.objects.bulk_create([UserRole(user=user, role=r) for r in wanted - before])
    user.is_staff = Role.ADMINISTRATOR in wanted
    user.save(update_fields=["is_staff"])
    user.__dict__.pop("_role_cache", None)
    audit_record(
        actor=actor,
        action="update",
        obj=user,
        summary=f"Changed roles of {user.email}",
        changes={"before": {"roles": sorted(before)}, "after": {"roles": sorted(wanted)}},
    )
    return user


def api_token_create(*, actor: Actor, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the raw value is returned once and never stored."""
    raw = "cme_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, token_hash=hash_token(raw), prefix=raw[:8]
        )
        audit_record(
            actor=actor,
            action="create",
            obj=token,
            summary=f"Issued API token {token.prefix}… to {user.email}",
        )
    return token, raw


def api_token_authenticate(raw: str) -> User | None:
    """The active user a raw bearer token belongs to, or None."""
    try:
        token = ApiToken.objects.select_related("user").get(token_hash=hash_token(raw))
    except ApiToken.DoesNotExist:
        return None
    now = timezone.now()
    if not token.is_usable(now) or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def user_deactivate(*, actor: Actor, user: User) -> User:
    """Switch an account off. Users are never deleted, so the audit trail keeps its actors:
    the account cannot sign in, its sessions stop working and its API tokens are revoked."""
    if not user.is_active:
        return user
    now = timezone.now()
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    audit_record(
        actor=actor,
        action="update",
        obj=user,
        summary=f"Deactivated user {user.email}",
        changes={
            "before": {"is_active": True},
            "after": {"is_active": False, "api_tokens_revoked": revoked},
        },
    )
    return user


def two_factor_device_start(*, user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator device (a new secret if there is none yet)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def two_factor_device_confirm(*, actor: Actor, device: TOTPDevice, token: str) -> bool:
    """Confirm a new device with a code from the app; audited. False if the code is wrong."""
    if not device.verify_token(token):
        return False
    TOTPDevice.objects.filter(user=device.user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_record(
        actor=actor,
        action="update",
        obj=device.user,
        summary="Set up two-factor authentication",
    )
    return True


@transaction.atomic
def two_factor_reset(*, actor: Actor, user: User) -> int:
    """Remove a user's authenticator devices (lost phone); they set one up at next sign-in."""
    count, _ = TOTPDevice.objects.filter(user=user).delete()
    if count:
        audit_record(
            actor=actor,
            action="update",
            obj=user,
            summary=f"Reset two-factor authentication of {user.email}",
        )
    return int(count)
