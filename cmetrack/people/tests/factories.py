from __future__ import annotations

import datetime as dt

import factory

from cmetrack.people.models import Address, Child


class ChildFactory(factory.django.DjangoModelFactory[Child]):
    class Meta:
        model = Child

    legal_given_names = factory.Faker("first_name", locale="en_GB")
    legal_family_name = factory.Faker("last_name", locale="en_GB")
    dob = dt.date(2015, 3, 14)
    sex = "F"


class AddressFactory(factory.django.DjangoModelFactory[Address]):
    class Meta:
        model = Address

    child = factory.SubFactory(ChildFactory)
    line1 = factory.Faker("street_address", locale="en_GB")
    town = "Exampleton"
    postcode = "EX1 2AB"
