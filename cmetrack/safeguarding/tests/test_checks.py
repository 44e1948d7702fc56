"""The service refuses to start without the children's social care number (DEBUG off)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from cmetrack.safeguarding.checks import social_care_phone_set
from cmetrack.safeguarding.presenters import tel_href


@pytest.mark.parametrize("number", ["", "   ", "the front door (set the number)"])
def test_no_number_is_an_error_with_debug_off(settings: Any, number: str) -> None:
    settings.DEBUG = False
    settings.CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = number
    [error] = social_care_phone_set()
    assert error.id == "safeguarding.E001"
    assert error.is_serious()
    with pytest.raises(SystemCheckError, match="CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE"):
        call_command("check")


def test_no_number_is_a_warning_while_developing(settings: Any) -> None:
    settings.DEBUG = True
    settings.CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = ""
    [warning] = social_care_phone_set()
    assert warning.id == "safeguarding.W001"
    assert not warning.is_serious()


def test_a_number_passes(settings: Any) -> None:
    settings.DEBUG = False
    settings.CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = "01632 960 000"
    assert social_care_phone_set() == []
    call_command("check")


def test_the_number_is_a_link_to_call() -> None:
    assert tel_href("01632 960 000") == "tel:01632960000"
    assert tel_href("+44 1632 960000") == "tel:+441632960000"
    assert tel_href("") == ""
