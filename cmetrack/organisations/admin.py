from django.contrib import admin

from cmetrack.audit.admin_mixins import AuditedAdminMixin

from .models import LocalAuthority, Organisation


@admin.register(LocalAuthority)
class LocalAuthorityAdmin(AuditedAdminMixin, admin.ModelAdmin[LocalAuthority]):
    list_display = ("code", "name", "country", "region", "cme_contact_name", "contact_confirmed_on")
    list_filter = ("country", "region")
    search_fields = ("code", "name", "cme_contact_name")


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdminMixin, admin.ModelAdmin[Organisation]):
    list_display = ("name", "kind", "urn", "estab_number", "phase", "school_type", "sector")
    list_filter = ("kind", "phase", "school_type", "sector", "is_active")
    search_fields = ("name", "urn", "estab_number")
    autocomplete_fields = ("local_authority",)
