"""Uploading, the lost-pupil area, automatic matching, forwarding, exporting, access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.people.models import Address, FormerUpn, ParentCarer
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import RollEntry, RollSnapshot
from cmetrack.transfers import ctf, selectors, services
from cmetrack.transfers.models import (
    CtfFile,
    CtfPupil,
    Direction,
    EventKind,
    LostPupil,
    LostPupilMatch,
    LostPupilStatus,
    RequestStatus,
    TransferEvent,
)

from .conftest import MMM_FILE, ROLL_FILE, XXX_FILE, actor, sample

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def upload(name: str, user: Any = None) -> services.UploadResult:
    return services.ctf_upload(
        actor=actor(user) if user else SYSTEM, data=sample(name), file_name=name
    )


def test_upload_to_unknown_destination_goes_to_the_lost_pupil_area(
    schools: dict[str, Any], school_user: Callable[[str], Any]
) -> None:
    user = school_user("meadowbank")
    result = upload(XXX_FILE, user)
    assert result.created
    assert result.lost_pupils == 1
    assert result.warnings == []
    stored = result.file
    assert stored.direction == Direction.RECEIVED
    assert (stored.source_school, stored.destination_kind) == (schools["meadowbank"], "unknown")
    lost = LostPupil.objects.get()
    assert lost.pupil.upn == "K999200124001"
    assert lost.status == LostPupilStatus.OPEN
    assert TransferEvent.objects.filter(kind=EventKind.UPLOAD, by=user).count() == 1
    assert AuditEvent.objects.filter(object_type="transfers.ctffile").exists()
    # The same file again is held once.
    again = upload(XXX_FILE, user)
    assert not again.created
    assert again.file == stored
    assert CtfFile.objects.count() == 1
    assert LostPupil.objects.count() == 1


def test_outside_maintained_sector_is_lost_too(schools: dict[str, Any]) -> None:
    result = upload(MMM_FILE)
    assert result.lost_pupils == 1
    assert LostPupil.objects.get().destination_kind == "outside"


def test_file_to_a_named_school_is_not_lost(schools: dict[str, Any]) -> None:
    result = upload(ROLL_FILE)
    assert result.file.dest_school == schools["riverside"]
    assert result.lost_pupils == 0
    assert LostPupil.objects.count() == 0
    assert CtfPupil.objects.count() == 3


def test_a_school_uploads_only_its_own_files(
    schools: dict[str, Any], school_user: Callable[[str], Any], make_user: Callable[..., Any]
) -> None:
    with pytest.raises(services.CtfRejected, match="only upload your own school"):
        upload(XXX_FILE, school_user("st_brigids"))
    from cmetrack.accounts.roles import Role

    with pytest.raises(PermissionDenied):
        upload(XXX_FILE, make_user(Role.AGENCY_USER))
    assert CtfFile.objects.count() == 0
    # The receiving school may upload a file sent to it.
    assert upload(ROLL_FILE, school_user("riverside")).created


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<CTfile>\n<Header>\n</CTfile>", "Line 3, element <Header>: the XML is not well formed"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]><CTfile/>',
            "document type declaration",
        ),
        (b"<a>" * 100 + b"</a>" * 100, "nested more than"),
    ],
)
def test_malformed_and_hostile_files_save_nothing(
    schools: dict[str, Any], data: bytes, expected: str
) -> None:
    with pytest.raises(services.CtfRejected) as caught:
        services.ctf_upload(actor=SYSTEM, data=data, file_name="bad.xml")
    assert expected in str(caught.value)
    assert CtfFile.objects.count() == 0
    assert CtfPupil.objects.count() == 0


def test_a_bad_pupil_rejects_the_whole_file(schools: dict[str, Any]) -> None:
    data = sample(ROLL_FILE).replace(b"N999200124003", b"A123456789001")
    with pytest.raises(services.CtfRejected) as caught:
        services.ctf_upload(actor=SYSTEM, data=data, file_name=ROLL_FILE)
    (problem,) = caught.value.problems
    assert problem.element == "UPN"
    assert "A123456789001 is not a valid UPN" in problem.message
    assert problem.line == 23
    assert CtfFile.objects.count() == 0
    assert CtfPupil.objects.count() == 0


def test_file_name_that_disagrees_with_the_header_is_a_warning(schools: dict[str, Any]) -> None:
    result = services.ctf_upload(
        actor=SYSTEM, data=sample(XXX_FILE), file_name="9992002_CTF_XXXXXXX_001.xml"
    )
    assert result.created
    assert "the header says 9992001 to XXXXXXX" in result.warnings[0]


def _roll(school: Any, taken_on: date, *entries: dict[str, Any]) -> RollSnapshot:
    snapshot = RollSnapshot.objects.create(
        school=school, taken_on=taken_on, content_hash=f"{school.pk}-{taken_on}"
    )
    for e in entries:
        RollEntry.objects.create(
            snapshot=snapshot,
            **{
                "legal_given_name": "Sam",
                "legal_family_name": "Other",
                "dob": date(2015, 1, 1),
                "sex": "M",
                **e,
            },
        )
    return snapshot


AMARA = {
    "upn": "A950000178301",
    "legal_given_name": "Amara",
    "legal_family_name": "Okonkwo-Hart",
    "dob": date(2016, 3, 27),
    "sex": "F",
    "postcode": "EX1 4WC",
}


def test_a_joiner_on_a_later_roll_is_matched_automatically(schools: dict[str, Any]) -> None:
    riverside = schools["riverside"]
    _roll(riverside, date(2026, 5, 1), {"upn": "H801200001001"})
    upload(XXX_FILE)
    later = _roll(riverside, date(2026, 10, 1), {"upn": "H801200001001"}, AMARA)
    found = services.lost_pupils_check_rolls(actor=SYSTEM)
    assert found == 1
    match = LostPupilMatch.objects.get()
    assert (match.school, match.upn, match.roll_date) == (
        riverside,
        "A950000178301",
        later.taken_on,
    )
    assert match.probability >= services.MATCH_THRESHOLD
    assert match.how == "matching"
    assert LostPupil.objects.get().status == LostPupilStatus.POSSIBLE_MATCH
    # Checking again finds nothing new.
    assert services.lost_pupils_check_rolls(actor=SYSTEM) == 0
    assert TransferEvent.objects.filter(kind=EventKind.MATCH).count() == 1


def test_same_upn_matches_and_the_school_left_is_ignored(schools: dict[str, Any]) -> None:
    upload(XXX_FILE)
    same = {**AMARA, "upn": "K999200124001", "legal_given_name": "Ammy"}
    _roll(schools["meadowbank"], date(2026, 9, 10), same)  # the school the pupil left
    _roll(schools["st_brigids"], date(2026, 9, 10), same)
    assert services.lost_pupils_check_rolls(actor=SYSTEM) == 1
    match = LostPupilMatch.objects.get()
    assert (match.school, match.how, match.probability) == (schools["st_brigids"], "upn", 1.0)


def test_a_new_lost_pupil_is_checked_against_the_latest_rolls(schools: dict[str, Any]) -> None:
    _roll(schools["riverside"], date(2026, 9, 10), AMARA)
    result = upload(XXX_FILE)
    assert result.matches == 1


def test_unrelated_joiners_are_not_matched(schools: dict[str, Any]) -> None:
    upload(XXX_FILE)
    _roll(schools["riverside"], date(2026, 9, 10), {"upn": "H801200001001"})
    assert services.lost_pupils_check_rolls(actor=SYSTEM) == 0


def test_forward_round_trip_keeps_the_pupil_and_unknown_elements(
    schools: dict[str, Any], officer: Any, school_user: Callable[[str], Any]
) -> None:
    upload(XXX_FILE)
    lost = LostPupil.objects.get()
    sent = services.lost_pupil_forward(actor=actor(officer), lost=lost, school=schools["riverside"])
    assert sent.file_name == "9992001_CTF_9992003_001.xml"
    assert (sent.direction, sent.dest_school) == (Direction.SENT, schools["riverside"])
    original = ctf.read_ctf(sample(XXX_FILE)).pupils[0]
    forwarded = ctf.read_ctf(bytes(sent.content))
    assert forwarded.header.dest.laestab == "9992003"
    assert forwarded.pupils == (original,)
    lost.refresh_from_db()
    assert lost.status == LostPupilStatus.FORWARDED
    # The next file between the same schools takes the next serial number.
    upload(MMM_FILE)
    second = services.lost_pupil_forward(
        actor=actor(officer),
        lost=LostPupil.objects.get(pupil__upn="D999200222005"),
        school=schools["riverside"],
    )
    assert second.file_name == "9992002_CTF_9992003_001.xml"
    # Only the receiving school (and officers) may download it.
    riverside_user = school_user("riverside")
    assert services.ctf_file_download(actor=actor(riverside_user), file=sent) == bytes(sent.content)
    with pytest.raises(PermissionDenied):
        services.ctf_file_download(actor=actor(school_user("st_brigids")), file=sent)
    assert TransferEvent.objects.filter(kind=EventKind.DOWNLOAD, by=riverside_user).count() == 1


def test_forwarded_file_never_holds_a_restricted_address(
    schools: dict[str, Any], officer: Any
) -> None:
    child = ChildFactory.create(upn="K999200124001")
    Address.objects.create(
        child=child, line1="14 Willow Crescent", town="Exampleton", postcode="EX1 4WC",
        is_restricted=True,
    )  # fmt: skip
    upload(XXX_FILE)
    sent = services.lost_pupil_forward(
        actor=actor(officer), lost=LostPupil.objects.get(), school=schools["riverside"]
    )
    text = bytes(sent.content).decode()
    for needle in ("Willow", "EX1 4WC", "<Address", "AddressAsPupil", "Postcode"):
        assert needle not in text
    assert "Okonkwo-Hart" in text
    assert "<FSMhistory>" in text


def test_child_export_uses_the_record_and_the_last_file(
    schools: dict[str, Any], officer: Any
) -> None:
    child = ChildFactory.create(
        upn="D999200222005", legal_given_names="Jakub", legal_family_name="Kowalski",
        dob=date(2011, 11, 2), sex="M",
    )  # fmt: skip
    Address.objects.create(child=child, line1="9 New Street", town="Exampleton", postcode="EX5 5NS")
    ParentCarer.objects.create(
        child=child, given_names="Anna", family_name="Kowalska", relationship="mother",
        parental_responsibility=True, phone="07700 900555",
    )  # fmt: skip
    upload(MMM_FILE)
    sent = services.child_ctf_export(actor=actor(officer), child=child, school=schools["riverside"])
    assert sent.file_name == "9992002_CTF_9992003_001.xml"
    (p,) = ctf.read_ctf(bytes(sent.content)).pupils
    assert (p.upn, p.forename, p.surname, p.dob) == (
        "D999200222005",
        "Jakub",
        "Kowalski",
        child.dob,
    )
    assert p.address is not None
    assert p.address.lines == ("9 New Street", "Exampleton")
    assert p.contacts[0].name == "Anna Kowalska"
    assert p.contacts[0].phones == ("07700 900555",)
    assert any("KeyStageAssessments" in x for _a, x in p.unknown)  # kept from the old file
    assert TransferEvent.objects.filter(kind=EventKind.EXPORT).count() == 1
    assert AuditEvent.objects.filter(child_id=child.pk, action="export").exists()


def test_child_export_with_restricted_address_has_no_address_at_all(
    schools: dict[str, Any], officer: Any
) -> None:
    child = ChildFactory.create(upn="K999200124001")
    Address.objects.create(
        child=child, line1="1 Old Road", town="Exampleton", postcode="EX7 1OR",
        date_from=date(2020, 1, 1), date_to=date(2025, 1, 1),
    )  # fmt: skip
    Address.objects.create(
        child=child, line1="3 Refuge Lane", town="Elsewhere", postcode="EL1 1RL",
        date_from=date(2025, 1, 2), is_restricted=True,
    )  # fmt: skip
    ParentCarer.objects.create(
        child=child, given_names="Ngozi", family_name="Okonkwo", relationship="mother",
        address="3 Refuge Lane, Elsewhere EL1 1RL",
    )  # fmt: skip
    FormerUpn.objects.create(child=child, upn="G80120000101A")
    upload(XXX_FILE)  # the old school's file has the old address too
    sent = services.child_ctf_export(actor=actor(officer), child=child, school=schools["riverside"])
    text = bytes(sent.content).decode()
    for needle in ("Refuge", "EL1 1RL", "Willow", "EX1 4WC", "Old Road", "<Address", "Postcode"):
        assert needle not in text
    (p,) = ctf.read_ctf(bytes(sent.content)).pupils
    assert p.address is None
    assert p.former_upn == "G80120000101A"


def test_only_officers_forward_and_export(
    schools: dict[str, Any], school_user: Callable[[str], Any]
) -> None:
    upload(XXX_FILE)
    user = school_user("riverside")
    with pytest.raises(PermissionDenied):
        services.lost_pupil_forward(
            actor=actor(user), lost=LostPupil.objects.get(), school=schools["riverside"]
        )
    with pytest.raises(PermissionDenied):
        services.child_ctf_export(
            actor=actor(user), child=ChildFactory.create(), school=schools["riverside"]
        )


def test_school_asks_the_authority_and_sees_only_its_own(
    schools: dict[str, Any], officer: Any, school_user: Callable[[str], Any]
) -> None:
    upload(XXX_FILE)
    riverside, brigids = school_user("riverside"), school_user("st_brigids")
    request = services.search_request_create(
        actor=actor(riverside), given_names="Amara", family_name="Hart",
        dob=date(2016, 3, 27), admitted_on=date(2026, 9, 8),
    )  # fmt: skip
    other = services.search_request_create(
        actor=actor(brigids), given_names="Jo", family_name="Bloggs",
        dob=date(2015, 1, 1), admitted_on=date(2026, 9, 8),
    )  # fmt: skip
    assert list(selectors.requests_visible_to(riverside)) == [request]
    assert list(selectors.requests_visible_to(brigids)) == [other]
    assert set(selectors.requests_visible_to(officer)) == {request, other}
    # The officer searches with what the school gave and forwards the best match.
    from cmetrack.matching.services import SearchQuery

    results = services.lost_pupils_search(
        actor=actor(officer),
        query=SearchQuery(given_names="Amara", family_name="Hart", dob=date(2016, 3, 27)),
        request=request,
    )
    assert results
    assert results[0].register == "lost_pupils"
    lost = LostPupil.objects.get(pk=results[0].ref.pk)
    with pytest.raises(Exception, match="school that asked"):
        services.lost_pupil_forward(
            actor=actor(officer), lost=lost, school=schools["st_brigids"], request=request
        )
    sent = services.lost_pupil_forward(
        actor=actor(officer), lost=lost, school=schools["riverside"], request=request
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.FORWARDED
    assert list(selectors.files_visible_to(riverside).filter(direction="sent")) == [sent]
    assert not selectors.files_visible_to(brigids).filter(pk=sent.pk).exists()
    # The lost-pupil area itself is for CME officers only.
    assert not selectors.lost_pupils_visible_to(riverside).exists()
    with pytest.raises(PermissionDenied):
        services.lost_pupils_search(actor=actor(riverside), query=SearchQuery(family_name="Hart"))


def test_school_users_never_see_lost_pupils_in_find_a_child(
    schools: dict[str, Any], school_user: Callable[[str], Any], officer: Any
) -> None:
    from cmetrack.matching.services import SearchQuery, search_children

    upload(XXX_FILE)
    query = SearchQuery(given_names="Amara", family_name="Okonkwo-Hart", dob=date(2016, 3, 27))
    assert not search_children(user=school_user("meadowbank"), query=query)
    assert [r.register for r in search_children(user=officer, query=query)] == ["lost_pupils"]


def test_activity_by_month(schools: dict[str, Any], officer: Any) -> None:
    upload(XXX_FILE)
    last_month = timezone.now() - timedelta(days=40)
    TransferEvent.objects.create(kind=EventKind.DOWNLOAD, at=last_month)
    TransferEvent.objects.create(kind=EventKind.DOWNLOAD, at=last_month)
    rows = selectors.activity_by_month()
    assert [r.month for r in rows][-1] == timezone.localdate().replace(day=1)
    assert rows[0].downloads == 2
    assert rows[-1].uploads == 1
    assert sum(r.uploads for r in rows) == 1
    assert selectors.activity_by_month(date(2001, 1, 1), date(2001, 2, 28))[1].uploads == 0


def test_lost_pupil_close_needs_a_reason(schools: dict[str, Any], officer: Any) -> None:
    upload(XXX_FILE)
    lost = LostPupil.objects.get()
    with pytest.raises(Exception, match="Enter why"):
        services.lost_pupil_close(actor=actor(officer), lost=lost, reason=" ")
    services.lost_pupil_close(actor=actor(officer), lost=lost, reason="Found at a school in Wales")
    assert not selectors.lost_pupils_visible_to(officer).exists()


def test_paths_are_bytes_safe(tmp_path: Path) -> None:
    assert (tmp_path / "x").parent == tmp_path


def test_demo_lost_pupils(schools: dict[str, Any], officer: Any, school_user: Any) -> None:
    from cmetrack.transfers.demo import demo_lost_pupils

    _roll(schools["riverside"], date(2026, 9, 10), AMARA)
    today = date(2026, 11, 20)
    added = demo_lost_pupils(
        officer=officer,
        school_user=school_user("st_brigids"),
        schools=list(schools.values()),
        seed=1,
        today=today,
    )
    assert added == 3
    assert LostPupilMatch.objects.count() == 1
    assert {x.destination_kind for x in LostPupil.objects.all()} == {"unknown", "outside"}
    assert CtfFile.objects.filter(file_name__startswith="9992002_CTF_XXXXXXX_").count() == 2
    from cmetrack.transfers.models import SearchRequest

    assert SearchRequest.objects.get().family_name == "Varga"


def test_odd_file_is_imported_with_a_warning_for_the_pupil_without_upn(
    schools: dict[str, Any],
) -> None:
    result = services.ctf_upload(
        actor=SYSTEM, data=sample("odd-ctf-from-old-mis.xml"), file_name="export.xml"
    )
    assert result.lost_pupils == 2
    assert any("has no UPN" in w for w in result.warnings)
    assert any("does not follow LLLEEEE_CTF_LLLEEEE_nnn.xml" in w for w in result.warnings)
    assert result.file.source_school == schools["st_brigids"]


def test_a_resent_leaver_file_is_not_added_twice(schools: dict[str, Any]) -> None:
    upload(XXX_FILE)
    resent = sample(XXX_FILE).replace(b"2026-07-17T14:05:11", b"2026-07-18T09:00:00")
    result = services.ctf_upload(actor=SYSTEM, data=resent, file_name=XXX_FILE)
    assert result.created
    assert result.lost_pupils == 0
    assert "K999200124001 is already in the lost-pupil area" in result.warnings[0]
    assert LostPupil.objects.count() == 1


def test_a_file_sent_to_one_of_our_schools_finds_a_lost_pupil(schools: dict[str, Any]) -> None:
    upload(XXX_FILE)
    to_school = (
        sample(XXX_FILE)
        .replace(b"<LEA>XXX</LEA>", b"<LEA>999</LEA>")
        .replace(b"<Estab>XXXX</Estab>", b"<Estab>2003</Estab>")
    )
    result = services.ctf_upload(actor=SYSTEM, data=to_school, file_name="x.xml")
    assert result.matches == 1
    match = LostPupilMatch.objects.get()
    assert (match.school, match.how, match.roll_entry) == (schools["riverside"], "upn", None)
    assert "sent to this school" in match.explanation
    assert LostPupil.objects.get().status == LostPupilStatus.POSSIBLE_MATCH


def test_a_csv_roll_import_checks_its_joiners_against_the_lost_pupil_area(
    schools: dict[str, Any], tmp_path: Any
) -> None:
    """The ordinary roll import (detection's CSV) runs the check itself: no command needed."""
    import csv

    from cmetrack.detection.importers import ROLL_COLUMNS, roll_import

    upload(XXX_FILE)
    path = tmp_path / "roll.csv"
    row: dict[str, Any] = dict.fromkeys(ROLL_COLUMNS, "")
    row.update(
        laestab="9992003",
        upn=AMARA["upn"],
        legal_given_name=AMARA["legal_given_name"],
        legal_family_name=AMARA["legal_family_name"],
        dob=AMARA["dob"].isoformat(),  # type: ignore[attr-defined]
        sex="F",
        postcode=AMARA["postcode"],
        nc_year="5",
        enrolment_status="C",
    )
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ROLL_COLUMNS)
        writer.writeheader()
        writer.writerow(row)
    roll_import(actor=SYSTEM, path=path, file_name="roll.csv", taken_on=date(2026, 10, 1))
    match = LostPupilMatch.objects.get()
    assert (match.school, match.upn) == (schools["riverside"], AMARA["upn"])
    assert LostPupil.objects.get().status == LostPupilStatus.POSSIBLE_MATCH
    # The same file again: nothing new is checked or matched.
    roll_import(actor=SYSTEM, path=path, file_name="roll.csv", taken_on=date(2026, 10, 1))
    assert LostPupilMatch.objects.count() == 1
