from __future__ import annotations

import datetime as dt

import factory

from cmetrack.cases.models import Case
from cmetrack.people.tests.factories import ChildFactory


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    """A bare case row; tests of the lifecycle open cases through the services instead."""

    class Meta:
        model = Case

    child = factory.SubFactory(ChildFactory)
    route = "agency"
    date_referred = dt.date(2026, 10, 1)
