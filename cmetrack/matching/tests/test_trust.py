"""Issue 19: matching an officer can trust. Identifiers count, one typed letter is not a
different name, nicknames of spelling variants, boy/girl twins kept apart, probabilities
that add up, and the fast index path agreeing with the scorer on all of it."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.kit.words import plural
from cmetrack.matching import synthetic
from cmetrack.matching.compare import UPN_LINK_WEIGHT
from cmetrack.matching.features import PersonRecord, features_of
from cmetrack.matching.index import CandidateIndex
from cmetrack.matching.model import default_model
from cmetrack.matching.normalise import are_variants, variant_explanation
from cmetrack.matching.probability import (
    EQUALLY_WELL,
    FLOOR,
    POSSIBLE,
    STRONG,
    band,
    equally_good,
    exclusive,
    none_of_these,
)
from cmetrack.matching.scorer import Scorer
from cmetrack.rules.upn import upn_check_letter


def upn(serial: int) -> str:
    body = f"80120000{serial:04d}"
    return upn_check_letter(body) + body


ADINA_UPN = upn(11)
ADRIAN_UPN = upn(12)
ADRIANA_UPN = upn(13)

FAMILY = {
    "adina": PersonRecord(
        given_names="Adina",
        family_name="Okafor",
        dob="2015-03-09",
        sex="F",
        postcode="EX4 6PL",
        address="3 Elm Close, Exampleton",
        upns=(ADINA_UPN,),
    ),
    "adrian": PersonRecord(  # boy/girl twins with names one letter apart
        given_names="Adrian",
        family_name="Novak",
        dob="2014-05-17",
        sex="M",
        postcode="EX2 9QT",
        address="41 Hill Street, Exampleton",
        upns=(ADRIAN_UPN,),
    ),
    "adriana": PersonRecord(
        given_names="Adriana",
        family_name="Novak",
        dob="2014-05-17",
        sex="F",
        postcode="EX2 9QT",
        address="41 Hill Street, Exampleton",
        upns=(ADRIANA_UPN,),
    ),
    "mathew": PersonRecord(
        given_names="Mathew", family_name="Morris", dob="2016-01-23", sex="M", postcode="EX1 1AA"
    ),
    "oliver": PersonRecord(  # twins with plainly different names
        given_names="Oliver", family_name="Brown", dob="2016-07-21", sex="M", postcode="EX2 4CD"
    ),
    "harry": PersonRecord(
        given_names="Harry", family_name="Brown", dob="2016-07-21", sex="M", postcode="EX2 4CD"
    ),
}


@pytest.fixture(scope="module")
def index() -> CandidateIndex[str]:
    filler = [(p.id, synthetic.as_record(p)) for p in synthetic.population(2000, seed=19)]
    return CandidateIndex([*FAMILY.items(), *filler], default_model())


def top(index: CandidateIndex[str], q: PersonRecord, **kw: object):  # type: ignore[no-untyped-def]
    found = index.search(q, **kw)  # type: ignore[arg-type]
    assert found, "nothing found"
    return found[0]


# --- identifiers ------------------------------------------------------------------------


def test_one_typed_letter_with_the_upn_is_the_child_not_a_twin(index):
    """Issue 19's first finding: "adina" typed "auina", family moved, same UPN."""
    q = PersonRecord(
        given_names="Auina",
        family_name="Okafor",
        dob="2015-03-09",
        sex="F",
        postcode="EX9 9ZZ",
        upns=(ADINA_UPN,),
    )
    best = top(index, q)
    assert best.item == "adina"
    assert best.probability > 0.999
    assert "twin" not in best.score.explanation
    assert "typing error" in best.score.explanation


def test_one_typed_letter_without_the_upn_is_still_not_different(index):
    q = PersonRecord(given_names="Auina", family_name="Okafor", dob="2015-03-09", sex="F")
    best = top(index, q)
    assert best.item == "adina"
    assert "twin" not in best.score.explanation
    assert best.probability > 0.9


def test_a_valid_upn_links_whatever_the_names_say(index):
    q = PersonRecord(given_names="Zed", family_name="Quux", dob="2015-03-09", upns=(ADINA_UPN,))
    best = top(index, q)
    assert best.item == "adina"
    assert best.score.weight >= UPN_LINK_WEIGHT
    assert best.probability > 0.999
    assert "UPN matches" in best.score.explanation


def test_a_upn_with_date_of_birth_and_sex_both_different_is_not_proof(index):
    q = PersonRecord(given_names="Zed", family_name="Quux", dob="2009-11-30", sex="M",
                     upns=(ADINA_UPN,))  # fmt: skip
    found = index.search(q)
    adina = next(c for c in found if c.item == "adina")
    assert adina.score.weight < UPN_LINK_WEIGHT
    assert "date of birth and sex both differ" in adina.score.explanation


def test_an_invalid_upn_is_not_proof():
    scorer = Scorer(default_model())
    bad = "A" + ADINA_UPN[1:] if ADINA_UPN[0] != "A" else "B" + ADINA_UPN[1:]
    a = features_of(PersonRecord(given_names="Zed", family_name="Quux", upns=(bad,)))[0]
    b = features_of(PersonRecord(given_names="Amy", family_name="Lee", upns=(bad,)))[0]
    assert not a.upn_valid
    assert scorer.explain(a, b).weight < UPN_LINK_WEIGHT


def test_two_valid_upns_that_differ_count_against():
    scorer = Scorer(default_model())
    base = {"given_names": "Amy", "family_name": "Lee", "dob": "2015-01-02", "sex": "F"}
    a = features_of(PersonRecord(**base, upns=(upn(1),)))[0]  # type: ignore[arg-type]
    b = features_of(PersonRecord(**base, upns=(upn(2),)))[0]  # type: ignore[arg-type]
    c = features_of(PersonRecord(**base))[0]  # type: ignore[arg-type]
    assert scorer.explain(a, b).weight < scorer.explain(a, c).weight
    upn_field = next(f for f in scorer.explain(a, b).fields if f.comparison == "upn")
    assert upn_field.weight < 0


# --- names ------------------------------------------------------------------------------


def test_boy_and_girl_twins_one_letter_apart_are_different_children(index):
    """Adrian (male) must not return his twin sister Adriana as a strong match."""
    q = PersonRecord(given_names="Adrian", family_name="Novak", dob="2014-05-17", sex="M",
                     postcode="EX2 9QT")  # fmt: skip
    found = index.search(q, all_stages=True)
    assert found[0].item == "adrian"
    adriana = next((c for c in found if c.item == "adriana"), None)
    if adriana is not None:
        assert adriana.probability < 0.01
        assert "twin" in adriana.score.explanation
        assert "different sex" in adriana.score.explanation


def test_the_twin_rule_gives_way_to_an_agreeing_upn(index):
    """A mistyped sex and a name one letter out, but Adriana's own UPN: it is Adriana."""
    q = PersonRecord(given_names="Adrian", family_name="Novak", dob="2014-05-17", sex="M",
                     upns=(ADRIANA_UPN,))  # fmt: skip
    best = top(index, q)
    assert best.item == "adriana"
    assert best.probability > 0.99


def test_twins_with_different_names_stay_apart(index):
    q = PersonRecord(given_names="Oliver", family_name="Brown", dob="2016-07-21", sex="M")
    found = index.search(q, all_stages=True)
    assert found[0].item == "oliver"
    harry = next((c for c in found if c.item == "harry"), None)
    assert harry is None or harry.probability < 0.001


def test_a_nickname_of_a_spelling_variant_is_found(index):
    """ "Matt Morris, 23/1/2016" finds Mathew Morris; the explanation says how."""
    q = PersonRecord(given_names="Matt", family_name="Morris", dob="2016-01-23")
    best = top(index, q)
    assert best.item == "mathew"
    assert best.probability > 0.9
    assert "Matt is a known nickname or other spelling of Matthew (written Mathew)" in (
        best.score.explanation
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [("matt", "mathew"), ("mathew", "matthew"), ("matty", "mathew"), ("bob", "robert")],
)
def test_variants_through_spelling(a, b):
    assert are_variants(a, b)
    assert variant_explanation(a, b).startswith("given name ")


@pytest.mark.parametrize(
    ("a", "b"), [("adrian", "adriana"), ("louis", "louise"), ("mario", "maria")]
)
def test_an_ending_that_changes_sex_is_not_a_spelling_variant(a, b):
    assert not are_variants(a, b)


# --- the index's fast path agrees with the scorer ----------------------------------------


def test_fast_weights_equal_the_scorer_on_the_adversarial_cases(index):
    queries = [
        PersonRecord(given_names="Auina", family_name="Okafor", dob="2015-03-09", sex="F",
                     upns=(ADINA_UPN,)),
        PersonRecord(given_names="Adrian", family_name="Novak", dob="2014-05-17", sex="M"),
        PersonRecord(given_names="Adrian", family_name="Novak", dob="2014-05-17", sex="M",
                     upns=(ADRIANA_UPN,)),
        PersonRecord(given_names="Zed", family_name="Quux", dob="2009-11-30", sex="M",
                     upns=(ADINA_UPN,)),
        PersonRecord(given_names="Matt", family_name="Morris", dob="2016-01-23"),
        PersonRecord(family_name="Brown", dob="2016-07-21"),
    ]  # fmt: skip
    for q in queries:
        for c in index.search(q, all_stages=True):
            assert math.isclose(
                c.score.probability(1.0 / len(index)), c.probability, rel_tol=1e-9, abs_tol=1e-12
            ), (q, c)


# --- probabilities ----------------------------------------------------------------------


def test_twins_queried_without_a_given_name_cannot_both_be_near_certain(index):
    q = PersonRecord(family_name="Brown", dob="2016-07-21", sex="M", postcode="EX2 4CD")
    found = index.search(q, all_stages=True)
    weights = [c.score.weight for c in found]
    probabilities = exclusive(weights, 1.0 / len(index))
    assert sum(probabilities) <= 1 + 1e-9
    assert max(probabilities) < 0.6
    tied = equally_good(weights, probabilities)
    assert {found[i].item for i in tied} == {"oliver", "harry"}


weights_lists = st.lists(st.floats(-80, 80, allow_nan=False), min_size=1, max_size=12)
priors = st.floats(1e-9, 0.5)


@given(weights_lists, priors)
@settings(max_examples=200, deadline=None)
def test_exclusive_probabilities_add_up_with_none_of_these(weights, prior):
    p = exclusive(weights, prior)
    assert all(0 <= x <= 1 for x in p)
    assert sum(p) <= 1 + 1e-9
    assert math.isclose(sum(p) + none_of_these(weights, prior), 1, abs_tol=1e-9)
    # The order of the weights is kept, and no two can both be above a half.
    order = sorted(range(len(weights)), key=lambda i: -weights[i])
    assert all(p[a] >= p[b] - 1e-12 for a, b in itertools.pairwise(order))
    assert sum(1 for x in p if x > 0.5) <= 1


@given(st.floats(-80, 80, allow_nan=False), priors)
@settings(max_examples=100, deadline=None)
def test_one_candidate_is_its_own_probability(weight, prior):
    from cmetrack.matching.scorer import probability

    assert math.isclose(exclusive([weight], prior)[0], probability(weight, prior), abs_tol=1e-9)


def test_bands_and_floor():
    assert band(0.95) == "strong"
    assert band(0.5) == "possible"
    assert band(0.05) == "unlikely"
    assert FLOOR < POSSIBLE < STRONG
    assert plural(1, "possible match", "possible matches") == "1 possible match"
    assert plural(2, "possible match", "possible matches") == "2 possible matches"
    assert "equally well" in EQUALLY_WELL
