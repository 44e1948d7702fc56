from django.contrib import admin

from .models import Message, Preference


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The messages sent and Notify's receipts (read only: rows are written by services)."""

    list_display = ("created_at", "kind", "email_address", "reference", "status", "attempts")
    list_filter = ("status", "kind")
    search_fields = ("email_address", "reference", "notify_id")
    readonly_fields = [f.name for f in Message._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("user", "kind", "frequency", "updated_at")
    list_filter = ("kind", "frequency")
    readonly_fields = ("user", "kind", "frequency", "updated_at")

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
