"""Factories for users and organisations; synthetic data only.

Use ``XFactory.create(...)`` in typed code: it is typed to return the model.
"""

from __future__ import annotations

from typing import Any

import factory

from cmetrack.accounts.models import User, UserRole
from cmetrack.organisations.models import LocalAuthority, Organisation, OrganisationKind

TEST_PASSWORD = "correct-horse-battery-staple"


class LocalAuthorityFactory(factory.django.DjangoModelFactory[LocalAuthority]):
    class Meta:
        model = LocalAuthority
        django_get_or_create = ("code",)

    code = "999"
    name = "Exampleshire County Council"
    country = "England"
    region = "South East"


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    kind = OrganisationKind.LA_TEAM
    name = factory.Sequence(lambda n: f"Team {n}")
    local_authority = factory.SubFactory(LocalAuthorityFactory)


class SchoolFactory(OrganisationFactory):
    kind = OrganisationKind.SCHOOL
    name = factory.Sequence(lambda n: f"School {n} Primary")
    urn = factory.Sequence(lambda n: str(800000 + n))
    # Four digits (the DfE's establishment number): the sequence runs on across the whole
    # suite, so it wraps round within 2000-9999 rather than overflow the column.
    estab_number = factory.Sequence(lambda n: str(2000 + n % 8000))
    phase = "primary"
    school_type = "community"


class AgencyFactory(OrganisationFactory):
    kind = OrganisationKind.AGENCY
    name = factory.Sequence(lambda n: f"Agency {n}")
    sector = "health"


STAFF_GIVEN_NAMES = (
    "Imelda", "Thaddeus", "Perpetua", "Leofric", "Marigold", "Ambrose", "Clementine", "Barnaby",
    "Philippa", "Ignatius", "Winifred", "Cuthbert", "Araminta", "Peregrine", "Henrietta",
    "Jocelyn",
)  # fmt: skip
STAFF_FAMILY_NAMES = (
    "Ashdown", "Whitlock", "Pemberton", "Tregarthen", "Fairweather", "Blackmore",
    "Merriweather", "Hollingsworth", "Wetherall", "Featherstone", "Crabtree", "Loveday",
    "Penhaligon", "Quarrie", "Trelawny", "Ormerod",
)  # fmt: skip


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    #: Staff names come from their own pools, which share no name with the children's
    #: (Faker's en_GB names): tests that check a child's name is *not* on a page must not
    #: trip over the signed-in user's name in the header ("Carol Smith" vs "Richard Smith").
    full_name = factory.Sequence(
        lambda n: f"{STAFF_GIVEN_NAMES[n % 16]} {STAFF_FAMILY_NAMES[(n // 16) % 16]}"
    )
    organisation = factory.SubFactory(OrganisationFactory)
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def roles(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            UserRole.objects.bulk_create([UserRole(user=obj, role=r) for r in extracted])
            obj.__dict__.pop("_role_cache", None)
