"""gunicorn settings for cmetrack in production (docs/operations.md, "Web server (gunicorn)").

    gunicorn -c deploy/gunicorn.conf.py

serves ``cmetrack.config.wsgi:application`` (which defaults to the production settings).
Set the settings' own variables too (SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS,
CMETRACK_VAR_DIR). This file reads:

``CMETRACK_WEB_BIND``
    Where to listen, comma separated (default ``127.0.0.1:8000``: behind a reverse proxy on
    the same machine). ``unix:/run/cmetrack/web.sock`` for a socket.
``CMETRACK_WEB_WORKERS``
    Worker processes (default 2 x CPU cores + 1, at most 8: each holds its own copy of
    the application and its caches).
``CMETRACK_WEB_THREADS``
    Threads in each worker (default 4). A page waits mostly on the database, so threads
    let a worker serve other requests meanwhile.
``CMETRACK_FORWARDED_ALLOW_IPS``
    Addresses of the reverse proxies whose ``X-Forwarded-*`` headers gunicorn trusts
    (default ``127.0.0.1,::1``). Django itself trusts ``X-Forwarded-Proto`` (the settings'
    ``SECURE_PROXY_SSL_HEADER``), so the proxy must set it and nothing else may reach
    gunicorn.
``CMETRACK_WEB_LOG_LEVEL``
    gunicorn's own messages (default ``info``).
``CMETRACK_WEB_ACCESS_LOG``
    ``off`` to leave out the access log.

Logs: one JSON object a line for each request on standard output (the access log), and
gunicorn's own messages on standard error. The access log never holds a query string
(searches put children's names in them) or the request line, only the path.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


wsgi_app = "cmetrack.config.wsgi:application"

bind = [
    item.strip()
    for item in os.environ.get("CMETRACK_WEB_BIND", "127.0.0.1:8000").split(",")
    if item.strip()
]
workers = _env_int("CMETRACK_WEB_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "gthread"
threads = _env_int("CMETRACK_WEB_THREADS", 4)

# A request still running after 60 s is stopped (its worker is restarted); on a stop or
# restart, workers get 30 s to finish the requests they have.
timeout = 60
graceful_timeout = 30
# Seconds an idle keep-alive connection from the reverse proxy stays open.
keepalive = 5
# Each worker is replaced after about 1,000 requests (the jitter spreads the restarts), so
# memory a long-running worker gathers is given back.
max_requests = 1000
max_requests_jitter = 100

forwarded_allow_ips = os.environ.get("CMETRACK_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Only the proxy's X-Forwarded-Proto decides what is HTTPS (as in Django's settings).
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# No control socket (gunicornc): the service manager stops, restarts and reloads gunicorn
# with signals, and a second instance on the machine would fight over the default path.
control_socket_disable = True

# CMETRACK_WEB_ACCESS_LOG=off leaves the access log out (the application's own
# request_finished lines carry the same facts).
accesslog = None if os.environ.get("CMETRACK_WEB_ACCESS_LOG", "").lower() == "off" else "-"
errorlog = "-"
loglevel = os.environ.get("CMETRACK_WEB_LOG_LEVEL", "info")
#: The access log line: JSON. Every value is escaped for JSON by ``JsonAccessLogger``.
#: ``U`` is the path without the query string; ``M`` the duration in milliseconds;
#: ``bytes`` the response's Content-Length (gunicorn counts nothing sent with sendfile, as
#: static files are; "-" for a streamed export); the request id is the one the
#: application answered with (the proxy's X-Request-ID, or one it made up), so the line
#: matches the application's own log lines.
access_log_format = (
    '{"time": "%(t)s", "request_id": "%({x-request-id}o)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "duration_ms": %(M)s, "bytes": "%({content-length}o)s", '
    '"remote_addr": "%(h)s", "worker": "%(p)s"}'
)


class JsonAtoms(dict[str, Any]):
    """gunicorn's ``SafeAtoms``, escaping values for JSON (quotes, backslashes and control
    characters) rather than quotes only; a missing value is ``-``."""

    def __init__(self, atoms: dict[str, Any]) -> None:
        super().__init__()
        for key, value in atoms.items():
            if isinstance(value, str):
                value = json.dumps(value)[1:-1]
            self[key] = value

    def __getitem__(self, key: str) -> Any:
        if key.startswith("{"):
            key = key.lower()
        return super().__getitem__(key) if key in self else "-"


class JsonAccessLogger(Logger):  # type: ignore[misc]
    atoms_wrapper_class = JsonAtoms

    def now(self) -> str:
        """The time in ISO 8601 (UTC), as the application's own logs."""
        import datetime as dt

        return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


logger_class = JsonAccessLogger
