"""The provision import on a full or read-only disk: the page says so (503), nothing is
recorded and no temporary copy is left. Faults are simulated (CI runs as root)."""

from __future__ import annotations

import errno
import html
import tempfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.core.tests.faults import files_under, fill_disk, lock_disk
from cmetrack.kit.storage import STORAGE_MESSAGE
from cmetrack.provision.models import PlaceFigure, ProvisionImport

from .factories import provider, today

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_an_import_on_a_full_or_read_only_disk_says_so_and_keeps_nothing(
    client, make_user, monkeypatch, tmp_path, fault
):
    provider("Northgate Academy", estab="4001")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    client.force_login(make_user(Role.ADMISSIONS))
    if fault == "full":
        fill_disk(monkeypatch)
    else:
        lock_disk(monkeypatch, errno.EROFS)
    upload = SimpleUploadedFile(
        "places.csv", f"laestab,year_group,places,as_of\n9994001,8,2,{today()}\n".encode()
    )
    response = client.post(reverse("provision:import"), {"kind": "places", "file": upload})
    assert response.status_code == 503
    page = html.unescape(response.content.decode())
    assert STORAGE_MESSAGE in page
    assert "There is a problem" in page
    assert not ProvisionImport.objects.exists()
    assert not PlaceFigure.objects.exists()
    assert files_under(tmp_path) == []
