"""Forms of the transfer-file pages, with messages in the GOV.UK style."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from cmetrack.kit.uploads import validate_upload
from cmetrack.matching.forms import FindChildForm
from cmetrack.organisations.models import Organisation, OrganisationKind

#: A whole school's CTF with attendance fits comfortably; the parser has its own limits.
MAX_CTF_BYTES = 50 * 1024 * 1024
_DATE_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]


class UploadKind:
    TRANSFER = "transfer"
    ROLL = "roll"


class CtfUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="What is the file?",
        choices=[
            (UploadKind.TRANSFER, "A transfer file for pupils who left or joined a school"),
            (UploadKind.ROLL, "The school's roll: every pupil on roll on one date"),
        ],
        initial=UploadKind.TRANSFER,
        error_messages={"required": "Select what the file is"},
    )
    file = forms.FileField(
        label="Upload a Common Transfer File (XML)",
        error_messages={"required": "Select a CTF file to upload"},
    )
    taken_on = forms.DateField(
        label="Date the roll was taken (rolls only, if not the date in the file)",
        help_text="For example, 02/10/2025",
        required=False,
        input_formats=_DATE_FORMATS,
        error_messages={"invalid": "Date the roll was taken must be a real date, like 02/10/2025"},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        validate_upload(upload, extensions={"xml"}, max_bytes=MAX_CTF_BYTES)
        return upload


class LostPupilSearchForm(FindChildForm):
    """The find-a-child fields, searching only the lost-pupil area."""


def _school_choices() -> list[tuple[str, str]]:
    schools = (
        Organisation.objects.filter(kind=OrganisationKind.SCHOOL, is_active=True)
        .exclude(estab_number="")
        .select_related("local_authority")
        .order_by("name")
    )
    return [("", "Choose a school")] + [(str(s.pk), f"{s.name} ({s.laestab})") for s in schools]


class SchoolChoiceForm(forms.Form):
    school = forms.ChoiceField(
        label="School to send the file to",
        error_messages={"required": "Choose the school to send the file to"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"].choices = _school_choices()  # type: ignore[attr-defined]

    def clean_school(self) -> Organisation:
        value = self.cleaned_data["school"]
        school = (
            Organisation.objects.filter(kind=OrganisationKind.SCHOOL, pk=value)
            .select_related("local_authority")
            .first()
        )
        if school is None:
            raise forms.ValidationError("Choose the school to send the file to")
        return school


class SearchRequestForm(forms.Form):
    given_names = forms.CharField(
        label="Given names",
        max_length=100,
        error_messages={"required": "Enter the pupil's given names"},
    )
    family_name = forms.CharField(
        label="Family name",
        max_length=100,
        error_messages={"required": "Enter the pupil's family name"},
    )
    other_names = forms.CharField(
        label="Other names the pupil has used (optional)", max_length=200, required=False
    )
    dob = forms.DateField(
        label="Date of birth",
        help_text="For example, 27/03/2016",
        input_formats=_DATE_FORMATS,
        error_messages={
            "required": "Enter the pupil's date of birth",
            "invalid": "Date of birth must be a real date, like 27/03/2016",
        },
    )
    sex = forms.ChoiceField(
        label="Sex",
        required=False,
        choices=[("", "Not known"), ("F", "Female"), ("M", "Male")],
    )
    upn = forms.CharField(
        label="UPN, if the pupil has one (optional)", max_length=20, required=False
    )
    admitted_on = forms.DateField(
        label="Date your school admitted the pupil",
        help_text="For example, 08/09/2026",
        input_formats=_DATE_FORMATS,
        error_messages={
            "required": "Enter the date your school admitted the pupil",
            "invalid": "Date admitted must be a real date, like 08/09/2026",
        },
    )
    previous_school = forms.CharField(
        label="What the family told you about the previous school (optional)",
        max_length=200,
        required=False,
    )

    def clean_dob(self) -> Any:
        dob = self.cleaned_data["dob"]
        if dob >= timezone.localdate():
            raise forms.ValidationError("Date of birth must be in the past")
        return dob


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Why",
        max_length=500,
        widget=forms.Textarea,
        error_messages={"required": "Enter why"},
    )


def error_list(form: forms.Form) -> list[dict[str, str]]:
    out = []
    for name, messages in form.errors.items():
        anchor = f"#id_{name}" if name != "__all__" else "#main-content"
        out += [{"text": str(m), "href": anchor} for m in messages]
    return out
