from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from .models import ApiToken, User, UserRole


class UserRoleInline(admin.TabularInline[UserRole, User]):
    model = UserRole
    extra = 1


@admin.register(User)
class UserAdmin(BaseUserAdmin):  # type: ignore[type-arg]  # User is not an AbstractUser
    ordering = ("full_name",)
    list_display = ("email", "full_name", "organisation", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "roles__role", "organisation__kind")
    search_fields = ("email", "full_name")
    inlines = [UserRoleInline]
    filter_horizontal = ("linked_schools",)
    autocomplete_fields = ("organisation",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "job_title", "organisation", "linked_schools")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "is_service_account")}),
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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ("name", "user", "prefix", "created_at", "expires_at", "revoked_at")
    readonly_fields = ("token_hash", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Tokens are issued with `cmetrack issue_api_token` so the raw value is shown once.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True
