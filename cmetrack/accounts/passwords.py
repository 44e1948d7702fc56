"""Password rules after NCSC guidance: long, no composition rules, not a known-bad one.

``AUTH_PASSWORD_VALIDATORS`` uses Django's minimum length (12) and common-password list
(20,000 passwords) plus the two validators here: a maximum length (128, so hashing stays
cheap) and a small shipped list of breached passwords popular in the UK public sector
(``data/breached_passwords.txt``), checked offline, case-insensitively.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

BREACHED_LIST = Path(__file__).parent / "data" / "breached_passwords.txt"


class MaximumLengthValidator:
    def __init__(self, max_length: int = 128) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"Password must be {self.max_length} characters or fewer",
                code="password_too_long",
            )

    def get_help_text(self) -> str:
        return f"Your password must be {self.max_length} characters or fewer."


@cache
def breached_passwords(path: Path = BREACHED_LIST) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


class BreachedPasswordValidator:
    """Refuse a password found in the shipped breached list."""

    def validate(self, password: str, user: Any = None) -> None:
        if password.strip().lower() in breached_passwords():
            raise ValidationError(
                "This password has appeared in a data breach; choose a different one",
                code="password_breached",
            )

    def get_help_text(self) -> str:
        return "Your password must not be one that has appeared in a data breach."
