"""Web security: the CSP nonce, security headers, safe CSV cells and upload checks."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from cmetrack.accounts.roles import Role
from cmetrack.kit.exports import csv_rows, csv_safe
from cmetrack.kit.uploads import validate_upload

pytestmark = pytest.mark.django_db


def test_csp_has_a_fresh_nonce_and_no_unsafe_inline_script(client):
    first, second = client.get("/sign-in/"), client.get("/sign-in/")
    csp = first["Content-Security-Policy"]
    script_src = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    nonce = re.search(r"'nonce-([^']+)'", script_src)
    assert nonce is not None
    assert nonce.group(1) not in second["Content-Security-Policy"]
    page = first.content.decode()
    # Every inline script carries the nonce; every other script is a file from our origin.
    for tag in re.findall(r"<script[^>]*>", page):
        assert f'nonce="{nonce.group(1)}"' in tag or 'src="/static/' in tag, tag
    assert "frame-ancestors 'none'" in csp
    assert first["X-Frame-Options"] == "DENY"
    assert first["Referrer-Policy"] == "same-origin"
    assert first["X-Content-Type-Options"] == "nosniff"


def test_api_docs_page_works_under_the_csp(client, make_user):
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>", page)
    # Only the JSON settings block (not executed) and scripts from /static/.
    for attrs in scripts:
        assert 'type="application/json"' in attrs or 'src="/static/' in attrs, attrs


def test_signed_in_pages_are_not_cached(client, make_user):
    client.force_login(make_user(Role.CME_OFFICER))
    assert client.get("/")["Cache-Control"] == "no-store"


def test_post_without_csrf_token_is_refused(make_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert (
        strict.post("/sign-in/", {"username": "a@example.org", "password": "x"}).status_code == 403
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+44 7700 900000", "'+44 7700 900000"),
        ("-10", "'-10"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("Smith", "Smith"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_csv_rows_protect_every_cell_including_the_header():
    lines = list(csv_rows(["=H"], [["=A", "ok"], [None, "+B"]]))
    assert lines == ["'=H\r\n", "'=A,ok\r\n", ",'+B\r\n"]


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("name", "content", "extensions", "max_bytes", "error"),
    [
        ("roll.csv", b"upn,name\nA123,Sam\n", ["csv"], 1000, None),
        ("roll.CSV", "upn,name\nA123,Zoë\n".encode("cp1252"), ["csv"], 1000, None),
        ("roll.xlsx", b"PK\x03\x04rest-of-zip", ["csv", "xlsx"], 1000, None),
        ("roll.xml", b'<?xml version="1.0"?><CTfile/>', ["xml"], 1000, None),
        ("roll.exe", b"MZ\x90\x00", ["csv"], 1000, "must be a CSV"),
        ("roll.csv", b"PK\x03\x04zip pretending", ["csv"], 1000, "must be a CSV text file"),
        ("roll.csv", b"MZ\x90\x00binary", ["csv"], 1000, "must be a CSV text file"),
        ("roll.xlsx", b"upn,name\n", ["xlsx"], 1000, "not a real XLSX file"),
        ("roll.pdf", b"<html>", ["pdf"], 1000, "not a real PDF file"),
        ("roll.csv", b"x" * 2001, ["csv"], 2000, "must be smaller than"),
        ("roll.csv", b"", ["csv"], 1000, "is empty"),
        ("roll", b"upn\n", ["csv"], 1000, "must be a CSV"),
    ],
)
def test_validate_upload(name, content, extensions, max_bytes, error):
    f = upload(name, content)
    if error is None:
        assert (
            validate_upload(f, extensions=extensions, max_bytes=max_bytes)
            == name.rsplit(".", 1)[1].lower()
        )
        assert f.read() == content  # left at the start for the importer
    else:
        with pytest.raises(ValidationError, match=error):
            validate_upload(f, extensions=extensions, max_bytes=max_bytes)
