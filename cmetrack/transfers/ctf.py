"""Common Transfer Files (rules.md section 7): reading, writing and naming them.

Pure functions over :class:`CtfDocument` (no database). Reading is tolerant of the real
variations between suppliers and versions (CTF 24, 25 and 26): a namespace or none, any
element order, optional sections, identity fields directly under ``<Pupil>`` or inside
``<BasicDetails>``, ``<Sex>`` or the older ``<Gender>``, dates as ``YYYY-MM-DD`` (or with
a time, or ``DD/MM/YYYY``), a BS7666 address or address lines.

Nothing is lost: the sections this service does not interpret (``<Attendance>``,
``<SENhistory>`` and the rest) are kept whole as JSON trees, and elements it does not
know at all are kept as XML fragments anchored after the element they followed, so
:func:`write_ctf` puts them back where they were. Reading, writing and reading again
gives the same :class:`CtfPupil` (tested, also with hypothesis).

A restricted address is never written here by accident: :func:`without_addresses`
removes every address (the pupil's, the contacts', and any unknown element that carries
one) and the export services call it for a child whose address is restricted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from .xmlsafe import DEFAULT_LIMITS, Node, XmlLimits, XmlRejected, escape_text, parse_xml

#: Destination codes that send a file to the lost-pupil area (rules.md section 7).
UNKNOWN_LEA, UNKNOWN_ESTAB = "XXX", "XXXX"
OUTSIDE_LEA, OUTSIDE_ESTAB = "MMM", "MMMM"
DEFAULT_VERSION = "26.0"

#: The pupil's identity fields and where the current schema puts them.
PUPIL_IDENTITY = ("UPN", "UniqueLearnerNumber", "UCI", "Surname", "Forename", "DOB", "Sex")
BASIC_IDENTITY = (
    "FormerUPN",
    "PreferredSurname",
    "FormerSurname",
    "PreferredForename",
    "MiddleNames",
    "NCyearActual",
    "EnrolStatus",
)
#: Sections kept whole (as JSON trees), in the order they are written.
KEPT_SECTIONS = (
    "Phones",
    "Email",
    "Contacts",
    "Attendance",
    "Assessments",
    "SENhistory",
    "SchoolHistory",
    "LookedAfter",
)
#: Every element of ``<Pupil>`` this module knows, in writing order.
PUPIL_ORDER = (
    *PUPIL_IDENTITY,
    "BasicDetails",
    "Phones",
    "Email",
    "Address",
    *KEPT_SECTIONS[2:],
)
_ALIASES = {"gender": "Sex", "middlename": "MiddleNames", "formerupns": "FormerUPN"}
_KNOWN = {n.lower(): n for n in (*PUPIL_ORDER, *BASIC_IDENTITY)} | _ALIASES
ADDRESS_ELEMENTS = frozenset(
    {"address", "bs7666address", "addresslines", "postcode", "addressaspupil", "zip"}
)


class CtfError(Exception):
    """The file is XML but not a usable CTF; says where and what, like :class:`XmlRejected`."""

    def __init__(self, message: str, *, line: int = 0, element: str = "") -> None:
        self.message = message
        self.line = line
        self.element = element
        super().__init__(str(self))

    def __str__(self) -> str:
        return str(XmlRejected(self.message, line=self.line, element=self.element))


@dataclass(frozen=True)
class SchoolRef:
    lea: str = ""
    estab: str = ""
    name: str = ""
    academic_year: str = ""

    @property
    def laestab(self) -> str:
        return f"{self.lea}{self.estab}"

    @property
    def is_unknown(self) -> bool:
        return self.lea.upper() == UNKNOWN_LEA or self.estab.upper() == UNKNOWN_ESTAB

    @property
    def is_outside(self) -> bool:
        return self.lea.upper() == OUTSIDE_LEA or self.estab.upper() == OUTSIDE_ESTAB


@dataclass(frozen=True)
class CtfHeader:
    version: str = DEFAULT_VERSION
    date_time: str = ""
    qualifier: str = "partial"
    supplier_id: str = "cmetrack"
    source: SchoolRef = SchoolRef()
    dest: SchoolRef = SchoolRef()
    suppinfo: str = ""
    document_name: str = "Common Transfer File"
    #: Header elements this module does not know, as XML fragments.
    extra: tuple[str, ...] = ()

    @property
    def date(self) -> date | None:
        return parse_ctf_date(self.date_time)


@dataclass(frozen=True)
class CtfAddress:
    """The pupil's address: readable lines, the postcode and the element as read."""

    lines: tuple[str, ...] = ()
    postcode: str = ""
    tree: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return ", ".join(self.lines)


@dataclass(frozen=True)
class CtfContact:
    """A contact as a person reads it (the full element stays in ``sections``)."""

    name: str
    relationship: str
    responsibility: bool
    phones: tuple[str, ...]


@dataclass(frozen=True)
class CtfPupil:
    upn: str = ""
    uln: str = ""
    uci: str = ""
    surname: str = ""
    forename: str = ""
    dob: date | None = None
    sex: str = ""
    former_upn: str = ""
    preferred_surname: str = ""
    former_surname: str = ""
    preferred_forename: str = ""
    middle_names: str = ""
    nc_year: str = ""
    enrol_status: str = ""
    address: CtfAddress | None = None
    #: Other children of ``<BasicDetails>``, as JSON trees.
    basic_details: tuple[dict[str, Any], ...] = ()
    #: The kept sections by name (each a JSON tree).
    sections: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: Unknown elements: (the known element they followed or "", the XML fragment).
    unknown: tuple[tuple[str, str], ...] = ()
    line: int = field(default=0, compare=False)
    #: The line each identity field was read from (for error messages).
    lines: dict[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, name: str) -> int:
        """The line of ``name`` (an identity element) or else of the ``<Pupil>``."""
        return self.lines.get(name, self.line)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.forename, self.middle_names, self.surname) if p)

    def section(self, name: str) -> Node | None:
        for key, tree in self.sections:
            if key == name:
                return Node.from_json(tree)
        return None

    @property
    def contacts(self) -> list[CtfContact]:
        node = self.section("Contacts")
        if node is None:
            return []
        out = []
        for c in node.all("Contact"):
            phones = c.child("Phones")
            numbers = tuple(p.value("TelephoneNumber") for p in (phones.children if phones else []))
            out.append(
                CtfContact(
                    name=" ".join(
                        x for x in (c.value("Title"), c.value("Forename"), c.value("Surname")) if x
                    ),
                    relationship=c.value("Relationship"),
                    responsibility=c.value("Responsibility").lower() in {"true", "1", "y"},
                    phones=tuple(n for n in numbers if n),
                )
            )
        return out


@dataclass(frozen=True)
class CtfDocument:
    header: CtfHeader
    pupils: tuple[CtfPupil, ...]

    @property
    def destination_kind(self) -> str:
        """ "unknown" (XXX), "outside" (MMM) or "school"."""
        if self.header.dest.is_unknown:
            return "unknown"
        if self.header.dest.is_outside:
            return "outside"
        return "school"


# --- dates -------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d")


def parse_ctf_date(value: str) -> date | None:
    """A CTF date: ``YYYY-MM-DD`` (with or without a time or zone), or ``DD/MM/YYYY``."""
    value = value.strip()
    if not value:
        return None
    head = value[:10] if re.match(r"^\d{4}-\d{2}-\d{2}", value) else value
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    return None


# --- reading -----------------------------------------------------------------------------


def read_ctf(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> CtfDocument:
    """Parse a CTF safely. Raises :class:`XmlRejected` or :class:`CtfError` naming the line
    and element of the first problem; returns nothing half-read."""
    root = parse_xml(data, limits)
    if root.name.lower() != "ctfile":
        raise CtfError(
            f"this is not a Common Transfer File: the first element is <{root.name}>, not <CTfile>",
            line=root.line,
            element=root.name,
        )
    header_node = root.child("Header")
    if header_node is None:
        raise CtfError("the file has no <Header>", line=root.line, element="CTfile")
    header = _header(header_node)
    # Pupils live in <CTFpupilData>; some files put them straight under the root.
    data_node = root.child("CTFpupilData") or root
    pupils = tuple(_pupil(p) for p in data_node.all("Pupil"))
    return CtfDocument(header=header, pupils=pupils)


def _school(node: Node | None) -> SchoolRef:
    if node is None:
        return SchoolRef()
    return SchoolRef(
        lea=node.value("LEA").upper(),
        estab=node.value("Estab").upper(),
        name=node.value("SchoolName"),
        academic_year=node.value("AcademicYear"),
    )


_HEADER_KNOWN = {
    "documentname",
    "ctfversion",
    "datetime",
    "documentqualifier",
    "supplierid",
    "sourceschool",
    "destschool",
    "suppinfo",
}


def _header(node: Node) -> CtfHeader:
    source = node.child("SourceSchool")
    if source is None:
        raise CtfError("the header has no <SourceSchool>", line=node.line, element="Header")
    dest = node.child("DestSchool")
    if dest is None:
        raise CtfError("the header has no <DestSchool>", line=node.line, element="Header")
    for part, name in ((source, "SourceSchool"), (dest, "DestSchool")):
        if not part.value("LEA") or not part.value("Estab"):
            raise CtfError("the school needs both <LEA> and <Estab>", line=part.line, element=name)
    return CtfHeader(
        document_name=node.value("DocumentName") or "Common Transfer File",
        version=node.value("CTFversion"),
        date_time=node.value("DateTime"),
        qualifier=node.value("DocumentQualifier"),
        supplier_id=node.value("SupplierID"),
        source=_school(source),
        dest=_school(dest),
        suppinfo=node.value("Suppinfo"),
        extra=tuple(c.to_xml() for c in node.children if c.name.lower() not in _HEADER_KNOWN),
    )


def _pupil(node: Node) -> CtfPupil:
    values: dict[str, str] = {}
    value_lines: dict[str, int] = {}
    basic_rest: list[dict[str, Any]] = []
    sections: list[tuple[str, dict[str, Any]]] = []
    address: CtfAddress | None = None
    # (the element, where it is written: an element name, "" if not written, None if
    # it is kept as an unknown fragment)
    placed: list[tuple[Node, str | None]] = []

    def take(child: Node) -> str | None:
        canonical = _KNOWN[child.name.lower()]
        where = canonical if canonical in PUPIL_IDENTITY else "BasicDetails"
        if not child.text:
            return ""
        if values.get(canonical):
            return "dup:" + where  # a second value: kept as it came, after the first
        values[canonical] = child.text
        value_lines[canonical] = child.line
        return where

    for child in node.children:
        canonical = _KNOWN.get(child.name.lower())
        if canonical in PUPIL_IDENTITY or canonical in BASIC_IDENTITY:
            placed.append((child, take(child)))
        elif canonical == "BasicDetails":
            for inner in child.children:
                inner_key = _KNOWN.get(inner.name.lower())
                if (inner_key in BASIC_IDENTITY or inner_key in PUPIL_IDENTITY) and not (
                    take(inner) or ""
                ).startswith("dup:"):
                    continue
                basic_rest.append(inner.to_json())
            placed.append((child, "BasicDetails?"))
        elif canonical == "Address" and address is None:
            address = _address(child)
            placed.append((child, "Address"))
        elif canonical in KEPT_SECTIONS and canonical not in dict(sections):
            assert canonical is not None
            sections.append((canonical, child.to_json()))
            placed.append((child, canonical))
        else:
            placed.append((child, None))
    has_basic = bool(basic_rest) or any(values.get(k) for k in BASIC_IDENTITY)
    unknown: list[tuple[str, str]] = []
    anchor = ""
    for child, where in placed:
        if where is None:
            unknown.append((anchor, child.to_xml()))
        elif where.startswith("dup:"):
            unknown.append((where[4:], child.to_xml()))
        elif where == "BasicDetails?" or where == "BasicDetails":
            anchor = "BasicDetails" if has_basic else anchor
        elif where:
            anchor = where
    dob_text = values.get("DOB", "")
    dob = parse_ctf_date(dob_text)
    if dob_text and dob is None:
        raise CtfError(
            f"{dob_text!r} is not a date: use YYYY-MM-DD, for example 2014-03-27",
            line=value_lines.get("DOB", node.line),
            element="DOB",
        )
    return CtfPupil(
        upn=values.get("UPN", "").replace(" ", "").upper(),
        uln=values.get("UniqueLearnerNumber", ""),
        uci=values.get("UCI", ""),
        surname=values.get("Surname", ""),
        forename=values.get("Forename", ""),
        dob=dob,
        sex=_sex(values.get("Sex", "")),
        former_upn=values.get("FormerUPN", "").replace(" ", "").upper(),
        preferred_surname=values.get("PreferredSurname", ""),
        former_surname=values.get("FormerSurname", ""),
        preferred_forename=values.get("PreferredForename", ""),
        middle_names=values.get("MiddleNames", ""),
        nc_year=values.get("NCyearActual", ""),
        enrol_status=values.get("EnrolStatus", ""),
        address=address,
        basic_details=tuple(basic_rest),
        sections=tuple(sections),
        unknown=tuple(unknown),
        line=node.line,
        lines=value_lines,
    )


def _sex(value: str) -> str:
    value = value.strip().upper()
    if value in {"F", "FEMALE", "2"}:
        return "F"
    if value in {"M", "MALE", "1"}:
        return "M"
    return "U" if value else ""


def _address(node: Node) -> CtfAddress:
    lines: list[str] = []
    bs = node.child("BS7666Address")
    if bs is not None:
        first = " ".join(x for x in (bs.value("SAON"), bs.value("PAON"), bs.value("Street")) if x)
        for part in (first, bs.value("Locality"), bs.value("Town"), bs.value("PostTown")):
            if part and part not in lines:
                lines.append(part)
    address_lines = node.child("AddressLines")
    if address_lines is not None:
        lines += [c.text for c in address_lines.children if c.text]
    # Some suppliers put AddressLine1.. straight under <Address>.
    lines += [c.text for c in node.children if c.name.lower().startswith("addressline") and c.text]
    postcode = (node.value("Postcode") or node.value("Zip")).upper()
    return CtfAddress(lines=tuple(lines), postcode=postcode, tree=node.to_json())


# --- writing -----------------------------------------------------------------------------


def _leaf(name: str, value: str, level: int) -> str:
    if not value:
        return ""
    return f"\n{'  ' * level}<{name}>{escape_text(value)}</{name}>"


def _school_xml(name: str, school: SchoolRef, level: int, *, dest: bool) -> str:
    inner = _leaf("LEA", school.lea, level + 1) + _leaf("Estab", school.estab, level + 1)
    if not dest:
        inner += _leaf("SchoolName", school.name, level + 1)
        inner += _leaf("AcademicYear", school.academic_year, level + 1)
    elif school.name:
        inner += _leaf("SchoolName", school.name, level + 1)
    pad = "  " * level
    return f"\n{pad}<{name}>{inner}\n{pad}</{name}>"


def write_ctf(document: CtfDocument) -> bytes:
    """The document as a UTF-8 CTF. Everything read is written back (unknown elements in
    their place); nothing else is added."""
    h = document.header
    header = (
        _leaf("DocumentName", h.document_name or "Common Transfer File", 2)
        + _leaf("CTFversion", h.version or DEFAULT_VERSION, 2)
        + _leaf("DateTime", h.date_time, 2)
        + _leaf("DocumentQualifier", h.qualifier, 2)
        + _leaf("SupplierID", h.supplier_id, 2)
        + _school_xml("SourceSchool", h.source, 2, dest=False)
        + _school_xml("DestSchool", h.dest, 2, dest=True)
        + _leaf("Suppinfo", h.suppinfo, 2)
        + "".join(_fragment(x, 2) for x in h.extra)
    )
    pupils = "".join(_pupil_xml(p) for p in document.pupils)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>'
        f"{header}\n  </Header>\n  <CTFpupilData>{pupils}\n  </CTFpupilData>\n</CTfile>\n"
    )
    return text.encode("utf-8")


def _fragment(xml: str, level: int) -> str:
    return f"\n{'  ' * level}{xml}"


def _tree(tree: dict[str, Any], level: int) -> str:
    return Node.from_json(tree).to_xml(indent=2, level=level)


def _pupil_xml(p: CtfPupil) -> str:
    by_anchor: dict[str, list[str]] = {}
    for anchor, xml in p.unknown:
        by_anchor.setdefault(anchor, []).append(xml)
    written: set[str] = set()
    out: list[str] = [_fragment(x, 3) for x in by_anchor.pop("", [])]

    def emit(name: str, xml: str) -> None:
        if not xml:
            return
        out.append(xml)
        written.add(name)
        out.extend(_fragment(x, 3) for x in by_anchor.pop(name, []))

    identity = {
        "UPN": p.upn,
        "UniqueLearnerNumber": p.uln,
        "UCI": p.uci,
        "Surname": p.surname,
        "Forename": p.forename,
        "DOB": p.dob.isoformat() if p.dob else "",
        "Sex": p.sex,
    }
    basic = {
        "FormerUPN": p.former_upn,
        "PreferredSurname": p.preferred_surname,
        "FormerSurname": p.former_surname,
        "PreferredForename": p.preferred_forename,
        "MiddleNames": p.middle_names,
        "NCyearActual": p.nc_year,
        "EnrolStatus": p.enrol_status,
    }
    sections = dict(p.sections)
    for name in PUPIL_ORDER:
        if name in identity:
            emit(name, _leaf(name, identity[name], 3))
        elif name == "BasicDetails":
            inner = "".join(_leaf(k, v, 4) for k, v in basic.items())
            inner += "".join(_tree(t, 4) for t in p.basic_details)
            emit(name, f"\n      <BasicDetails>{inner}\n      </BasicDetails>" if inner else "")
        elif name == "Address":
            if p.address is not None:
                emit(name, _tree(p.address.tree or address_tree(p.address), 3))
        elif name in sections:
            emit(name, _tree(sections[name], 3))
    # Unknown elements whose anchor was not written this time go at the end, in order.
    for rest in by_anchor.values():
        out.extend(_fragment(x, 3) for x in rest)
    return "\n    <Pupil>" + "".join(out) + "\n    </Pupil>"


def address_tree(address: CtfAddress) -> dict[str, Any]:
    """An ``<Address>`` element with ``<AddressLines>`` and ``<Postcode>``."""
    lines = [
        {"n": f"AddressLine{i}", "t": line} for i, line in enumerate(address.lines[:5], start=1)
    ]
    children: list[dict[str, Any]] = []
    if lines:
        children.append({"n": "AddressLines", "c": lines})
    if address.postcode:
        children.append({"n": "Postcode", "t": address.postcode})
    return {"n": "Address", "c": children}


def _strip_addresses(tree: dict[str, Any]) -> dict[str, Any]:
    out = dict(tree)
    if "c" in tree:
        out["c"] = [
            _strip_addresses(c) for c in tree["c"] if c["n"].lower() not in ADDRESS_ELEMENTS
        ]
    return out


def _mentions_address(xml: str) -> bool:
    try:
        node = parse_xml(xml.encode("utf-8"))
    except XmlRejected:
        return True
    stack = [node]
    while stack:
        current = stack.pop()
        if current.name.lower() in ADDRESS_ELEMENTS:
            return True
        stack.extend(current.children)
    return False


def without_addresses(pupil: CtfPupil) -> CtfPupil:
    """The pupil with no address anywhere: not the pupil's, not a contact's, not in any
    kept section or unknown element. For a child whose address is restricted."""
    return replace(
        pupil,
        address=None,
        basic_details=tuple(
            _strip_addresses(t)
            for t in pupil.basic_details
            if t["n"].lower() not in ADDRESS_ELEMENTS
        ),
        sections=tuple((k, _strip_addresses(t)) for k, t in pupil.sections),
        unknown=tuple((a, x) for a, x in pupil.unknown if not _mentions_address(x)),
    )


# --- file names --------------------------------------------------------------------------

FILE_NAME = re.compile(
    r"^(?P<source>[0-9A-Z]{3}[0-9A-Z]{4})_CTF_(?P<dest>[0-9A-Z]{3}[0-9A-Z]{4})_(?P<serial>\d{3})\.XML$",
    re.IGNORECASE,
)


def academic_year_of(day: date) -> str:
    """The header's ``<AcademicYear>``: the year the academic year of ``day`` began (1
    September), as four digits ("2025" for 2025/26)."""
    return str(day.year if day.month >= 9 else day.year - 1)


def ctf_file_name(source: SchoolRef, dest: SchoolRef, serial: int) -> str:
    """``LLLEEEE_CTF_LLLEEEE_nnn.xml`` (rules.md section 7); ``serial`` from 1 to 999."""
    if not 1 <= serial <= 999:
        raise ValueError("a CTF serial number runs from 001 to 999")
    for school in (source, dest):
        if len(school.lea) != 3 or len(school.estab) != 4:
            raise ValueError(f"{school.laestab!r} is not a 3-character LA and 4-character estab")
    return f"{source.laestab}_CTF_{dest.laestab}_{serial:03d}.xml"


def parse_ctf_file_name(name: str) -> tuple[str, str, int] | None:
    """(source LAESTAB, destination LAESTAB, serial) of a well-named file, else None."""
    found = FILE_NAME.match(name.strip().rsplit("/", 1)[-1])
    if found is None:
        return None
    return found["source"].upper(), found["dest"].upper(), int(found["serial"])
