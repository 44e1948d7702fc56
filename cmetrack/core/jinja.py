"""The Jinja2 environment for every page: GOV.UK Frontend macros, ``static`` and ``url``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    PackageLoader,
    PrefixLoader,
)

from cmetrack.idempotency.tokens import token_input
from cmetrack.kit.dates import govuk_date
from cmetrack.kit.words import lower_label, plural


def url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


def environment(**options: Any) -> Environment:
    app_loader = options.pop("loader", None)
    loaders: list[Any] = [] if app_loader is None else [app_loader]
    loaders.append(PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}))
    # Compiled templates are kept on disk for every process (CMETRACK_JINJA_BYTECODE_DIR): a
    # worker gunicorn has just started (or restarted) loads them instead of compiling each
    # template again during someone's page (about 0.1 to 0.7 s a template: issue 20). Each
    # is keyed by its source's checksum, so a changed template is compiled afresh.
    cache_dir = getattr(settings, "CMETRACK_JINJA_BYTECODE_DIR", None)
    if cache_dir and "bytecode_cache" not in options:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        options["bytecode_cache"] = FileSystemBytecodeCache(str(cache_dir))
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
    env.filters["lower_label"] = lower_label
    env.filters["plural"] = plural
    env.globals["plural"] = plural
    return env
