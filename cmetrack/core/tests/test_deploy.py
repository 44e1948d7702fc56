"""The production server's files: deploy/gunicorn.conf.py and the smoke run's helpers.

The CI production run (.ci/production) starts gunicorn with this configuration and walks
every page; these tests pin what that run cannot see: the access log's format (JSON, no
query string) for awkward requests, and the smoke run's two-factor codes.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import runpy
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from django_otp.oath import TOTP

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("CMETRACK_WEB_BIND", "CMETRACK_WEB_WORKERS", "CMETRACK_WEB_THREADS",
                 "CMETRACK_FORWARDED_ALLOW_IPS", "CMETRACK_WEB_ACCESS_LOG"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))


def smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cmetrack_smoke", DEPLOY / "smoke.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_defaults_listen_locally_with_bounded_workers(monkeypatch):
    conf = gunicorn_conf(monkeypatch)
    assert conf["bind"] == ["127.0.0.1:8000"]
    assert 1 <= conf["workers"] <= 8
    assert conf["worker_class"] == "gthread"
    assert conf["threads"] == 4
    assert conf["timeout"] == 60
    assert conf["max_requests"] > 0
    assert conf["max_requests_jitter"] > 0
    assert conf["accesslog"] == "-"
    assert conf["errorlog"] == "-"
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"


def test_environment_sets_bind_workers_threads_and_proxies(monkeypatch):
    conf = gunicorn_conf(
        monkeypatch,
        CMETRACK_WEB_BIND="127.0.0.1:9000, unix:/run/cmetrack/web.sock",
        CMETRACK_WEB_WORKERS="3",
        CMETRACK_WEB_THREADS="8",
        CMETRACK_FORWARDED_ALLOW_IPS="10.0.0.5",
        CMETRACK_WEB_ACCESS_LOG="off",
    )
    assert conf["bind"] == ["127.0.0.1:9000", "unix:/run/cmetrack/web.sock"]
    assert (conf["workers"], conf["threads"]) == (3, 8)
    assert conf["forwarded_allow_ips"] == "10.0.0.5"
    assert conf["accesslog"] is None


def access_line(
    monkeypatch: pytest.MonkeyPatch,
    conf: dict[str, Any],
    environ: dict[str, Any],
    headers: list[Any],
) -> str:
    """What the configured logger writes for one request."""
    from gunicorn.config import Config  # type: ignore[import-untyped]

    cfg = Config()
    for name in ("access_log_format", "accesslog", "logger_class"):
        cfg.set(name, conf[name])
    logger = cfg.logger_class(cfg)
    response = SimpleNamespace(status="200 OK", sent=11, headers=headers)
    request = SimpleNamespace(headers=[("USER-AGENT", 'curl "quoted" \\ back')])
    lines: list[str] = []
    monkeypatch.setattr(logger.access_log, "info", lambda fmt, atoms: lines.append(fmt % atoms))
    logger.access(response, request, environ, dt.timedelta(seconds=1, microseconds=250_000))
    [line] = lines
    return line


def test_access_log_is_json_without_the_query_string(monkeypatch):
    conf = gunicorn_conf(monkeypatch)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/find-a-child/?q=Amelia+Quayle",
        "PATH_INFO": '/odd"path\\with\tcontrol',
        "QUERY_STRING": "q=Amelia+Quayle",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
    }
    headers = [("X-Request-ID", 'rid-"1"'), ("Content-Length", "11")]
    line = access_line(monkeypatch, conf, environ, headers)
    entry = json.loads(line)
    assert "Quayle" not in line
    assert "q=" not in line
    assert entry["path"] == '/odd"path\\with\tcontrol'
    assert entry["status"] == 200
    assert entry["duration_ms"] == 1250
    assert entry["request_id"] == 'rid-"1"'
    assert entry["bytes"] == "11"
    assert entry["method"] == "GET"
    dt.datetime.fromisoformat(entry["time"])


def test_access_log_without_a_request_id(monkeypatch):
    conf = gunicorn_conf(monkeypatch)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/", "PATH_INFO": "/",
               "SERVER_PROTOCOL": "HTTP/1.1"}  # fmt: skip
    entry = json.loads(access_line(monkeypatch, conf, environ, []))
    assert entry["request_id"] == "-"
    assert entry["bytes"] == "-"


@pytest.mark.parametrize("at", [0, 59, 1_111_111_109, 1_234_567_890, 2_000_000_000])
def test_smoke_two_factor_codes_match_django_otp(at):
    key = bytes(range(20))
    secret = base64.b32encode(key).decode().rstrip("=")
    typed = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))  # as the page shows
    otp = TOTP(key)  # django-otp's defaults, as the accounts' devices use
    otp.time = at
    assert smoke().totp(typed, at=at + 0.0) == f"{otp.token():06d}"
