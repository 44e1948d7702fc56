"""The transfer pages: what each role may do and see, and the GOV.UK error pattern."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.people.models import Address
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import RollSnapshot
from cmetrack.transfers.models import CtfFile, EventKind, LostPupil, SearchRequest, TransferEvent

from .conftest import ROLL_FILE, XXX_FILE, sample

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client: Client, name: str, data: bytes | None = None, **extra: str) -> Any:
    file = SimpleUploadedFile(name, sample(name) if data is None else data, "application/xml")
    return client.post(reverse("transfers:upload"), {"kind": "transfer", "file": file, **extra})


def test_school_uploads_its_leaver_and_the_officer_finds_it(
    schools: dict[str, Any], school_user: Callable[[str], Any], officer: Any
) -> None:
    school = client_for(school_user("meadowbank"))
    assert school.get(reverse("transfers:upload")).status_code == 200
    page = _upload(school, XXX_FILE)
    assert page.status_code == 200
    assert "File uploaded" in page.content.decode()
    assert "1 pupil added to the lost-pupil area" in page.content.decode()
    # The school cannot open the lost-pupil area.
    assert school.get(reverse("transfers:lost-pupils")).status_code == 403
    lost = LostPupil.objects.get()
    assert school.get(reverse("transfers:lost-pupil", args=[lost.pk])).status_code == 403

    cme = client_for(officer)
    listing = cme.get(reverse("transfers:lost-pupils")).content.decode()
    assert "Amara Grace Okonkwo-Hart" in listing
    found = cme.post(
        reverse("transfers:lost-pupils"),
        {"given_names": "Amara", "family_name": "Hart", "dob_day": "27", "dob_month": "3",
         "dob_year": "2016"},
    )  # fmt: skip
    assert found.status_code == 200
    assert "1 possible match" in found.content.decode()
    detail = cme.get(reverse("transfers:lost-pupil", args=[lost.pk])).content.decode()
    assert AuditEvent.objects.filter(
        object_type="transfers.lostpupil", action="view", actor=officer
    ).exists()
    assert "K999200124001" in detail
    assert "Ms Ngozi Okonkwo" in detail
    assert TransferEvent.objects.filter(kind=EventKind.SEARCH).count() == 1


def test_malformed_upload_shows_line_and_element(schools: dict[str, Any], officer: Any) -> None:
    page = _upload(client_for(officer), XXX_FILE, data=b"<CTfile>\n<Header>\n</CTfile>")
    assert page.status_code == 400
    text = page.content.decode()
    assert "Your file was not imported" in text
    assert "Line 3, element &lt;Header&gt;: the XML is not well formed" in text
    assert CtfFile.objects.count() == 0


def test_upload_refuses_a_file_that_is_not_xml(schools: dict[str, Any], officer: Any) -> None:
    file = SimpleUploadedFile("roll.csv", b"a,b\n1,2\n", "text/csv")
    page = client_for(officer).post(reverse("transfers:upload"), {"kind": "transfer", "file": file})
    assert page.status_code == 400
    assert "The selected file must be a XML" in page.content.decode()


def test_roll_from_ctf_through_the_page(
    schools: dict[str, Any], school_user: Callable[[str], Any]
) -> None:
    client = client_for(school_user("meadowbank"))
    file = SimpleUploadedFile(ROLL_FILE, sample(ROLL_FILE), "application/xml")
    page = client.post(reverse("transfers:upload"), {"kind": "roll", "file": file})
    assert page.status_code == 200
    assert "Roll imported" in page.content.decode()
    snapshot = RollSnapshot.objects.get()
    assert (snapshot.school, snapshot.taken_on) == (schools["meadowbank"], date(2025, 10, 2))


def test_forward_and_download_are_scoped(
    schools: dict[str, Any], school_user: Callable[[str], Any], officer: Any
) -> None:
    _upload(client_for(officer), XXX_FILE)
    lost = LostPupil.objects.get()
    cme = client_for(officer)
    bad = cme.post(reverse("transfers:lost-pupil-forward", args=[lost.pk]), {"school": ""})
    assert bad.status_code == 400
    assert "Choose the school to send the file to" in bad.content.decode()
    done = cme.post(
        reverse("transfers:lost-pupil-forward", args=[lost.pk]),
        {"school": schools["riverside"].pk},
    )
    assert done.status_code == 302
    sent = CtfFile.objects.get(direction="sent")
    url = reverse("transfers:file-download", args=[sent.pk])
    mine = client_for(school_user("riverside")).get(url)
    assert mine.status_code == 200
    assert mine["Content-Disposition"] == 'attachment; filename="9992001_CTF_9992003_001.xml"'
    assert client_for(school_user("st_brigids")).get(url).status_code == 404
    # The original (received) file is not the receiving school's to download either.
    received = CtfFile.objects.get(direction="received")
    other = reverse("transfers:file-download", args=[received.pk])
    assert client_for(school_user("riverside")).get(other).status_code == 404


def test_school_asks_officer_forwards_school_downloads(
    schools: dict[str, Any], school_user: Callable[[str], Any], officer: Any
) -> None:
    _upload(client_for(officer), XXX_FILE)
    riverside = client_for(school_user("riverside"))
    form = riverside.post(reverse("transfers:request-new"), {"given_names": ""})
    assert form.status_code == 400
    assert "Enter the pupil&#39;s family name" in form.content.decode()
    made = riverside.post(
        reverse("transfers:request-new"),
        {"given_names": "Amara", "family_name": "Okonkwo", "other_names": "Amara Hart",
         "dob": "27/03/2016", "admitted_on": "08/09/2026", "sex": "F"},
    )  # fmt: skip
    assert made.status_code == 302
    request = SearchRequest.objects.get()
    brigids = client_for(school_user("st_brigids"))
    assert brigids.get(reverse("transfers:request", args=[request.pk])).status_code == 404
    assert "Amara" not in brigids.get(reverse("transfers:requests")).content.decode()

    cme = client_for(officer)
    detail = cme.get(reverse("transfers:request", args=[request.pk])).content.decode()
    assert "Forward this file" in detail
    lost = LostPupil.objects.get()
    cme.post(reverse("transfers:request-forward", args=[request.pk, lost.pk]))
    request.refresh_from_db()
    assert request.status == "forwarded"
    page = riverside.get(reverse("transfers:request", args=[request.pk])).content.decode()
    assert "9992001_CTF_9992003_001.xml" in page


def test_child_export_page(schools: dict[str, Any], officer: Any, make_user: Any) -> None:
    child = ChildFactory.create(upn="K999200124001", legal_given_names="Amara")
    Address.objects.create(
        child=child, line1="3 Refuge Lane", postcode="EL1 1RL", is_restricted=True
    )
    url = reverse("transfers:child-export", args=[child.pk])
    assert client_for(make_user(Role.SLO)).get(url).status_code == 403
    cme = client_for(officer)
    assert cme.get(url).status_code == 200
    page = cme.post(url, {"school": schools["riverside"].pk})
    assert page.status_code == 200
    assert "Transfer file made" in page.content.decode()
    content = bytes(CtfFile.objects.get().content).decode()
    assert "Refuge" not in content
    assert "EL1" not in content


def test_activity_page(schools: dict[str, Any], officer: Any, make_user: Any) -> None:
    _upload(client_for(officer), XXX_FILE)
    page = client_for(make_user(Role.AUDITOR)).get(reverse("transfers:activity"))
    assert page.status_code == 200
    assert "Uploads" in page.content.decode()
    school = client_for(make_user(Role.SCHOOL_USER))
    assert school.get(reverse("transfers:activity")).status_code == 403


def test_child_page_links_officers_to_the_export(officer: Any, make_user: Any) -> None:
    from cmetrack.cases.lifecycle import CaseState
    from cmetrack.cases.tests.factories import case_in_state

    case = case_in_state(CaseState.TRACKING)
    url = reverse("people:child-detail", args=[case.child_id])
    export = reverse("transfers:child-export", args=[case.child_id])
    assert export in client_for(officer).get(url).content.decode()


def test_officer_forwards_to_the_school_where_the_pupil_turned_up(
    schools: dict[str, Any], officer: Any
) -> None:
    snapshot = RollSnapshot.objects.create(
        school=schools["riverside"], taken_on=date(2026, 9, 10), content_hash="x"
    )
    snapshot.entries.create(
        upn="K999200124001", legal_given_name="Amara", legal_family_name="Hart",
        dob=date(2016, 3, 27), sex="F",
    )  # fmt: skip
    cme = client_for(officer)
    _upload(cme, XXX_FILE)
    lost = LostPupil.objects.get()
    page = cme.get(reverse("transfers:lost-pupil", args=[lost.pk])).content.decode()
    assert "Forward to Riverside Academy" in page
    cme.post(
        reverse("transfers:lost-pupil-forward", args=[lost.pk]),
        {"school": schools["riverside"].pk},
    )
    assert CtfFile.objects.get(direction="sent").dest_school == schools["riverside"]


def test_no_file_found_answer_and_taking_a_pupil_out(
    schools: dict[str, Any], school_user: Callable[[str], Any], officer: Any
) -> None:
    from cmetrack.transfers import services

    from .conftest import actor

    riverside = school_user("riverside")
    request = services.search_request_create(
        actor=actor(riverside), given_names="Zed", family_name="Nobody",
        dob=date(2015, 1, 1), admitted_on=date(2026, 9, 8),
    )  # fmt: skip
    cme = client_for(officer)
    url = reverse("transfers:request-not-found", args=[request.pk])
    cme.post(url, {"reason": ""})
    request.refresh_from_db()
    assert request.status == "open"
    cme.post(url, {"reason": "No file matches; ask the family for the school's name"})
    request.refresh_from_db()
    assert request.status == "not_found"
    page = client_for(riverside).get(reverse("transfers:request", args=[request.pk]))
    assert "ask the family for the school" in page.content.decode()

    _upload(cme, XXX_FILE)
    lost = LostPupil.objects.get()
    close = reverse("transfers:lost-pupil-close", args=[lost.pk])
    assert cme.post(close, {"reason": ""}).status_code == 400
    assert cme.post(close, {"reason": "Registered in Wales"}).status_code == 302
    lost.refresh_from_db()
    assert lost.status == "closed"
    assert "Amara" not in cme.get(reverse("transfers:lost-pupils")).content.decode()
