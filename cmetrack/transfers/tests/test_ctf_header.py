"""Issue 17 item 8: the files cmetrack writes carry the full header (LEA, Estab, SchoolName,
AcademicYear in SourceSchool; LEA and Estab in DestSchool, as the DfE's CTF structure has
them), forwarding keeps what the school sent, and the authority's own export holds the
pupil's basic details and school history where known."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.cases import services as case_services
from cmetrack.cases.models import ReferralRoute
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.transfers import ctf, services
from cmetrack.transfers.models import LostPupil

from .conftest import MMM_FILE, XXX_FILE, actor, sample

pytestmark = pytest.mark.django_db

#: The header's elements in the order the DfE's CTF structure gives them.
HEADER_ORDER = [
    "DocumentName", "CTFversion", "DateTime", "DocumentQualifier", "SupplierID",
    "SourceSchool", "DestSchool",
]  # fmt: skip
SOURCE_ORDER = ["LEA", "Estab", "SchoolName", "AcademicYear"]


def _header(content: bytes) -> ET.Element:
    root = ET.fromstring(content)  # noqa: S314
    assert root.tag == "CTfile"
    header = root.find("Header")
    assert header is not None
    return header


def _check_structure(content: bytes) -> ET.Element:
    header = _header(content)
    tags = [e.tag for e in header if e.tag in HEADER_ORDER]
    assert tags == HEADER_ORDER
    source = header.find("SourceSchool")
    assert source is not None
    assert [e.tag for e in source] == SOURCE_ORDER
    assert all((e.text or "").strip() for e in source), "every SourceSchool item is filled"
    dest = header.find("DestSchool")
    assert dest is not None
    assert [e.tag for e in dest][:2] == ["LEA", "Estab"]
    assert len(source.findtext("LEA") or "") == 3
    assert len(source.findtext("Estab") or "") == 4
    return header


def test_academic_year_is_the_year_it_began() -> None:
    assert ctf.academic_year_of(date(2026, 8, 31)) == "2025"
    assert ctf.academic_year_of(date(2026, 9, 1)) == "2026"
    assert ctf.academic_year_of(date(2027, 1, 5)) == "2026"


def test_forwarding_keeps_the_header_the_school_sent(schools: dict[str, Any], officer: Any) -> None:
    services.ctf_upload(actor=actor(officer), data=sample(MMM_FILE), file_name=MMM_FILE)
    sent = services.lost_pupil_forward(
        actor=actor(officer), lost=LostPupil.objects.get(), school=schools["riverside"]
    )
    header = _check_structure(bytes(sent.content))
    original = ctf.read_ctf(sample(MMM_FILE)).header.source
    assert header.findtext("SourceSchool/AcademicYear") == original.academic_year == "2023"
    assert header.findtext("SourceSchool/SchoolName") == original.name
    assert header.findtext("DestSchool/LEA") == "999"
    assert header.findtext("DestSchool/Estab") == "2003"


def test_the_authoritys_own_export_has_a_full_header_and_a_full_pupil(
    schools: dict[str, Any], officer: Any
) -> None:
    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Nowak", dob=date(2015, 3, 14), sex="F",
        upn="", ethnicity="WBRI", sen_provision="K",
    )  # fmt: skip
    case = case_services.case_open(
        actor=Actor.system("test"), child=child, route=ReferralRoute.SCHOOL,
        date_referred=timezone.localdate(),
    )  # fmt: skip
    case.last_education_school = schools["meadowbank"]
    case.last_education_date = date(2026, 7, 10)
    case.save(update_fields=["last_education_school", "last_education_date"])
    sent = services.child_ctf_export(actor=actor(officer), child=child, school=schools["riverside"])
    header = _check_structure(bytes(sent.content))
    assert header.findtext("SourceSchool/LEA") == str(settings.CMETRACK_LA_CODE)
    assert header.findtext("SourceSchool/SchoolName") == settings.CMETRACK_LA_NAME
    assert header.findtext("SourceSchool/AcademicYear") == ctf.academic_year_of(
        timezone.localdate()
    )
    (pupil,) = ctf.read_ctf(bytes(sent.content)).pupils
    assert pupil.nc_year  # worked out from the date of birth
    assert {"n": "Ethnicity", "t": "WBRI"} in pupil.basic_details
    school = _pupil_xml(sent.content).find("SchoolHistory/School")
    assert school is not None
    assert school.findtext("SchoolName") == "Meadowbank Primary School"
    assert pupil.section("SENhistory") is not None


def _pupil_xml(content: Any) -> ET.Element:
    root = ET.fromstring(bytes(content))  # noqa: S314
    pupil = root.find("CTFpupilData/Pupil")
    assert pupil is not None
    school = pupil.find("SchoolHistory/School")
    assert school is not None
    assert (school.findtext("LEA"), school.findtext("Estab")) == ("999", "2001")
    assert school.findtext("LeavingDate") == "2026-07-10"
    return pupil


def test_an_export_after_a_received_file_keeps_its_school_and_year(
    schools: dict[str, Any], officer: Any
) -> None:
    services.ctf_upload(actor=actor(officer), data=sample(XXX_FILE), file_name=XXX_FILE)
    (received,) = ctf.read_ctf(sample(XXX_FILE)).pupils
    child = ChildFactory.create(upn=received.upn, dob=received.dob)
    sent = services.child_ctf_export(actor=actor(officer), child=child, school=schools["riverside"])
    header = _check_structure(bytes(sent.content))
    assert header.findtext("SourceSchool/AcademicYear") == "2025"
    assert header.findtext("SourceSchool/SchoolName") == "Meadowbank Primary School"
