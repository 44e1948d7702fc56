"""Administrators keep the address-search checklist's sources. Case content (checks,
contacts, notes, tasks) is not in the administration site: it belongs to case workers."""

from django.contrib import admin

from cmetrack.audit.admin_mixins import AuditedAdminMixin

from .models import AddressSearchSource


@admin.register(AddressSearchSource)
class AddressSearchSourceAdmin(AuditedAdminMixin, admin.ModelAdmin[AddressSearchSource]):
    list_display = ("name", "description", "active", "order")
    list_editable = ("active", "order")
    list_filter = ("active",)
    search_fields = ("name",)
    ordering = ("order", "name")

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Checks refer to their source: switch a source off instead of deleting it.
        return False
