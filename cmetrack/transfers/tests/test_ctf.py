"""Reading, writing and naming CTFs (pure; no database)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.transfers import ctf
from cmetrack.transfers.xmlsafe import Node, XmlRejected

DATA = Path(__file__).parent / "data"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_ctf26_leaver_to_unknown_destination() -> None:
    doc = ctf.read_ctf(sample("9992001_CTF_XXXXXXX_001.xml"))
    assert doc.destination_kind == "unknown"
    assert doc.header.version == "26.0"
    assert doc.header.source == ctf.SchoolRef("999", "2001", "Meadowbank Primary School", "2025")
    assert doc.header.date == date(2026, 7, 17)
    (p,) = doc.pupils
    assert (p.upn, p.former_upn, p.surname, p.forename, p.middle_names) == (
        "K999200124001",
        "G80120000101A",
        "Okonkwo-Hart",
        "Amara",
        "Grace",
    )
    assert (p.preferred_surname, p.former_surname, p.dob, p.sex) == (
        "Hart",
        "Okonkwo",
        date(2016, 3, 27),
        "F",
    )
    assert p.address is not None
    assert p.address.lines == ("14 Willow Crescent", "Eastfield", "Exampleton")
    assert p.address.postcode == "EX1 4WC"
    assert [k for k, _ in p.sections] == ["Contacts", "Attendance", "SENhistory", "SchoolHistory"]
    assert p.contacts[0].name == "Ms Ngozi Okonkwo"
    assert p.contacts[0].phones == ("07700 900123",)
    # Unknown elements are kept as XML, after the element they followed.
    assert [a for a, _ in p.unknown] == ["BasicDetails", "SchoolHistory"]
    assert p.unknown[0][1].startswith("<FSMhistory><FSMreviewDate>2025-09-01")
    assert "&amp;" in p.unknown[1][1]


def test_ctf24_namespaced_other_order_gender_and_address_lines() -> None:
    doc = ctf.read_ctf(sample("9992002_CTF_MMMMMMM_004.xml"))
    assert doc.destination_kind == "outside"
    assert doc.header.version == "24.0"
    assert doc.header.date == date(2024, 4, 19)
    (p,) = doc.pupils
    assert (p.upn, p.surname, p.forename, p.middle_names, p.sex, p.nc_year) == (
        "D999200222005",
        "Kowalski",
        "Jakub",
        "Piotr Adam",
        "M",
        "7",
    )
    assert p.address is not None
    assert p.address.lines == ("Flat 3, 27 Station Road", "Exampleton")
    assert p.address.postcode == "EX2 7SR"
    assert p.unknown[0][1].startswith("<KeyStageAssessments>")


def test_latin1_file_with_several_pupils() -> None:
    doc = ctf.read_ctf(sample("9992001_CTF_9992003_002.xml"))
    assert doc.destination_kind == "school"
    assert [p.surname for p in doc.pupils] == ["Ó Briain", "Patel", "Smith"]
    assert doc.pupils[0].forename == "Siobhán"
    assert doc.pupils[1].preferred_forename == "Ro"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.xml")))
def test_round_trip_keeps_every_pupil_and_unknown_element(name: str) -> None:
    doc = ctf.read_ctf(sample(name))
    written = ctf.write_ctf(doc)
    again = ctf.read_ctf(written)
    assert again.pupils == doc.pupils
    assert again.header == doc.header
    assert ctf.write_ctf(again) == written


def test_unknown_elements_are_written_back_in_place() -> None:
    doc = ctf.read_ctf(sample("9992001_CTF_XXXXXXX_001.xml"))
    text = ctf.write_ctf(doc).decode()
    assert text.index("</BasicDetails>") < text.index("<FSMhistory>") < text.index("<Address>")
    assert text.index("</SchoolHistory>") < text.index('<VendorExtension kind="note">')


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2016-03-27", date(2016, 3, 27)),
        ("2016-03-27T00:00:00", date(2016, 3, 27)),
        ("2016-03-27+01:00", date(2016, 3, 27)),
        ("27/03/2016", date(2016, 3, 27)),
        ("", None),
        ("2016-02-30", None),
    ],
)
def test_dates(value: str, expected: date | None) -> None:
    assert ctf.parse_ctf_date(value) == expected


def _file(pupil: str, dest: str = "<LEA>XXX</LEA><Estab>XXXX</Estab>") -> bytes:
    return (
        "<CTfile><Header><CTFversion>25.0</CTFversion><SourceSchool><LEA>999</LEA>"
        f"<Estab>2001</Estab></SourceSchool><DestSchool>{dest}</DestSchool></Header>"
        f"<CTFpupilData>\n<Pupil>{pupil}</Pupil></CTFpupilData></CTfile>"
    ).encode()


def test_bad_date_names_element_and_line() -> None:
    with pytest.raises(ctf.CtfError) as caught:
        ctf.read_ctf(_file("\n<Surname>A</Surname>\n<DOB>31/31/2015</DOB>"))
    assert (caught.value.line, caught.value.element) == (4, "DOB")
    assert "is not a date" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<Other/>", "not a Common Transfer File"),
        (b"<CTfile/>", "no <Header>"),
        (b"<CTfile><Header><DestSchool/></Header></CTfile>", "no <SourceSchool>"),
        (
            b"<CTfile><Header><SourceSchool><LEA>999</LEA></SourceSchool><DestSchool>"
            b"<LEA>1</LEA><Estab>2</Estab></DestSchool></Header></CTfile>",
            "both <LEA> and <Estab>",
        ),
    ],
)
def test_not_a_ctf(data: bytes, message: str) -> None:
    with pytest.raises(ctf.CtfError, match=message):
        ctf.read_ctf(data)


def test_identity_directly_under_pupil_and_duplicates_kept() -> None:
    pupil = (
        "<UPN>K999200124001</UPN><MiddleNames>Jo</MiddleNames><Surname>Hart</Surname>"
        "<Surname>Hart-Okonkwo</Surname><Forename>Amara</Forename><DOB>2016-03-27</DOB>"
        "<Gender>Female</Gender><Contacts/><Contacts><Contact/></Contacts>"
    )
    doc = ctf.read_ctf(_file(pupil))
    p = doc.pupils[0]
    assert (p.middle_names, p.surname, p.sex) == ("Jo", "Hart", "F")
    assert [a for a, _ in p.unknown] == ["Surname", "Contacts"]
    again = ctf.read_ctf(ctf.write_ctf(doc))
    assert again.pupils == doc.pupils


def test_without_addresses_removes_every_address() -> None:
    doc = ctf.read_ctf(sample("9992001_CTF_XXXXXXX_001.xml"))
    p = doc.pupils[0]
    extra = ("SchoolHistory", "<Move><Address><Postcode>EX9 9ZZ</Postcode></Address></Move>")
    p = ctf.without_addresses(ctf.CtfPupil(**{**p.__dict__, "unknown": (*p.unknown, extra)}))
    text = ctf.write_ctf(ctf.CtfDocument(doc.header, (p,))).decode()
    for needle in ("Willow", "EX1 4WC", "EX9", "<Address", "AddressAsPupil", "Postcode"):
        assert needle not in text
    assert "<FSMhistory>" in text
    assert "Ngozi" in text  # everything else stays


def test_file_names() -> None:
    source = ctf.SchoolRef("999", "2001")
    assert ctf.ctf_file_name(source, ctf.SchoolRef("XXX", "XXXX"), 1) == (
        "9992001_CTF_XXXXXXX_001.xml"
    )
    assert ctf.ctf_file_name(source, ctf.SchoolRef("MMM", "MMMM"), 42) == (
        "9992001_CTF_MMMMMMM_042.xml"
    )
    assert ctf.ctf_file_name(source, ctf.SchoolRef("801", "4001"), 999) == (
        "9992001_CTF_8014001_999.xml"
    )
    with pytest.raises(ValueError, match="001 to 999"):
        ctf.ctf_file_name(source, ctf.SchoolRef("801", "4001"), 1000)
    with pytest.raises(ValueError, match="is not a 3-character LA"):
        ctf.ctf_file_name(ctf.SchoolRef("99", "2001"), source, 1)
    assert ctf.parse_ctf_file_name("9992001_CTF_XXXXXXX_001.xml") == ("9992001", "XXXXXXX", 1)
    assert ctf.parse_ctf_file_name("some/dir/8014001_ctf_9992001_017.XML") == (
        "8014001",
        "9992001",
        17,
    )
    assert ctf.parse_ctf_file_name("pupil.xml") is None


# --- property tests: any pupil written and read back is the same pupil --------------------

_safe = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\ufffe\uffff"
    ),
    max_size=15,
).map(str.strip)
_tag = st.from_regex(r"[A-Z][A-Za-z0-9]{0,6}", fullmatch=True)


@st.composite
def json_trees(draw: st.DrawFn, depth: int = 0) -> dict[str, object]:
    out: dict[str, object] = {"n": draw(_tag)}
    text = draw(_safe)
    if text:
        out["t"] = text
    if depth < 2:
        children = draw(st.lists(json_trees(depth + 1), max_size=2))
        if children:
            out["c"] = children
    return out


@st.composite
def pupils(draw: st.DrawFn) -> ctf.CtfPupil:
    unknown_names = st.sampled_from(["FSMhistory", "NAWdetails", "Vendor", "Extra"])
    anchors = st.sampled_from(["", "UPN", "Surname", "BasicDetails", "Address", "Contacts"])
    unknown = draw(
        st.lists(
            st.tuples(
                anchors, st.builds(lambda n, t: Node(name=n, text=t).to_xml(), unknown_names, _safe)
            ),
            max_size=3,
        )
    )
    has_address = draw(st.booleans())
    return ctf.CtfPupil(
        upn=draw(st.sampled_from(["", "K999200124001"])),
        surname=draw(_safe),
        forename=draw(_safe),
        middle_names=draw(_safe),
        preferred_surname=draw(_safe),
        former_surname=draw(_safe),
        dob=draw(st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2030, 1, 1)))),
        sex=draw(st.sampled_from(["", "F", "M", "U"])),
        nc_year=draw(st.sampled_from(["", "R", "7"])),
        address=ctf.CtfAddress(
            lines=tuple(x for x in draw(st.lists(_safe, max_size=3)) if x),
            postcode=draw(st.sampled_from(["", "EX1 4WC"])),
        )
        if has_address
        else None,
        basic_details=tuple(draw(st.lists(json_trees(), max_size=2))),
        sections=tuple(
            (name, {**draw(json_trees()), "n": name})
            for name in draw(st.sets(st.sampled_from(ctf.KEPT_SECTIONS), max_size=3))
        ),
        unknown=tuple(unknown),
    )


def _doc(*ps: ctf.CtfPupil) -> ctf.CtfDocument:
    return ctf.CtfDocument(
        ctf.CtfHeader(source=ctf.SchoolRef("999", "2001"), dest=ctf.SchoolRef("XXX", "XXXX")), ps
    )


@settings(max_examples=200, deadline=None)
@given(pupils())
def test_read_write_read_is_stable(pupil: ctf.CtfPupil) -> None:
    once = ctf.read_ctf(ctf.write_ctf(_doc(pupil)))
    twice = ctf.read_ctf(ctf.write_ctf(once))
    assert twice.pupils == once.pupils
    p = once.pupils[0]
    # What a person reads is what was written.
    assert (p.surname, p.forename, p.middle_names, p.dob, p.upn) == (
        pupil.surname,
        pupil.forename,
        pupil.middle_names,
        pupil.dob,
        pupil.upn,
    )
    assert sorted(x for _a, x in p.unknown) == sorted(x for _a, x in pupil.unknown)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300).map(lambda b: b"<CTfile><Header>" + b))
def test_fuzz_read_ctf_only_raises_clear_errors(data: bytes) -> None:
    try:
        ctf.read_ctf(data)
    except (XmlRejected, ctf.CtfError) as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(("Line", "The file"))


def test_odd_file_from_an_old_mis() -> None:
    doc = ctf.read_ctf(sample("odd-ctf-from-old-mis.xml"))
    assert doc.destination_kind == "unknown"
    assert doc.header.source.laestab == "9992002"
    assert doc.header.date == date(2026, 2, 11)
    assert doc.header.suppinfo.startswith('Siblings left together; mother said "up north" &')
    assert doc.header.extra == ("<MISExportID>0xBEEF-17</MISExportID>",)
    mia, leo = doc.pupils
    assert (mia.upn, mia.dob, mia.sex, mia.preferred_surname) == (
        "Z801200019044",
        date(2014, 9, 30),
        "F",
        "Novakova",
    )
    assert (leo.upn, leo.forename, leo.sex) == ("", "Leo", "M")
    assert leo.contacts[0].name == "Ivana Novakova"
    again = ctf.read_ctf(ctf.write_ctf(doc))
    assert again.pupils == doc.pupils
    assert again.header == doc.header


def test_utf16_file() -> None:
    text = sample("9992001_CTF_XXXXXXX_001.xml").decode().replace("UTF-8", "UTF-16")
    assert ctf.read_ctf(text.encode("utf-16")).pupils[0].surname == "Okonkwo-Hart"
