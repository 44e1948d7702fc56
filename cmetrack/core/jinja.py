"""The Jinja2 environment for every page: GOV.UK Frontend macros, ``static`` and ``url``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from jinja2 import ChoiceLoader, Environment, PackageLoader, PrefixLoader

from cmetrack.idempotency.tokens import token_input


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def govuk_date(value: Any, default: str = "") -> str:
    """A date the GOV.UK way: 5 January 2026."""
    if not value:
        return default
    return f"{value.day} {value:%B %Y}"


def environment(**options: Any) -> Environment:
    app_loader = options.pop("loader", None)
    loaders: list[Any] = [] if app_loader is None else [app_loader]
    loaders.append(PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}))
    # Django passes autoescape=True in options (settings.TEMPLATES).
    env = Environment(loader=ChoiceLoader(loaders), **options)  # noqa: S701
    env.globals.update(
        static=static,
        url=url,
        council_name=settings.CMETRACK_LA_NAME,
        service_name=settings.CMETRACK_SERVICE_NAME,
        # A fresh one-time token in each form that makes something (sent twice, made once).
        submission_token_input=token_input,
    )
    env.filters["govuk_date"] = govuk_date
    return env
