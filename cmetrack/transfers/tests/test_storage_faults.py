"""A CTF roll uploaded on a full or read-only disk: the page says so (503), nothing is
recorded and no temporary copy is left. Faults are simulated (CI runs as root)."""

from __future__ import annotations

import errno
import html
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cmetrack.core.tests.faults import files_under, fill_disk, lock_disk
from cmetrack.detection.models import ImportRun
from cmetrack.kit.storage import STORAGE_MESSAGE
from cmetrack.registers.models import RollSnapshot

from .conftest import ROLL_FILE, sample

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_ctf_roll_on_a_full_or_read_only_disk_says_so_and_keeps_nothing(
    schools: dict[str, Any],
    school_user: Callable[[str], Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fault: str,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    client = Client()
    client.force_login(school_user("meadowbank"))
    if fault == "full":
        fill_disk(monkeypatch)
    else:
        lock_disk(monkeypatch, errno.EROFS)
    file = SimpleUploadedFile(ROLL_FILE, sample(ROLL_FILE), "application/xml")
    response = client.post(reverse("transfers:upload"), {"kind": "roll", "file": file})
    assert response.status_code == 503
    page = html.unescape(response.content.decode())
    assert STORAGE_MESSAGE in page
    assert not ImportRun.objects.exists()
    assert not RollSnapshot.objects.exists()
    assert files_under(tmp_path) == []
