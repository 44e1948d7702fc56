"""Every download works (issue 17, item 5): a manager walks the report pages from the
dashboard, follows every link inside the reports, and fetches every download found (CSV,
Excel, PDF, the DfE return as submitted). A drill-down's Excel file was a 500 (its sheet
name had a ":")."""

from __future__ import annotations

import html
import io
import re
import zipfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.reports import services
from cmetrack.reports.models import DfeSubmission, TermlyReport

from .conftest import World

Q = "as_at=2026-10-31&from=2026-09-01&to=2026-12-31"
HREF = re.compile(r'href="([^"#]+)')
#: Enough pages to reach every table of every figure; the walk stops there.
MAX_PAGES = 600


def _key(url: str) -> tuple[str, str, str]:
    """A page or download once per table: its path, dimension and grain (not the dates,
    bucket or page number, which change the numbers but not the table)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return (
        parts.path,
        query.get("dimension", [""])[0],
        query.get("grain", [""])[0],
    )


def _is_download(url: str) -> bool:
    path = urlsplit(url).path
    return (
        path.startswith("/reports/export/")
        or path.endswith("/pdf/")
        or path.startswith("/reports/dfe-return/submitted/")
    )


def test_every_download_linked_from_the_reports_works(
    client: Client, make_user: Any, world: World
) -> None:
    client.force_login(make_user(Role.CME_MANAGER))
    # (The page issues a report in the background: issued here directly.)
    services.termly_report_issue(actor=Actor.system("test"), season="autumn", year=2026)
    submitted = client.post(
        reverse("reports:dfe-return") + "?season=autumn&year=2026",
        {"season": "autumn", "year": "2026", "notes": "First submission"},
    )
    assert submitted.status_code == 302
    assert TermlyReport.objects.count() == DfeSubmission.objects.count() == 1

    start = [
        reverse("reports:dashboard") + "?" + Q,
        reverse("reports:trends") + "?grain=term",
        reverse("reports:pace") + "?from=2026-09-01&to=2026-12-31&threshold=5",
        reverse("reports:dfe-return") + "?season=autumn&year=2026",
        reverse("reports:termly-history"),
    ]
    queue = list(start)
    seen = {_key(u) for u in start}
    downloads: dict[tuple[str, str, str], str] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0)
        response = client.get(url)
        assert response.status_code == 200, url
        for href in HREF.findall(response.content.decode()):
            link = html.unescape(href)
            if not link.startswith("/reports/") or "/checklist/" in link:
                continue
            if _is_download(link):
                downloads.setdefault(_key(link), link)
            elif _key(link) not in seen:
                seen.add(_key(link))
                queue.append(link)
    assert not queue, f"the walk stopped after {MAX_PAGES} pages"

    kinds = {"csv": 0, "xlsx": 0, "pdf": 0}
    for url in sorted(downloads.values()):
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        path = urlsplit(url).path
        if path.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(body)) as book:
                assert "xl/worksheets/sheet1.xml" in book.namelist(), url
            kinds["xlsx"] += 1
        elif path.endswith("/pdf/"):
            assert body.startswith(b"%PDF"), url
            kinds["pdf"] += 1
        else:
            assert body.decode("utf-8").count("\n") >= 1, url
            kinds["csv"] += 1
    # The walk reached the drill-downs' downloads (the Excel one was the 500), the
    # termly report's PDF and the DfE return as submitted.
    paths = {path for path, _, _ in downloads}
    assert "/reports/export/cases:cme.xlsx" in paths
    assert any(path.startswith("/reports/dfe-return/submitted/") for path in paths)
    assert kinds["pdf"] == 1
    assert kinds["xlsx"] >= 20
    assert kinds["csv"] >= 20
