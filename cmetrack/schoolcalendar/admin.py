from django.contrib import admin

from cmetrack.audit.admin_mixins import AuditedAdminMixin

from .models import ClosureDay, Term


@admin.register(Term)
class TermAdmin(AuditedAdminMixin, admin.ModelAdmin[Term]):
    list_display = ("term_start", "term_end", "name")
    date_hierarchy = "term_start"


@admin.register(ClosureDay)
class ClosureDayAdmin(AuditedAdminMixin, admin.ModelAdmin[ClosureDay]):
    list_display = ("date", "school", "reason")
    list_filter = ("school",)
    date_hierarchy = "date"
    search_fields = ("reason", "school__name")
    autocomplete_fields = ("school",)
