from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from cmetrack.audit.admin_mixins import AuditedAdminMixin
from cmetrack.audit.services import Actor, audit_record

from .models import ApiToken, User, UserRole
from .roles import Role
from .services import two_factor_reset, user_deactivate


class UserRoleInline(admin.TabularInline[UserRole, User]):
    model = UserRole
    extra = 1


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):  # type: ignore[type-arg]  # not an AbstractUser
    ordering = ("full_name",)
    list_display = ("email", "full_name", "organisation", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "roles__role", "organisation__kind")
    search_fields = ("email", "full_name")
    inlines = [UserRoleInline]
    filter_horizontal = ("linked_schools",)
    autocomplete_fields = ("organisation",)
    readonly_fields = ("is_staff", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "job_title", "organisation", "linked_schools")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_service_account")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "organisation", "password1", "password2"),
            },
        ),
    )

    actions = ["deactivate_users", "reset_two_factor"]

    # Users are never deleted: the audit trail names them. Deactivate instead.
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Deactivate selected users (keeps their history)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = Actor.from_request(request)
        for user in queryset:
            user_deactivate(actor=actor, user=user)
        self.message_user(request, f"Deactivated {queryset.count()} users.")

    @admin.action(description="Reset two-factor authentication (lost phone)")
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = Actor.from_request(request)
        for user in queryset:
            two_factor_reset(actor=actor, user=user)
        self.message_user(request, "They will set up an authenticator app at next sign-in.")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save the roles, keep is_staff in step with the administrator role, audit both."""
        user: User = form.instance
        with transaction.atomic():
            before = sorted(UserRole.objects.filter(user=user).values_list("role", flat=True))
            super().save_related(request, form, formsets, change)
            after = sorted(UserRole.objects.filter(user=user).values_list("role", flat=True))
            is_admin = Role.ADMINISTRATOR in after
            if user.is_staff != is_admin:
                user.is_staff = is_admin
                user.save(update_fields=["is_staff"])
            if before != after:
                audit_record(
                    actor=Actor.from_request(request),
                    action="update",
                    obj=user,
                    summary=f"Changed roles of {user.email} in the administration site",
                    changes={"before": {"roles": before}, "after": {"roles": after}},
                )


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdminMixin, admin.ModelAdmin[ApiToken]):
    """Tokens are issued with ``cmetrack issue_api_token`` (the raw value is shown once);
    here an administrator can see them and revoke one by setting its revocation time."""

    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("user", "name", "token_hash", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
