"""Unique Pupil Numbers (rules.md section 2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.rules import (
    CHECK_LETTERS,
    InvalidUPN,
    is_temporary_upn,
    is_valid_upn,
    normalise_upn,
    upn_check_letter,
    validate_upn,
)

_props = settings(database=None, max_examples=300)

_DIGITS = "0123456789"


# --- Worked examples from rules.md ---------------------------------------------------


@pytest.mark.parametrize(
    ("upn", "valid", "temporary"),
    [
        ("H801200001001", True, False),
        ("B801200005001", True, False),
        ("G80120000101A", True, True),
        ("A950000178301", True, False),
        ("A123456789001", False, False),  # the check letter should be Y
        ("Y123456789001", True, False),
        # Lower case is accepted by the checks (normalise before storing).
        ("h801200001001", True, False),
        ("g80120000101a", True, True),
    ],
)
def test_rules_md_examples(upn: str, valid: bool, temporary: bool) -> None:
    assert is_valid_upn(upn) is valid
    assert is_temporary_upn(upn) is temporary


@pytest.mark.parametrize(
    ("body", "letter"),
    [
        ("801200001001", "H"),
        ("801200005001", "B"),
        ("80120000101A", "G"),
        ("950000178301", "A"),
        ("123456789001", "Y"),
        # Hand-computed: 0 everywhere -> sum 0 -> A; a trailing Z (value 22, weight 13)
        # gives 286 = 12 * 23 + 10 -> L.
        ("000000000000", "A"),
        ("00000000000Z", "L"),
        ("80120000101a", "G"),
    ],
)
def test_upn_check_letter(body: str, letter: str) -> None:
    assert upn_check_letter(body) == letter


@pytest.mark.parametrize(
    ("upn", "message"),
    [
        ("A12345678901", "UPN must be 13 characters; 'A12345678901' has 12"),
        ("H80120000100", "UPN must be 13 characters; 'H80120000100' has 12"),
        ("H8012000010011", "UPN must be 13 characters; 'H8012000010011' has 14"),
        ("", "UPN must be 13 characters; '' has 0"),
        ("A123456789001", "the check letter should be Y, not A"),
        ("I801200001001", "the check letter cannot be I: letters I, O or S are never used"),
        (
            "8801200001001",
            "the first character must be a check letter (a letter other than I, O or S), not '8'",
        ),
        ("H8012X0001001", "characters 2 to 12 must be digits, but character 6 is 'X'"),
        # 8*2 + 1*4 + 2*5 + 1*10 + A(0)*13 = 40 = 23 + 17 -> U
        ("H80120000100A", "the check letter should be U, not H"),
        ("H80120000101S", "the last character cannot be S: letters I, O or S are never used"),
        (
            "H80120000101-",
            "the last character must be a digit, or a letter (not I, O or S) for a temporary"
            " UPN, but it is '-'",
        ),
        (
            " H801200001001",
            "UPN must be 13 characters; ' H801200001001' has 14",
        ),
    ],
)
def test_validate_upn_messages(upn: str, message: str) -> None:
    with pytest.raises(InvalidUPN) as excinfo:
        validate_upn(upn)
    assert str(excinfo.value) == message
    assert isinstance(excinfo.value, ValueError)
    assert not is_valid_upn(upn)


@pytest.mark.parametrize(
    "upn",
    [
        "H801200001O01",  # letter O among the digits
        "H801200001001\n",
        "H\uff1801200001001",  # full-width digit eight
        "H\u066801200001001",  # Arabic-Indic digit eight: str.isdigit() accepts it
        "H80120000101O",  # O is never used, even in a temporary UPN
        "H80120000101I",
    ],
)
def test_invalid_upns(upn: str) -> None:
    assert not is_valid_upn(upn)
    assert not is_temporary_upn(upn)


@pytest.mark.parametrize("upn", ["H801200001001", "B801200005001", "G80120000101A"])
def test_validate_upn_accepts_valid(upn: str) -> None:
    validate_upn(upn)  # does not raise


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "80120000100",
            "the part after the check letter must be 12 characters; '80120000100' has 11",
        ),
        ("80120000100O", "the last character cannot be O: letters I, O or S are never used"),
        ("8012000010A1", "characters 2 to 12 must be digits, but character 12 is 'A'"),
    ],
)
def test_upn_check_letter_rejects_malformed_body(body: str, message: str) -> None:
    with pytest.raises(InvalidUPN) as excinfo:
        upn_check_letter(body)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H801200001001", "H801200001001"),
        (" h801 2000 01001 ", "H801200001001"),
        ("g80120000101a\t", "G80120000101A"),
        ("", ""),
    ],
)
def test_normalise_upn(raw: str, expected: str) -> None:
    assert normalise_upn(raw) == expected


def test_normalised_upn_with_spaces_is_valid() -> None:
    assert not is_valid_upn("H801 2000 01001")
    assert is_valid_upn(normalise_upn("H801 2000 01001"))


def test_check_letters_exclude_i_o_s() -> None:
    assert len(CHECK_LETTERS) == 23
    assert set(CHECK_LETTERS).isdisjoint("IOS")
    assert list(CHECK_LETTERS) == sorted(CHECK_LETTERS)


# --- Properties ----------------------------------------------------------------------

_permanent_bodies = st.text(alphabet=_DIGITS, min_size=12, max_size=12)
_temporary_bodies = st.builds(
    lambda digits, letter: digits + letter,
    st.text(alphabet=_DIGITS, min_size=11, max_size=11),
    st.sampled_from(CHECK_LETTERS),
)
_bodies = st.one_of(_permanent_bodies, _temporary_bodies)


@_props
@given(_bodies)
def test_body_with_its_check_letter_is_valid(body: str) -> None:
    upn = upn_check_letter(body) + body
    assert is_valid_upn(upn)
    assert is_temporary_upn(upn) is body[-1].isalpha()


@_props
@given(_bodies, st.data())
def test_changing_any_one_character_makes_it_invalid(body: str, data: st.DataObject) -> None:
    upn = upn_check_letter(body) + body
    position = data.draw(st.integers(min_value=0, max_value=12), label="position")
    original = upn[position]
    is_letter = position == 0 or (position == 12 and original.isalpha())
    alphabet = CHECK_LETTERS if is_letter else _DIGITS
    replacement = data.draw(
        st.sampled_from([c for c in alphabet if c != original]), label="replacement"
    )
    changed = upn[:position] + replacement + upn[position + 1 :]
    assert not is_valid_upn(changed)
    with pytest.raises(InvalidUPN, match="the check letter should be"):
        validate_upn(changed)


@_props
@given(st.text(max_size=20))
def test_is_valid_upn_never_raises_and_agrees_with_validate(text: str) -> None:
    valid = is_valid_upn(text)
    if valid:
        validate_upn(text)
        assert len(text) == 13
    else:
        with pytest.raises(InvalidUPN):
            validate_upn(text)
