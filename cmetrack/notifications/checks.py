"""System checks of the notifications settings. ``check --deploy`` (production) asks for
Notify's settings, or for the console backend chosen explicitly (docs/notifications.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from . import conf
from .kinds import KINDS

BACKENDS = ("notify", "console", "file")


@register("cmetrack")
def check_backend(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    if conf.backend() not in BACKENDS:
        return [
            Error(
                f"CMETRACK_NOTIFY_BACKEND is {conf.backend()!r}: use notify, console or file.",
                id="notifications.E001",
            )
        ]
    return []


@register("cmetrack", deploy=True)
def check_production(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    problems: list[Any] = []
    backend = conf.backend()
    if not getattr(settings, "CMETRACK_NOTIFY_BACKEND_CHOSEN", True):
        problems.append(
            Warning(
                "No email backend is chosen: messages are only written to the log.",
                hint="Set CMETRACK_NOTIFY_BACKEND=notify with CMETRACK_NOTIFY_API_KEY and "
                "CMETRACK_NOTIFY_TEMPLATES, or CMETRACK_NOTIFY_BACKEND=console to send none.",
                id="notifications.W001",
            )
        )
    if backend == "file":
        problems.append(
            Warning(
                "CMETRACK_NOTIFY_BACKEND=file writes emails to disk: for development only.",
                id="notifications.W002",
            )
        )
    if backend == "notify":
        if not conf.get("API_KEY"):
            problems.append(Error("CMETRACK_NOTIFY_API_KEY is not set.", id="notifications.E002"))
        missing = sorted(set(KINDS) - set(conf.templates()))
        if missing:
            problems.append(
                Warning(
                    f"No Notify template id for: {', '.join(missing)}. Those messages fail.",
                    hint="Add them to CMETRACK_NOTIFY_TEMPLATES (JSON) or "
                    "CMETRACK_NOTIFY_TEMPLATE_<KIND> variables.",
                    id="notifications.W003",
                )
            )
        if not conf.get("CALLBACK_TOKEN"):
            problems.append(
                Warning(
                    "CMETRACK_NOTIFY_CALLBACK_TOKEN is not set: delivery receipts are refused.",
                    id="notifications.W004",
                )
            )
    return problems
