"""Forms for the alerts pages, with messages in the GOV.UK style."""

from __future__ import annotations

from typing import Any

from django import forms

from cmetrack.kit.uploads import validate_upload
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.choices import VulnerableGroup

from .models import AlertRule, AlertState, DeletionGround

AGE_CHOICES = [
    ("", "Any age"),
    ("under_11", "Under 11"),
    ("11_to_15", "11 to 15"),
    ("16_plus", "16 or over"),
]


class AlertFilterForm(forms.Form):
    rule = forms.ChoiceField(
        label="Rule", required=False, choices=[("", "Any rule"), *AlertRule.choices]
    )
    school = forms.TypedChoiceField(label="School", required=False, coerce=int, empty_value=None)
    age = forms.ChoiceField(label="Age", required=False, choices=AGE_CHOICES)
    group = forms.ChoiceField(
        label="Vulnerable group",
        required=False,
        choices=[("", "Any group"), ("in_care", "Child in care"), *VulnerableGroup.choices],
    )
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "New or acknowledged"), *AlertState.choices]
    )
    after = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = Organisation.objects.filter(kind=OrganisationKind.SCHOOL).order_by("name")
        self.fields["school"].choices = [  # type: ignore[attr-defined]
            ("", "Any school"),
            *((s.pk, s.name) for s in schools.only("pk", "name")),
        ]


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Why are you dismissing this alert?",
        max_length=300,
        error_messages={
            "required": "Enter why you are dismissing this alert",
            "max_length": "Reason must be 300 characters or fewer",
        },
        widget=forms.Textarea,
    )


class AttachForm(forms.Form):
    case_reference = forms.CharField(
        label="Case reference",
        help_text="For example, CME-000123",
        max_length=12,
        error_messages={"required": "Enter the case reference, like CME-000123"},
    )

    def clean_case_reference(self) -> int:
        value = self.cleaned_data["case_reference"].strip().upper().removeprefix("CME-")
        if not value.isdigit():
            raise forms.ValidationError("Enter the case reference, like CME-000123")
        return int(value)


#: What a school may upload, and what only the local authority may.
SCHOOL_KINDS = [
    ("attendance", "Attendance marks (CSV or Parquet)"),
    ("roll", "Roll snapshot (CSV)"),
    ("deletions", "Deletion returns (CSV)"),
    ("additions", "Addition returns (CSV)"),
]
LA_KINDS = [
    *SCHOOL_KINDS,
    ("allocations", "Admissions allocations (CSV)"),
    ("terms", "Term dates (CSV)"),
    ("closures", "Closure days (CSV)"),
]
#: Uploads through the page are kept small; bulk loads use ``cmetrack import_data``.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="What is in the file?",
        choices=SCHOOL_KINDS,
        error_messages={"required": "Select what is in the file"},
    )
    file = forms.FileField(
        label="Upload a file", error_messages={"required": "Select a file to upload"}
    )
    taken_on = forms.DateField(
        label="Date the roll was taken (rolls only)",
        help_text="For example, 02/10/2025",
        required=False,
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        error_messages={"invalid": "Date the roll was taken must be a real date, like 02/10/2025"},
    )

    def __init__(self, *args: Any, la: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if la:
            self.fields["kind"].choices = LA_KINDS  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        kind = data.get("kind")
        if upload is not None and kind:
            extensions = {"csv", "parquet"} if kind == "attendance" else {"csv"}
            try:
                ext = validate_upload(upload, extensions=extensions, max_bytes=MAX_UPLOAD_BYTES)
            except forms.ValidationError as exc:
                self.add_error("file", exc)
            else:
                if ext == "parquet":
                    upload.seek(0)
                    if upload.read(4) != b"PAR1":
                        self.add_error("file", "The selected file is not a real PARQUET file")
                    upload.seek(0)
        if kind == "roll" and not data.get("taken_on") and "taken_on" not in self.errors:
            self.add_error("taken_on", "Enter the date the roll was taken")
        return data


_DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]


def _date_field(label: str, *, required: bool = True) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        input_formats=_DATE_FORMATS,
        help_text="For example, 03/11/2025",
        error_messages={
            "required": f"Enter the {label[0].lower()}{label[1:]}",
            "invalid": f"{label} must be a real date, like 03/11/2025",
        },
    )


class DeletionReturnForm(forms.Form):
    """A school's deletion return (rules.md section 5), checked like a one-row CSV."""

    upn = forms.CharField(
        label="UPN", max_length=20, error_messages={"required": "Enter the pupil's UPN"}
    )
    legal_given_name = forms.CharField(
        label="Legal first name",
        max_length=100,
        error_messages={"required": "Enter the pupil's legal first name"},
    )
    legal_family_name = forms.CharField(
        label="Legal last name",
        max_length=100,
        error_messages={"required": "Enter the pupil's legal last name"},
    )
    dob = _date_field("Date of birth")
    ground = forms.ChoiceField(
        label="Ground for deletion",
        choices=[("", "Select a ground"), *DeletionGround.choices],
        error_messages={"required": "Select the ground for deletion"},
    )
    deleted_on = _date_field("Date of deletion")
    destination_name = forms.CharField(label="New school, if known", max_length=200, required=False)
    destination_start = _date_field("Start date at the new school, if known", required=False)
    future_address = forms.CharField(
        label="Future address, if known", max_length=300, required=False
    )
    future_postcode = forms.CharField(label="Future postcode", max_length=10, required=False)
    parent_name = forms.CharField(
        label="Parent the pupil lives with", max_length=150, required=False
    )
    parent_phone = forms.CharField(label="Parent's phone number", max_length=40, required=False)
    school_enquiries = forms.CharField(
        label="The school's enquiries (grounds h and i)",
        help_text="What the school did, jointly with the authority, to find the pupil",
        max_length=4000,
        required=False,
    )
    la_enquiries = forms.CharField(
        label="The authority's enquiries (grounds h and i)",
        help_text="What the local authority did to find the pupil",
        max_length=4000,
        required=False,
    )
    leave_ended_on = _date_field("Last day of the authorised leave (ground h)", required=False)
