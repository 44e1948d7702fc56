"""People who use the system: users signed in by email, their organisation and roles."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import Organisation

from .roles import Role

#: The apps whose models administrators manage in the admin site.
ADMIN_MANAGED_APPS = frozenset({"accounts", "organisations", "casework", "schoolcalendar"})
#: What the apps below accounts ask with ``user.has_perm`` (they know no roles), and the
#: roles that grant it: only these roles, whatever else the user is (even a superuser).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # The auditors' pages: search the audit trail and export it (audit.views).
    "audit.search_trail": frozenset({Role.AUDITOR}),
    # The directory of authorities' CME contacts (organisations.services).
    "organisations.edit_directory": frozenset({Role.ADMINISTRATOR}),
}


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    job_title = models.CharField(max_length=150, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # School Liaison Officers work with a set of schools.
    linked_schools = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="liaison_officers",
        limit_choices_to={"kind": "school"},
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="May sign in to the administration site."
    )
    is_service_account = models.BooleanField(
        default=False, help_text="A system that uses the API with a token, not a person."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def role_set(self) -> frozenset[str]:
        """The user's roles, read once per request-lived instance."""
        cached: frozenset[str] | None = getattr(self, "_role_cache", None)
        if cached is None:
            cached = (
                frozenset(self.roles.values_list("role", flat=True)) if self.pk else frozenset()
            )
            self._role_cache = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    # Administrators manage users and reference data in the admin site, nothing else: the
    # admin permissions follow the role (see docs/adr/0007-access-scoping.md).
    def has_perm(self, perm: str, obj: Any = None) -> bool:
        if perm in ROLE_PERMISSIONS:
            return self.is_active and self.has_role(*ROLE_PERMISSIONS[perm])
        if self.is_active and self.has_role(Role.ADMINISTRATOR):
            return perm.split(".", 1)[0] in ADMIN_MANAGED_APPS
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.is_active and self.has_role(Role.ADMINISTRATOR):
            return app_label in ADMIN_MANAGED_APPS
        return super().has_module_perms(app_label)


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=30, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="unique_user_role")]

    def __str__(self) -> str:
        return self.get_role_display()


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for a service account. Only its SHA-256 hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise it.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now: Any = None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now
