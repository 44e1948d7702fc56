"""Unique Pupil Numbers (rules.md section 2).

A UPN has 13 characters:

====  =====================================================================
1     check letter
2-4   LA number of the issuing school (3 digits)
5-8   establishment number (4 digits)
9-10  year of issue (2 digits)
11-13 serial (3 digits); a *temporary* UPN has a 2-digit serial and a letter
====  =====================================================================

Letters I, O and S are never used.  The check letter is computed from characters
2..13: each character's value is multiplied by its position (2..13), the products are
summed, and the remainder mod 23 indexes :data:`CHECK_LETTERS`.  A digit's value is the
digit; a letter's value (only the last character of a temporary UPN) is its index in
:data:`CHECK_LETTERS`.

Case: the checking functions (:func:`is_valid_upn`, :func:`validate_upn`,
:func:`is_temporary_upn`, :func:`upn_check_letter`) accept lower-case letters, comparing
as if upper-cased, but they do **not** strip whitespace.  Use :func:`normalise_upn` on
anything typed or imported before checking or storing it, so stored UPNs are always
upper-case with no spaces.
"""

from __future__ import annotations

__all__ = [
    "CHECK_LETTERS",
    "UPN_LENGTH",
    "InvalidUPN",
    "is_temporary_upn",
    "is_valid_upn",
    "normalise_upn",
    "upn_check_letter",
    "validate_upn",
]

#: The 23 letters used in UPNs, in check-letter order (A..Z without I, O and S).
CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"

#: Length of a UPN, check letter included.
UPN_LENGTH = 13

_BODY_LENGTH = UPN_LENGTH - 1
_DIGITS = frozenset("0123456789")
_LETTER_VALUES = {letter: index for index, letter in enumerate(CHECK_LETTERS)}
_NEVER_USED = "I, O or S"


class InvalidUPN(ValueError):
    """A string is not a valid UPN.  The message says why, in plain English."""


def normalise_upn(raw: str) -> str:
    """Return ``raw`` with all whitespace removed and letters upper-cased.

    This does not validate; follow it with :func:`validate_upn` or :func:`is_valid_upn`.

    >>> normalise_upn(" h801 2000 01001 ")
    'H801200001001'
    """
    return "".join(raw.split()).upper()


def _body_problem(body: str) -> str | None:
    """Return why ``body`` (characters 2..13 of a UPN, upper-cased) is malformed, if it is.

    Positions in the message are UPN positions (the body starts at position 2).
    """
    if len(body) != _BODY_LENGTH:
        return (
            f"the part after the check letter must be {_BODY_LENGTH} characters; "
            f"{body!r} has {len(body)}"
        )
    for offset, char in enumerate(body[:-1]):
        if char not in _DIGITS:
            return f"characters 2 to 12 must be digits, but character {offset + 2} is {char!r}"
    last = body[-1]
    if last not in _DIGITS and last not in _LETTER_VALUES:
        if last in "IOS":
            return f"the last character cannot be {last}: letters {_NEVER_USED} are never used"
        return (
            "the last character must be a digit, or a letter (not "
            f"{_NEVER_USED}) for a temporary UPN, but it is {last!r}"
        )
    return None


def _check_letter_unchecked(body: str) -> str:
    """Compute the check letter of an already well-formed, upper-case ``body``."""
    total = 0
    for position, char in enumerate(body, start=2):
        value = int(char) if char in _DIGITS else _LETTER_VALUES[char]
        total += value * position
    return CHECK_LETTERS[total % len(CHECK_LETTERS)]


def upn_check_letter(body: str) -> str:
    """Return the check letter for ``body``, the 12 characters that follow it in a UPN.

    ``body`` is 11 digits followed by a digit (permanent UPN) or a letter other than
    I, O and S (temporary UPN).  Lower-case letters are accepted.

    Raises :class:`InvalidUPN` if ``body`` is not of that form.

    >>> upn_check_letter("801200001001")
    'H'
    """
    upper = body.upper()
    problem = _body_problem(upper)
    if problem is not None:
        raise InvalidUPN(problem)
    return _check_letter_unchecked(upper)


def validate_upn(upn: str) -> None:
    """Raise :class:`InvalidUPN` with a plain-English reason unless ``upn`` is valid.

    Accepts permanent and temporary UPNs; lower-case letters are accepted, whitespace
    is not (use :func:`normalise_upn` first).  Messages look like
    ``"UPN must be 13 characters; 'H80120000100' has 12"`` or
    ``"the check letter should be Y, not A"``.
    """
    upper = upn.upper()
    if len(upper) != UPN_LENGTH:
        raise InvalidUPN(f"UPN must be {UPN_LENGTH} characters; {upn!r} has {len(upn)}")
    check = upper[0]
    if check not in _LETTER_VALUES:
        if check in "IOS":
            raise InvalidUPN(
                f"the check letter cannot be {check}: letters {_NEVER_USED} are never used"
            )
        raise InvalidUPN(
            f"the first character must be a check letter (a letter other than {_NEVER_USED}),"
            f" not {upn[0]!r}"
        )
    body = upper[1:]
    problem = _body_problem(body)
    if problem is not None:
        raise InvalidUPN(problem)
    expected = _check_letter_unchecked(body)
    if check != expected:
        raise InvalidUPN(f"the check letter should be {expected}, not {check}")


def is_valid_upn(upn: str) -> bool:
    """Return whether ``upn`` is a valid permanent or temporary UPN.

    Same rules as :func:`validate_upn` (lower-case accepted, whitespace rejected).

    >>> is_valid_upn("A123456789001")
    False
    """
    try:
        validate_upn(upn)
    except InvalidUPN:
        return False
    return True


def is_temporary_upn(upn: str) -> bool:
    """Return whether ``upn`` is a *valid* temporary UPN (its last character is a letter).

    Returns ``False`` for invalid UPNs as well as for valid permanent ones.

    >>> is_temporary_upn("G80120000101A")
    True
    """
    return is_valid_upn(upn) and upn[-1].isalpha()
