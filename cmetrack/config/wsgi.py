import logging
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.production")
application = get_wsgi_application()

# Every view module and the API's routers, loaded as the worker starts rather than during
# the first page someone asks it for (seconds on a busy machine: issue 20). gunicorn
# restarts each worker after about 1,000 requests (deploy/gunicorn.conf.py).
get_resolver().url_patterns  # noqa: B018

# The API's OpenAPI document too (about 0.4 s of CPU; each process keeps it): a mistake in
# it leaves /api/v1/openapi.json failing, not the service.
from cmetrack.config.api import api  # noqa: E402  (after Django is set up)

try:
    api.get_openapi_schema(path_params={})
except Exception:
    logging.getLogger("cmetrack.config").exception("The OpenAPI document could not be made")

# And WeasyPrint, with its fonts (about 0.45 s of CPU): the first PDF a worker makes (a
# PEP, a risk assessment, a letter) otherwise took 1.7 to 3.6 s at the demo's size.
from cmetrack.kit.pdf import PdfUnavailable, render_pdf  # noqa: E402

try:
    render_pdf("<!DOCTYPE html><html><body><p>Ready</p></body></html>")
except PdfUnavailable:
    pass  # no Pango on this machine: the pages offer the printable HTML instead
except Exception:
    logging.getLogger("cmetrack.config").exception("WeasyPrint could not be warmed up")
