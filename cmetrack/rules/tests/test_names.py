"""Names and phone numbers as people write them (table-driven)."""

from __future__ import annotations

import pytest

from cmetrack.rules.names import name_problem, normalise_name, phone_problem


@pytest.mark.parametrize(
    "name",
    [
        "Siân",
        "Rhys ap Gwilym",
        "Llŷr",
        "Ó Súilleabháin",
        "Ní Bhriain",
        "O'Brien",
        "D’Arcy",
        "Lloyd-Jones",
        "St. John",
        "Zoë",
        "Nguyễn",
        "Łukasz",
        "محمد",
        "Ελένη",
        "张伟",
    ],
)
def test_names_people_write_are_accepted(name: str) -> None:
    assert name_problem(name, "the last name") is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Smith😀", "The last name must only include letters, spaces, hyphens and apostrophes"),
        ("🙂", "Enter the last name using letters"),
        ("Sm1th", "The last name must not include numbers"),
        ("Smith!", "The last name must only include letters, spaces, hyphens and apostrophes"),
        ("<b>", "The last name must only include letters, spaces, hyphens and apostrophes"),
        ("---", "Enter the last name using letters"),
        ("a" * 101, "Enter the last name in 100 characters or fewer"),
    ],
)
def test_other_names_are_refused_naming_the_field(name: str, problem: str) -> None:
    assert name_problem(name, "the last name") == problem


def test_an_empty_name_is_left_to_the_required_check() -> None:
    assert name_problem("  ", "the last name") is None


def test_normalise_name() -> None:
    assert normalise_name("  Sia\u0302n   Lloyd-Jones ") == "Siân Lloyd-Jones"


@pytest.mark.parametrize(
    "phone",
    ["01632 960 001", "07700 900982", "(01632) 960001", "+44 7700 900 982", "+353 1 234 5678"],
)
def test_phone_numbers_people_write_are_accepted(phone: str) -> None:
    assert phone_problem(phone) is None


@pytest.mark.parametrize(
    ("phone", "problem"),
    [
        (
            "0770090098📞",
            "Enter the phone number using numbers, like 01632 960 001 or +44 7700 900 982",
        ),
        ("ring me", "Enter the phone number using numbers, like 01632 960 001 or +44 7700 900 982"),
        (
            "０７７００ ９００９８２",
            "Enter the phone number using numbers, like 01632 960 001 or +44 7700 900 982",
        ),
        ("01632", "Enter the phone number with 10 or 11 digits, like 01632 960 001"),
        ("+44 12", "Enter the phone number with 8 to 15 digits after the +"),
    ],
)
def test_other_phone_numbers_are_refused(phone: str, problem: str) -> None:
    assert phone_problem(phone) == problem
