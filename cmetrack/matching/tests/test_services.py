"""The search service over the registers: ranking across registers, scoping by role
(a school never finds a child that is not on its roll), auditing without the query's
values, the index kept current, and the duplicate check for referrals."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.matching.services import (
    SearchQuery,
    clear_indexes,
    find_possible_duplicates,
    search_children,
)
from cmetrack.people.models import Address, ChildAlias, ParentCarer
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import RollEntry, RollSnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_indexes():
    clear_indexes()
    yield
    clear_indexes()


def roll(school, taken_on=dt.date(2026, 10, 1), *pupils):
    snapshot = RollSnapshot.objects.create(school=school, taken_on=taken_on, source="test")
    for i, (given, family, dob, postcode) in enumerate(pupils):
        RollEntry.objects.create(
            snapshot=snapshot,
            upn=f"A80120000{i:04d}",
            legal_given_name=given,
            legal_family_name=family,
            dob=dob,
            sex="F",
            postcode=postcode,
            address="1 Oak Road",
        )
    return snapshot


@pytest.fixture
def world():
    oak = SchoolFactory.create(name="Oakfield Primary School")
    elm = SchoolFactory.create(name="Elm Academy")
    roll(
        oak,
        dt.date(2026, 10, 1),
        ("Aleksandra", "Kowalczyk", dt.date(2015, 6, 8), "EX5 3BB"),
        ("Grace", "Brown", dt.date(2012, 2, 11), "EX2 4CD"),
    )
    # An older Oakfield roll: only the latest snapshot is searched.
    roll(oak, dt.date(2025, 10, 1), ("Oldname", "Pupil", dt.date(2014, 1, 1), "EX1 1AA"))
    roll(elm, dt.date(2026, 10, 1), ("Mohammed", "Rahman", dt.date(2013, 10, 12), "EX4 1AA"))
    child = ChildFactory.create(
        legal_given_names="Margaret",
        legal_family_name="Evans",
        dob=dt.date(2011, 1, 17),
        sex="F",
    )
    ChildAlias.objects.create(child=child, alias_type="previous_name", family_name="Hughes")
    ParentCarer.objects.create(
        child=child, given_names="Lisa", family_name="Evans", relationship="mother"
    )
    Address.objects.create(child=child, line1="9 Elm Close", postcode="EX7 9DD")
    Address.objects.create(
        child=child,
        line1="Refuge",
        postcode="EX9 9ZZ",
        is_restricted=True,
        date_from=dt.date(2026, 1, 1),
    )
    CaseFactory.create(child=child)
    return {"oak": oak, "elm": elm, "child": child}


def names(results):
    return [r.details.name for r in results]


def test_an_officer_finds_a_transliterated_name_on_a_roll(world, make_user):
    officer = make_user(Role.CME_OFFICER)
    results = search_children(
        user=officer,
        query=SearchQuery(given_names="Muhammad", family_name="Rahman", dob=dt.date(2013, 10, 12)),
    )
    assert names(results)[0] == "Mohammed Rahman"
    assert results[0].register == "roll"
    assert results[0].probability > 0.9
    assert "Elm Academy" in results[0].details.where


def test_an_officer_finds_a_child_with_a_case_by_nickname_and_previous_surname(world, make_user):
    officer = make_user(Role.CME_OFFICER)
    results = search_children(
        user=officer,
        query=SearchQuery(given_names="Peggy", family_name="Hughes", dob_year=2011, dob_month=1),
    )
    top = results[0]
    assert top.register == "children"
    assert top.ref.pk == world["child"].pk
    assert top.details.href.endswith(f"/children/{world['child'].pk}/")
    assert "nickname" in top.explanation


def test_only_the_latest_roll_of_a_school_is_searched(world, make_user):
    officer = make_user(Role.CME_OFFICER)
    results = search_children(
        user=officer,
        query=SearchQuery(given_names="Oldname", family_name="Pupil", dob=dt.date(2014, 1, 1)),
    )
    assert "Oldname Pupil" not in names(results)


def test_a_school_never_finds_a_child_not_on_its_roll(world, make_user):
    oak_user = make_user(Role.SCHOOL_USER, organisation=world["oak"])
    exact = SearchQuery(given_names="Mohammed", family_name="Rahman", dob=dt.date(2013, 10, 12))
    assert search_children(user=oak_user, query=exact) == []
    child = SearchQuery(given_names="Margaret", family_name="Evans", dob=dt.date(2011, 1, 17))
    assert search_children(user=oak_user, query=child) == []
    own = SearchQuery(given_names="Aleksandra", family_name="Kowalczyk", dob=dt.date(2015, 6, 8))
    assert names(search_children(user=oak_user, query=own)) == ["Aleksandra Kowalczyk"]
    # Not even a weak match from the other school leaks through a broad query.
    broad = SearchQuery(dob_year=2013)
    assert all(
        r.details.where.startswith("Oakfield") for r in search_children(user=oak_user, query=broad)
    )


def test_an_slo_searches_only_the_rolls_of_linked_schools(world, make_user):
    slo = make_user(Role.SLO)
    slo.linked_schools.add(world["elm"])
    found = search_children(
        user=slo, query=SearchQuery(family_name="Rahman", dob=dt.date(2013, 10, 12))
    )
    assert names(found) == ["Mohammed Rahman"]
    other = search_children(
        user=slo, query=SearchQuery(family_name="Kowalczyk", dob=dt.date(2015, 6, 8))
    )
    assert other == []


@pytest.mark.parametrize("role", [Role.AGENCY_USER, Role.AUDITOR, Role.ADMINISTRATOR])
def test_roles_that_may_not_search_find_nothing(world, make_user, role):
    user = make_user(role)
    query = SearchQuery(given_names="Margaret", family_name="Evans", dob=dt.date(2011, 1, 17))
    assert search_children(user=user, query=query) == []


def test_a_restricted_address_is_never_used_to_find_a_child(world, make_user):
    officer = make_user(Role.CME_OFFICER)
    results = search_children(
        user=officer, query=SearchQuery(postcode="EX9 9ZZ", family_name="Evans")
    )
    for r in results:
        assert "postcode matches" not in r.explanation
        assert r.details.postcode != "EX9 9ZZ"


def test_each_search_is_audited_without_the_query_values(world, make_user):
    officer = make_user(Role.CME_OFFICER)
    before = AuditEvent.objects.count()
    results = search_children(
        user=officer,
        query=SearchQuery(given_names="Margaret", family_name="Evans", postcode="EX7 9DD"),
        actor=Actor(user=officer, ip_address="10.0.0.9"),
    )
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("pk")
    assert event.action == "view"
    assert event.actor == officer
    assert event.ip_address == "10.0.0.9"
    assert event.summary.startswith("Searched for a child")
    assert event.changes["fields"] == ["given_names", "family_name", "postcode"]
    assert event.changes["shown"] == [f"{r.register}:{r.ref.pk}" for r in results]
    stored = json.dumps(event.changes) + event.summary
    for value in ("Margaret", "Evans", "EX7"):
        assert value not in stored


def test_the_index_follows_changes_to_the_registers(world, make_user):
    officer = make_user(Role.CME_OFFICER)
    query = SearchQuery(given_names="Zara", family_name="Quinn", dob=dt.date(2016, 5, 5))
    assert "Zara Quinn" not in names(search_children(user=officer, query=query))
    child = ChildFactory.create(
        legal_given_names="Zara", legal_family_name="Quinn", dob=dt.date(2016, 5, 5)
    )
    CaseFactory.create(child=child)
    assert names(search_children(user=officer, query=query))[0] == "Zara Quinn"
    roll(world["elm"], dt.date(2026, 11, 1), ("Yusuf", "Warsame", dt.date(2012, 9, 30), "EX6 2CC"))
    found = search_children(
        user=officer, query=SearchQuery(given_names="Yousef", family_name="Warsame")
    )
    assert names(found)[0] == "Yusuf Warsame"
    # Elm's newer roll replaced the older one.
    assert "Mohammed Rahman" not in names(
        search_children(
            user=officer, query=SearchQuery(family_name="Rahman", dob=dt.date(2013, 10, 12))
        )
    )


def test_possible_duplicates_for_a_referral(world):
    found = find_possible_duplicates("Margret", "Evans", dt.date(2011, 1, 17), None, "EX7 9DD")
    assert [m.child.pk for m in found] == [world["child"].pk]
    assert found[0].probability > 0.9
    assert any("Margret is another spelling of Margaret" in r for r in found[0].reasons)
    assert find_possible_duplicates("", "", None, None, None) == []


def test_possible_duplicates_keep_a_twin_apart(world):
    twin = ChildFactory.create(
        legal_given_names="Ruth", legal_family_name="Evans", dob=dt.date(2011, 1, 17), sex="F"
    )
    CaseFactory.create(child=twin)
    found = {
        m.child.pk: m
        for m in find_possible_duplicates("Ruth", "Evans", dt.date(2011, 1, 17), None, None)
    }
    assert found[twin.pk].probability > 0.9
    assert world["child"].pk not in found


# --- the page and the API ---------------------------------------------------------------


def test_the_page_searches_and_shows_why(world, client, make_user):
    officer = make_user(Role.CME_OFFICER)
    client.force_login(officer)
    page = client.get("/find-a-child/")
    assert page.status_code == 200
    assert "<title>Find a child" in page.content.decode()
    response = client.post(
        "/find-a-child/",
        {
            "given_names": "Margaret",
            "family_name": "Evans",
            "dob_day": "1",
            "dob_month": "17",
            "dob_year": "2011",
        },
    )
    html = response.content.decode()
    assert "Month of birth must be between 1 and 12" in html
    assert "<title>Error: Find a child" in html
    assert "There is a problem" in html
    response = client.post(
        "/find-a-child/",
        {
            "given_names": "Margaret",
            "family_name": "Evans",
            "dob_day": "17",
            "dob_month": "1",
            "dob_year": "2011",
        },
    )
    html = response.content.decode()
    assert "1 possible match" in html or "possible matches" in html
    assert f'href="/children/{world["child"].pk}/"' in html
    assert "Given name matches" in html
    assert "Strong match" in html  # the band beside the likelihood (issue 19)
    assert "1 possible matches" not in html
    summary = AuditEvent.objects.filter(object_type="matching.search").latest("pk").summary
    assert summary == "Searched for a child (1 possible match shown)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Enter at least a name, a date of birth, a postcode or a UPN"),
        ({"dob_day": "3", "dob_month": "4"}, "Date of birth must include a year"),
        (
            {"dob_day": "31", "dob_month": "2", "dob_year": "2014"},
            "Date of birth must be a real date",
        ),
        ({"upn": "123"}, "Enter a UPN in the correct format"),
    ],
)
def test_the_page_explains_what_is_wrong(client, make_user, data, message):
    client.force_login(make_user(Role.CME_OFFICER))
    html = client.post("/find-a-child/", data).content.decode()
    assert message in html
    assert "There is a problem" in html
    assert not AuditEvent.objects.filter(object_type="matching.search").exists()


def test_the_page_is_refused_to_roles_that_may_not_search(client, make_user):
    client.force_login(make_user(Role.AGENCY_USER))
    assert client.get("/find-a-child/").status_code == 403


def test_the_api_searches_with_the_callers_scope(world, client, make_user):
    oak_user = make_user(Role.SCHOOL_USER, organisation=world["oak"])
    _token, raw = api_token_create(actor=Actor.system("test"), user=oak_user, name="test")
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.post(
        "/api/v1/children/search",
        {"given_names": "Sasha", "family_name": "Kowalczyk", "dob": "2015-06-08"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    assert [r["name"] for r in body] == ["Aleksandra Kowalczyk"]
    assert body[0]["register_code"] == "roll"
    assert body[0]["match_probability"] > 0.5
    assert {f["field"] for f in body[0]["fields"]} >= {"given name", "surname", "date of birth"}
    other = client.post(
        "/api/v1/children/search",
        {"given_names": "Mohammed", "family_name": "Rahman", "dob": "2013-10-12"},
        content_type="application/json",
        headers=headers,
    )
    assert other.json() == []


def test_the_api_refuses_roles_and_empty_queries(client, make_user):
    _t, raw = api_token_create(
        actor=Actor.system("test"), user=make_user(Role.AGENCY_USER), name="t"
    )
    headers = {"Authorization": f"Bearer {raw}"}
    response = client.post(
        "/api/v1/children/search",
        {"family_name": "Evans"},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 403
    _t, raw = api_token_create(
        actor=Actor.system("test"), user=make_user(Role.CME_OFFICER), name="t2"
    )
    response = client.post(
        "/api/v1/children/search",
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 422


def test_navigation_offers_find_a_child_to_roles_that_may_search(make_user):
    from cmetrack.core.presenters import navigation_for

    for role, expected in [
        (Role.CME_OFFICER, True),
        (Role.SCHOOL_USER, True),
        (Role.AUDITOR, False),
    ]:
        texts = [i["text"] for i in navigation_for(make_user(role), "/")]
        assert ("Find a child" in texts) is expected, role


def test_find_on_rolls_finds_a_child_with_a_new_upn_and_a_retyped_name():
    """Detection's question, "is the child of an open case on a later roll?": found with
    another UPN and another spelling; not on a roll taken before the referral; not a
    twin on the same roll."""
    from cmetrack.registers.adapters import find_on_rolls

    child = ChildFactory.create(
        upn="A801200009999",
        legal_given_names="Aleksandra",
        legal_family_name="Kowalczyk",
        dob=dt.date(2015, 6, 8),
        sex="F",
    )
    CaseFactory.create(child=child)
    school = SchoolFactory.create(name="Birch Primary School")
    later = roll(
        school,
        dt.date(2026, 11, 1),
        ("Alexandra", "Kowalczyk", dt.date(2015, 6, 8), "EX5 3BB"),
        ("Zofia", "Kowalczyk", dt.date(2015, 6, 8), "EX5 3BB"),  # her twin
        ("Grace", "Brown", dt.date(2012, 2, 11), "EX2 4CD"),
    )
    (match,) = find_on_rolls(child, since=dt.date(2026, 10, 1))
    assert match.entry.snapshot == later
    assert match.entry.legal_given_name == "Alexandra"
    assert match.probability > 0.9
    assert "nickname or other spelling" in match.explanation
    assert find_on_rolls(child, since=dt.date(2026, 11, 1)) == []
