"""The demo authority has children in care with records, a placement alert and plans, and
the Virtual School officer's dashboard shows them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from cmetrack.accounts.models import User
from cmetrack.demo.services import build_demo_authority, demo_email
from cmetrack.virtualschool.models import ChildInCare, PersonalEducationPlan, PlacementAlert

pytestmark = pytest.mark.django_db


def test_the_demo_has_children_in_care_placements_and_plans() -> None:
    build_demo_authority(seed=7, schools=6, pupils=300, cases=60, today=dt.date(2026, 11, 20))
    records = ChildInCare.objects.count()
    assert records >= 2
    assert all(r.child.in_care for r in ChildInCare.objects.select_related("child"))
    assert PersonalEducationPlan.objects.exists()
    assert PlacementAlert.objects.filter(resolved_on__isnull=True).exists()
    client = Client()
    client.force_login(User.objects.get(email=demo_email("virtual.school")))
    page = client.get("/virtual-school/").content.decode()
    assert "Children in care with CME cases" in page
    assert "Moved placement with no school recorded" in page
