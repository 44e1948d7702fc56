"""A background import followed in a real Chromium: the bar moves as the worker reports
progress and the page shows the outcome when it is done. Every page passes axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.detection import jobs
from cmetrack.detection.importers import DELETION_COLUMNS
from cmetrack.detection.models import DeletionReturn, ImportKind, ImportRun, ImportStatus

from .factories import make_upn, school, write_csv
from .test_browser_alerts import expect, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_the_progress_bar_follows_a_background_import(
    browser_page: Any, make_user: Any, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    page = browser_page
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    ours = school(estab="2001", name="Oak Primary")
    user = make_user(Role.SCHOOL_USER, organisation=ours)
    rows = [
        ["9992001", make_upn(n), "Sam", f"Pupil{n}", "2014-05-01", "g", "2025-10-06"]
        for n in range(1, 11)
    ]
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, rows)
    run = jobs.import_enqueue(
        actor=Actor(user=user), kind=ImportKind.DELETIONS, file_name=path.name, content=path
    )

    sign_in(page, user)
    page.goto(f"/alerts/imports/{run.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Importing deletions.csv")
    expect(page.locator("progress")).to_be_visible()
    expect(page.get_by_text("Waiting for the import to start.")).to_be_visible()
    # With JavaScript the page follows the run itself: no need for the refresh link.
    expect(page.get_by_role("link", name="Refresh this page")).to_be_hidden()
    assert_accessible(page)

    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.RUNNING,
        stage="Checking rows",
        rows_done=5,
        rows_total=10,
        progress_at=timezone.now(),
    )
    expect(page.get_by_text("5 of 10 rows (50%)", exact=False)).to_be_visible()
    expect(page.get_by_text("Importing: Checking rows")).to_be_visible()
    assert page.locator("progress").get_attribute("value") == "50"

    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.QUEUED)
    claimed = jobs.import_claim(worker="test", run_id=run.pk)
    assert claimed is not None
    jobs.import_process(claimed)
    expect(page.get_by_text("File imported")).to_be_visible()
    expect(page.get_by_text("10 rows read, 10 changed")).to_be_visible()
    assert_accessible(page)
    assert DeletionReturn.objects.count() == 10

    page.get_by_role("link", name="Your imports").first.click()
    expect(page.get_by_role("link", name="deletions.csv")).to_be_visible()
    assert_accessible(page)
    assert errors == []
