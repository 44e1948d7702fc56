"""The staff factory's names never meet the children's, so "name not shown" tests hold."""

from faker.providers.person.en_GB import Provider

from cmetrack.accounts.tests.factories import STAFF_FAMILY_NAMES, STAFF_GIVEN_NAMES


def test_staff_names_share_no_name_with_childrens_names() -> None:
    children_given = set(Provider.first_names_male) | set(Provider.first_names_female)
    assert len(STAFF_GIVEN_NAMES) == len(STAFF_FAMILY_NAMES) == 16
    assert not children_given & set(STAFF_GIVEN_NAMES)
    assert not set(Provider.last_names) & set(STAFF_FAMILY_NAMES)
