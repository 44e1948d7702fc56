"""Find-a-child's errors name their fields."""

from __future__ import annotations

from cmetrack.matching.forms import FindChildForm


def test_a_too_long_value_is_named() -> None:
    form = FindChildForm({"other_names": "x" * 301, "family_name": "Smith"})
    assert not form.is_valid()
    assert form.errors["other_names"] == [
        "Other names the child may be known by must be 300 characters or fewer"
    ]
    long_year = FindChildForm({"family_name": "Smith", "dob_year": "20155"})
    assert not long_year.is_valid()
    assert long_year.errors["dob_year"] == ["Year of birth must be 4 characters or fewer"]
