"""Audit for changes made in Django's admin site (users, organisations, reference data).

The admin writes models directly, bypassing our services, so the admin classes that allow
changes mix this in: each save and delete writes an audit row in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.http import HttpRequest

from .models import AuditAction
from .services import Actor, audit_record, snapshot


class AuditedAdminMixin:
    """For ``ModelAdmin`` subclasses: audit every add, change and delete."""

    def save_model(self, request: HttpRequest, obj: models.Model, form: Any, change: bool) -> None:
        before = snapshot(type(obj)._default_manager.get(pk=obj.pk)) if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)  # type: ignore[misc]
            after = snapshot(obj)
            changed = {k for k in after if before.get(k) != after[k]}
            audit_record(
                actor=Actor.from_request(request),
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                obj=obj,
                summary=f"{'Changed' if change else 'Added'} {obj._meta.verbose_name} "
                f"in the administration site",
                changes={
                    "before": {k: before.get(k) for k in sorted(changed)} if change else {},
                    "after": {k: after[k] for k in sorted(changed)},
                },
            )

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with transaction.atomic():
            audit_record(
                actor=Actor.from_request(request),
                action=AuditAction.DELETE,
                obj=obj,
                summary=f"Deleted {obj._meta.verbose_name} in the administration site",
                changes={"before": snapshot(obj), "after": {}},
            )
            super().delete_model(request, obj)  # type: ignore[misc]
