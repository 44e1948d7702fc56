"""Error pages and a database outage, under production-like static files (issue 15).

Production serves static files through a strict manifest (``collectstatic`` names each file
by its hash, and asking for a file the manifest does not know is an error). These tests
collect the static files the same way (Django's ``ManifestStaticFilesStorage``, which
WhiteNoise's compressed storage in production extends; compressing takes a minute, so it
is left to the CI smoke run) and render the pages with that storage.

The error pages must render with no database and no session: the tests without the
``db`` mark run with pytest-django's database blocker on, and give the views a session and
user that fail loudly if read. A database that cannot be reached is simulated by making
every new cursor raise ``OperationalError``, as a refused connection does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connections
from django.test import Client, RequestFactory, override_settings
from django.utils.functional import SimpleLazyObject

from cmetrack.accounts.roles import Role
from cmetrack.core import views
from cmetrack.core.errors import RETRY_AFTER_SECONDS
from cmetrack.kit.testing import assert_problem

MANIFEST_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
PAGE_H1 = re.compile(r'<h1 class="govuk-heading-l">([^<]+)</h1>')


def production_storages() -> dict[str, Any]:
    return {**django_settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``collectstatic`` into a fresh folder with the manifest storage, once per module."""
    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(STATIC_ROOT=root, STORAGES=production_storages()):
        call_command("collectstatic", interactive=False, verbosity=0)
    assert (root / "staticfiles.json").exists()
    return root


@pytest.fixture
def manifest_static(collected_static: Path, settings: Any) -> Path:
    """Static files as production serves them: only what the manifest knows."""
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = production_storages()
    return collected_static


class Untouchable:
    """A session or user that fails the test if an error page reads it."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the error page read the {self._what} ({name})")

    def __getitem__(self, key: str) -> Any:
        raise AssertionError(f"the error page read the {self._what} ({key})")


def bare_request(path: str = "/somewhere/") -> Any:
    request: Any = RequestFactory().get(path)
    request.session = Untouchable("session")
    request.user = SimpleLazyObject(lambda: Untouchable("user"))
    request.csp_nonce = "n0nce"
    return request


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def h1(html: str) -> str:
    match = PAGE_H1.search(html)
    assert match, "the page has no heading"
    return match.group(1)


# Error pages without the database or the session ------------------------------------------


@pytest.mark.parametrize(
    ("handler", "status", "heading"),
    [
        (lambda r: views.error_404(r, Exception("x")), 404, "Page not found"),
        (lambda r: views.error_403(r, Exception("x")), 403, "You do not have access to this page"),
        (
            lambda r: views.csrf_failure(r, "CSRF token missing."),
            403,
            "Your form could not be sent",
        ),
        (views.error_500, 500, "Sorry, there is a problem with the service"),
    ],
    ids=["404", "403", "csrf", "500"],
)
def test_error_pages_render_without_database_or_session(manifest_static, handler, status, heading):
    # No db mark: pytest-django blocks every database query in this test.
    response = handler(bare_request())
    html = response.content.decode()
    assert response.status_code == status
    assert h1(html) == heading
    assert f"<title>{heading} – Children missing education – " in html
    assert "Sign out" not in html  # the plain layout: no user, no menu
    assert '<script nonce="n0nce">' in html  # the inline script still runs under the CSP
    # Every asset is named through the manifest (hashed) and exists in the collected files.
    urls = static_urls(html)
    assert "/static/cmetrack/application.css" not in urls
    assert any(re.fullmatch(r"/static/cmetrack/application\.[0-9a-f]{12}\.css", u) for u in urls)
    for url in urls:
        assert (manifest_static / url.removeprefix("/static/")).is_file(), url


def test_500_page_for_a_database_error_is_the_service_unavailable_page(manifest_static):
    try:
        raise OperationalError("could not connect to server: Connection refused")
    except OperationalError:
        response = views.error_500(bare_request("/cases/"))  # as Django calls it: in the except
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert h1(response.content.decode()) == "Sorry, the service is unavailable"


def test_unknown_address_is_the_404_page_under_manifest_storage(manifest_static, client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert h1(response.content.decode()) == "Page not found"


def test_page_not_found_inside_the_service_keeps_sign_out(manifest_static, client, make_user):
    """The view had already loaded the person: the 404 page shows their name and the
    "Sign out" button from that, and reads nothing more (no menu)."""
    client.force_login(make_user(Role.CME_OFFICER, full_name="Robin Quayle"))
    response = client.get("/children/987654/")
    html = response.content.decode()
    assert response.status_code == 404
    assert h1(html) == "Page not found"
    assert "Robin Quayle" in html
    assert "Sign out" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'href="/cases/"' not in html  # no menu: it comes from the database


def test_form_without_its_security_token_gets_the_csrf_page(manifest_static):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/sign-in/", {"username": "a@example.org", "password": "x"})
    assert response.status_code == 403
    assert h1(response.content.decode()) == "Your form could not be sent"
    assert "default-src 'self'" in response["Content-Security-Policy"]


# Pages under the production static-files storage -----------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/sign-in/", "/accessibility/", "/privacy/", "/report-a-child/"])
def test_public_pages_render_under_manifest_storage(manifest_static, client, path):
    response = client.get(path)
    assert response.status_code == 200
    for url in static_urls(response.content.decode()):
        assert (manifest_static / url.removeprefix("/static/")).is_file(), url


@pytest.mark.parametrize(
    "role", [Role.CME_OFFICER, Role.SCHOOL_USER, Role.AUDITOR], ids=lambda r: r.value
)
def test_home_page_renders_under_manifest_storage(manifest_static, client, make_user, role):
    client.force_login(make_user(role))
    response = client.get("/")
    assert response.status_code == 200
    assert "Sign out" in response.content.decode()


# A database that cannot be reached ---------------------------------------------------------


@pytest.fixture
def database_down() -> Iterator[None]:
    """Every query fails as with a refused connection (the test's own transaction stays)."""
    error = OperationalError('connection to server at "127.0.0.1", port 5432 failed')
    with mock.patch.object(connections["default"], "ensure_connection", side_effect=error):
        yield


@pytest.fixture
def signed_in(make_user: Any) -> Client:
    """A signed-in person's browser: the next request loads the session from the database.
    Errors are turned into responses as in production, not raised into the test."""
    browser = Client(raise_request_exception=False)
    browser.force_login(make_user(Role.CME_OFFICER))
    return browser


def assert_service_unavailable_page(response: Any, person_loaded: bool = False) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert h1(html) == "Sorry, the service is unavailable"
    assert "<title>Sorry, the service is unavailable – Children missing education" in html
    # Only a person the request had loaded before the database failed is shown.
    assert ("Sign out" in html) is person_loaded


@pytest.mark.parametrize("path", ["/", "/cases/", "/no-such-page/", "/children/1/"])
def test_database_outage_while_loading_the_session_gives_503(
    manifest_static, signed_in, database_down, path
):
    assert_service_unavailable_page(signed_in.get(path))


def test_database_outage_on_a_form_post_gives_503(manifest_static, signed_in, database_down):
    assert_service_unavailable_page(signed_in.post("/cases/", {"q": "x"}))


def test_database_outage_inside_a_view_gives_503(manifest_static, signed_in):
    with mock.patch.object(views, "HomePresenter", side_effect=InterfaceError("connection closed")):
        response = signed_in.get("/")
    assert_service_unavailable_page(response, person_loaded=True)


def test_database_outage_on_the_api_gives_a_problem_document(signed_in, database_down):
    response = signed_in.get("/api/v1/me")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    problem = assert_problem(response, 503, "service_unavailable")
    assert "Try again" in problem["detail"]


def test_database_outage_on_the_sign_in_form_gives_503(manifest_static, db, database_down):
    browser = Client(raise_request_exception=False)
    response = browser.post(
        "/sign-in/", {"username": "officer@example.org", "password": "a-long-password-1"}
    )
    assert_service_unavailable_page(response)


def test_other_server_errors_stay_500(manifest_static, signed_in):
    with mock.patch.object(views, "HomePresenter", side_effect=RuntimeError("a bug")):
        response = signed_in.get("/")
    assert response.status_code == 500
    assert h1(response.content.decode()) == "Sorry, there is a problem with the service"
    assert "Retry-After" not in response


@pytest.mark.parametrize("status", [404, 500, 503])
def test_error_page_still_answers_when_the_layout_cannot_be_built(settings, tmp_path, status):
    # Static files never collected: the manifest is missing, so static() fails.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = production_storages()
    request = bare_request()
    if status == 404:
        response = views.error_404(request, Exception("x"))
    elif status == 500:
        response = views.error_500(request)
    else:
        try:
            raise OperationalError("the server closed the connection unexpectedly")
        except OperationalError:
            response = views.error_500(request)
    html = response.content.decode()
    assert response.status_code == status
    assert "<h1>" in html
    assert "govuk-template" not in html  # the plain page, not the layout


def test_database_outage_inside_a_view_is_logged_with_its_traceback(
    manifest_static, signed_in, caplog
):
    with mock.patch.object(views, "HomePresenter", side_effect=OperationalError("server gone")):
        response = signed_in.get("/")
    assert response.status_code == 503
    [record] = [r for r in caplog.records if r.name == "cmetrack.core.middleware"]
    assert record.getMessage() == "Database unavailable (OperationalError) for GET /"
    assert record.exc_info is not None
