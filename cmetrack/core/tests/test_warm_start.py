"""A web worker's first page is not slower than its others (issue 20, "every page under 1 s").

gunicorn restarts each worker after about 1,000 requests. Its first page used to load every
view module (the URLconf and the API's routers) and compile each template it used, seconds
on a busy machine. Now the URLconf and the API's OpenAPI document are made, and WeasyPrint
loaded with its fonts, as the worker starts (config/wsgi.py), and the compiled templates
are kept on disk for every process (core/jinja.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from django.template import engines
from django.test import override_settings
from jinja2 import FileSystemBytecodeCache

from cmetrack.core.jinja import environment


def app_loader() -> Any:
    """The app templates' loader of the project's Jinja2 engine."""
    return engines["jinja2"].env.loader  # type: ignore[attr-defined]


def test_compiled_templates_are_kept_on_disk_and_reused(tmp_path: Path) -> None:
    with override_settings(CMETRACK_JINJA_BYTECODE_DIR=tmp_path / "jinja"):
        first = environment(loader=app_loader(), autoescape=True)
        assert isinstance(first.bytecode_cache, FileSystemBytecodeCache)
        first.get_template("layout.jinja")
        kept = sorted((tmp_path / "jinja").iterdir())
        assert kept, "no compiled template was written"
        # Another process (a fresh environment) loads the compiled code: no new files.
        second = environment(loader=app_loader(), autoescape=True)
        compiled: list[str | None] = []
        original = second.compile

        def counting(source: str, name: str | None = None, *args: Any, **kwargs: Any) -> Any:
            compiled.append(name)
            return original(source, name, *args, **kwargs)

        second.compile = counting  # type: ignore[method-assign,assignment]
        second.get_template("layout.jinja")
        assert "layout.jinja" not in compiled
        assert sorted((tmp_path / "jinja").iterdir()) == kept


def test_without_a_directory_templates_are_compiled_in_memory_only() -> None:
    with override_settings(CMETRACK_JINJA_BYTECODE_DIR=None):
        env = environment(loader=app_loader(), autoescape=True)
    assert env.bytecode_cache is None


def test_the_wsgi_application_loads_the_urlconf_as_it_starts(tmp_path: Path) -> None:
    """Imported as gunicorn imports it: every view module is loaded before any request."""
    script = textwrap.dedent(
        """
        import sys
        import cmetrack.config.wsgi  # noqa: F401
        loaded = [m for m in ("cmetrack.cases.views", "cmetrack.config.api") if m in sys.modules]
        from cmetrack.config.api import api
        print(",".join(loaded), len(api._openapi_made), "weasyprint" in sys.modules)
        """
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "cmetrack.config.settings.dev",
        "CMETRACK_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    # ... the OpenAPI document made, as /api/v1/openapi.json asks for it, and WeasyPrint
    # loaded where it can be (a machine without Pango still starts).
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError):
        pdf = False
    else:
        pdf = True
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"cmetrack.cases.views,cmetrack.config.api 1 {pdf}"
