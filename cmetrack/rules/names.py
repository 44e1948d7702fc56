"""People's names and phone numbers as people write them (pure; no Django).

A name may be written in any alphabet, with accents (Siân, Zoë, Ó Súilleabháin), spaces,
hyphens (Lloyd-Jones), apostrophes, straight or curly (O'Brien, D’Arcy), and full stops
(St. John). It may not hold digits, emoji or other symbols. A phone number is digits with
the spaces, brackets, hyphens and a leading + people type; a UK number has 10 or 11 digits
(01632 960 000, 07700 900123), an international one (+44 7700 900123, +353 1 234 5678) 8 to
15 after the +.
"""

from __future__ import annotations

import unicodedata

#: Characters a name may hold besides letters and combining marks.
NAME_PUNCTUATION = frozenset(" -'’‘.")
MAX_NAME_LENGTH = 100


def name_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not a name people would write, in words naming the field (``what``,
    for example "the child's last name"), or None when it is one."""
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_NAME_LENGTH:
        return f"Enter {what} in {MAX_NAME_LENGTH} characters or fewer"
    if not any(unicodedata.category(ch).startswith("L") for ch in text):
        return f"Enter {what} using letters"
    for ch in text:
        category = unicodedata.category(ch)
        if category.startswith("L") or category.startswith("M") or ch in NAME_PUNCTUATION:
            continue
        if category == "Nd":
            return f"{_capital(what)} must not include numbers"
        return f"{_capital(what)} must only include letters, spaces, hyphens and apostrophes"
    return None


def normalise_name(value: str) -> str:
    """Surrounding spaces gone, runs of spaces made one, composed accents (NFC)."""
    return " ".join(unicodedata.normalize("NFC", value).split())


PHONE_PUNCTUATION = frozenset(" ()-")


def phone_problem(value: str, what: str = "the phone number") -> str | None:
    """Why ``value`` is not a phone number, in words naming the field, or None."""
    text = value.strip()
    if not text:
        return None
    body = text[1:] if text.startswith("+") else text
    for ch in body:
        if not (ch.isascii() and ch.isdigit()) and ch not in PHONE_PUNCTUATION:
            return f"Enter {what} using numbers, like 01632 960 001 or +44 7700 900 982"
    digits = sum(ch.isdigit() for ch in body)
    if text.startswith("+"):
        if not 8 <= digits <= 15:
            return f"Enter {what} with 8 to 15 digits after the +"
    elif not 10 <= digits <= 11:
        return f"Enter {what} with 10 or 11 digits, like 01632 960 001"
    return None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
