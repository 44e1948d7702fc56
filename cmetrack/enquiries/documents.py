"""The structured files: an enquiry and its reply as JSON, and their published JSON Schema.

The pydantic models below are the one definition: ``docs/enquiry-schema.json`` is generated
from them (:func:`json_schema`, checked by a test), outgoing files are built through them,
and an imported reply is validated by them, with each problem named by its place in the file
(``outcome: ...``) in words the sender can act on.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .models import ReplyOutcome

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "https://cmetrack.example/schemas/enquiry-schema.json"
MAX_REPLY_BYTES = 256 * 1024

Text = Annotated[str, Field(max_length=2000)]
Short = Annotated[str, Field(max_length=300)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Authority(_Strict):
    authority_code: Annotated[str, Field(pattern=r"^\d{3}$", description="DfE LA code")]
    authority_name: Short


class Sender(Authority):
    officer_name: Short
    officer_email: Email | Literal[""] = ""
    case_reference: Short


class Recipient(Authority):
    contact_name: Short
    contact_role: Short = ""
    contact_email: Email


class PersonName(_Strict):
    given_names: Short
    middle_names: Short = ""
    family_name: Short


class ParentCarerOut(_Strict):
    name: Short
    relationship: Short
    parental_responsibility: bool


class ChildDetails(_Strict):
    """The child as the sending authority knows it: only the items the officer chose."""

    legal_name: PersonName | None = None
    aliases: list[Short] | None = None
    date_of_birth: dt.date | None = None
    sex: Literal["Female", "Male", "Not known"] | None = None
    gender: Short | None = None
    ethnicity: Short | None = None
    upn: Short | None = None
    former_upns: list[Short] | None = None


class Family(_Strict):
    parents_carers: list[ParentCarerOut] | None = None
    siblings: list[Short] | None = None


class History(_Strict):
    previous_addresses: list[Short] | None = Field(
        default=None,
        description="Last known address first, then earlier ones. Never a restricted address.",
    )
    previous_school: Short | None = None
    date_of_last_attendance: dt.date | None = None
    date_left_area: dt.date | None = None
    possible_new_address: Short | None = None
    possible_new_school: Short | None = None
    country_of_origin: Short | None = None


class Vulnerability(_Strict):
    reason_for_leaving: Text | None = None
    child_protection: bool | None = None
    looked_after: bool | None = None
    private_fostering: bool | None = None
    asylum_seeker: bool | None = None
    youth_justice: bool | None = None
    attendance_interventions: Text | None = Field(
        default=None, description="Including pending prosecutions."
    )
    sen_status: Short | None = None
    other: Text | None = None


class EnquiryDocument(_Strict):
    """An enquiry to one named authority about one child (forms.md section 5)."""

    document_type: Literal["cme_enquiry"] = "cme_enquiry"
    schema_version: Literal["1.0"] = "1.0"
    reference: Annotated[str, Field(max_length=20)]
    sent_on: dt.date
    reply_due_on: dt.date
    sender: Sender
    recipient: Recipient
    reason_linked: Annotated[str, Field(min_length=1, max_length=2000)]
    child: ChildDetails
    family: Family
    history: History
    vulnerability: Vulnerability


class Responder(Authority):
    responder_name: Short
    responder_role: Short = ""


class ReplyDocument(_Strict):
    """The other authority's answer to an enquiry, whatever the result."""

    document_type: Literal["cme_enquiry_reply"] = "cme_enquiry_reply"
    schema_version: Literal["1.0"] = "1.0"
    enquiry_reference: Annotated[str, Field(min_length=1, max_length=20)]
    replied_on: dt.date
    responder: Responder
    outcome: ReplyOutcome
    details: Text = ""
    school: Short = ""
    address: Short = ""


class MoveNoticeDocument(_Strict):
    """Our notice to the named CME contact of the authority a child moved to: who the
    child is, what we know, never a restricted address (no reply document: they
    acknowledge it)."""

    document_type: Literal["cme_move_notice"] = "cme_move_notice"
    schema_version: Literal["1.0"] = "1.0"
    reference: Annotated[str, Field(max_length=20)]
    sent_on: dt.date
    sender: Sender
    recipient: Recipient
    details: Text = Field(default="", description="What the officer added (checked).")
    child: ChildDetails
    family: Family
    history: History
    vulnerability: Vulnerability


Document = Annotated[EnquiryDocument | ReplyDocument, Field(discriminator="document_type")]
_adapter: TypeAdapter[EnquiryDocument | ReplyDocument] = TypeAdapter(Document)
#: Every document the system sends or takes (imports parse only enquiries and replies).
Published = Annotated[
    EnquiryDocument | ReplyDocument | MoveNoticeDocument, Field(discriminator="document_type")
]
_published: TypeAdapter[EnquiryDocument | ReplyDocument | MoveNoticeDocument] = TypeAdapter(
    Published
)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema (docs/enquiry-schema.json): an enquiry, a reply or a
    notice that a child moved to the authority."""
    schema = _published.json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Inter-authority enquiry about a child missing education, its reply, "
        "or the notice that a child moved",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


class DocumentError(Exception):
    """A file that is not a valid document; ``problems`` lists each, in the sender's terms."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _place(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("cme_enquiry", "cme_enquiry_reply")]
    return ".".join(parts) or "the file"


def _problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        message = error["msg"]
        if error["type"] == "missing":
            message = "is missing"
        elif error["type"] == "extra_forbidden":
            message = "is not a field of the schema"
        elif error["type"] == "enum":
            message = "must be one of " + ", ".join(o.value for o in ReplyOutcome)
        elif error["type"] == "union_tag_invalid":
            message = 'must be "cme_enquiry" or "cme_enquiry_reply"'
        problems.append(f"{_place(tuple(error['loc']))}: {message}")
    return problems


def parse_document(raw: bytes | str) -> EnquiryDocument | ReplyDocument:
    """Parse and validate a JSON file against the schema, or raise :class:`DocumentError`."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_REPLY_BYTES:
            raise DocumentError([f"The file must be smaller than {MAX_REPLY_BYTES // 1024}KB"])
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(["The file must be JSON text (UTF-8)"]) from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            [f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]
        ) from exc
    if not isinstance(data, dict):
        raise DocumentError(["The file must hold one JSON object"])
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        raise DocumentError(_problems(exc)) from exc


def parse_reply(raw: bytes | str) -> ReplyDocument:
    document = parse_document(raw)
    if not isinstance(document, ReplyDocument):
        raise DocumentError(
            ['document_type: this is an enquiry, not a reply ("cme_enquiry_reply")']
        )
    return document


def parse_enquiry(raw: bytes | str) -> EnquiryDocument:
    document = parse_document(raw)
    if not isinstance(document, EnquiryDocument):
        raise DocumentError(['document_type: this is a reply, not an enquiry ("cme_enquiry")'])
    return document


def dump(document: BaseModel) -> str:
    """The document as JSON text, leaving out items that were not shared (None)."""
    return document.model_dump_json(indent=2, exclude_none=True) + "\n"
