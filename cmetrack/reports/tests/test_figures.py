"""Every figure against the hand-built authority in conftest.py, counted by hand here.

Reporting terms: autumn 1 Sep–31 Dec, spring 1 Jan–31 Mar, summer 1 Apr–31 Aug."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.reports import selectors as sel
from cmetrack.reports.periods import Grain, Period, term, trend_periods

from .conftest import TODAY, World

D = dt.date
AUTUMN = term("autumn", 2026)


def params(as_at: dt.date = TODAY, period: Period = AUTUMN) -> sel.Params:
    return sel.Params(as_at=as_at, period=period, today=TODAY)


def total(key: str, p: sel.Params) -> int:
    return sel.figure_total(sel.FIGURES[key], p)


def counts(key: str, dimension: str, p: sel.Params) -> dict[str, int]:
    return {b.key: b.count for b in sel.breakdown(sel.FIGURES[key], dimension, p) if b.count}


def case_ids(key: str, p: sel.Params, dimension: str = "", value: str = "") -> set[int]:
    qs = sel.figure_cases(sel.FIGURES[key], p, dimension=dimension, value=value)
    return set(qs.values_list("pk", flat=True))


@pytest.mark.parametrize(
    ("as_at", "expected"),
    [
        # Today: case 1 tracking (A), case 2 dormant (B), case 6 received (E, reopened).
        (TODAY, {"a", "b", "e"}),
        # 31 Oct: A tracking, B dormant, C awaiting provision; E's new episode not yet.
        (D(2026, 10, 31), {"a", "b", "c"}),
        # 5 Sep: A moved to tracking at noon that day; B dormant; D received (closed 10 Sep).
        (D(2026, 9, 5), {"a", "b", "d"}),
        # 17 Sep: A, B, and F (received 15 Sep, closed 20 Sep).
        (D(2026, 9, 17), {"a", "b", "f"}),
        # 31 Mar, the last day of the spring term: E was referred that day.
        (D(2026, 3, 31), {"e"}),
        # 1 May: E's first case closed that day.
        (D(2026, 5, 1), set()),
        # 30 Mar: nobody yet.
        (D(2026, 3, 30), set()),
    ],
)
def test_children_missing_education_as_at(world: World, as_at: dt.date, expected: set[str]) -> None:
    children = {getattr(world, n).pk for n in expected}
    p = params(as_at)
    assert total("cme", p) == len(expected)
    behind = sel.figure_cases(sel.FIGURES["cme"], p)
    assert set(behind.values_list("child_id", flat=True)) == children


def test_history_and_current_state_agree_today(world: World) -> None:
    """The as-at reconstruction for yesterday's end equals the state column when nothing
    changed since: both paths count the same children."""
    yesterday = TODAY - dt.timedelta(days=1)
    assert total("cme", params(yesterday)) == total("cme", params(TODAY)) == 3


def test_breakdowns_today(world: World) -> None:
    p = params()
    assert counts("cme", "state", p) == {"tracking": 1, "dormant": 1, "received": 1}
    assert counts("cme", "route", p) == {"school": 2, "agency": 1}
    assert counts("cme", "sex", p) == {"F": 1, "M": 2}
    # Year groups in 2026/27: A Year 7, B Year 9, E past Year 11.
    assert counts("cme", "year_group", p) == {"7": 1, "9": 1, "12": 1}
    # Ages on 20 Nov 2026: A 11, B 14, E 16.
    assert counts("cme", "age", p) == {"11": 1, "14": 1, "16": 1}
    # A lives in EX1; B's address is restricted (never used); E has no address.
    assert counts("cme", "area", p) == {"EX1": 1, "restricted": 1, "unknown": 1}
    assert counts("cme", "in_care", p) == {"True": 1, "False": 2}
    assert counts("cme", "sen", p) == {"E": 1, "N": 2}
    assert counts("cme", "vulnerable", p) == {"young_carer": 1, "": 2}
    assert counts("cme", "ethnicity", p) == {"WBRI": 1, "": 2}


def test_breakdowns_by_reason_category_and_new_to_the_area(world: World) -> None:
    """The reason, its category and new to the area or country come from the case."""
    from cmetrack.cases.models import Case

    Case.objects.filter(child=world.a).update(
        cme_reason="arrived_from_abroad",
        cme_category="awaiting_place",
        new_to_area="yes",
        new_to_country="yes",
    )
    Case.objects.filter(child=world.b).update(
        cme_reason="left_no_destination", cme_category="whereabouts_unknown", new_to_area="no"
    )
    p = params()
    assert counts("cme", "category", p) == {
        "awaiting_place": 1,
        "whereabouts_unknown": 1,
        "": 1,
    }
    assert counts("cme", "reason", p) == {
        "arrived_from_abroad": 1,
        "left_no_destination": 1,
        "": 1,
    }
    assert counts("cme", "new_to_area", p) == {"yes": 1, "no": 1, "unknown": 1}
    assert counts("cme", "new_to_country", p) == {"yes": 1, "unknown": 2}
    assert {
        c.child_id
        for c in sel.figure_cases(sel.FIGURES["cme"], p, dimension="new_to_country", value="yes")
    } == {world.a.pk}
    # On a past date (one grouped SQL pass) the same columns are read.
    past = params(D(2026, 10, 31))
    assert counts("cme", "new_to_area", past)["yes"] == 1


def test_breakdown_as_at_past_date_uses_state_then(world: World) -> None:
    p = params(D(2026, 10, 31))
    assert counts("cme", "state", p) == {"tracking": 1, "dormant": 1, "awaiting_provision": 1}
    assert counts("not_in_education", "state", p) == {"awaiting_provision": 1}
    assert total("in_provision", p) == 0
    assert total("in_provision", params()) == 1


@pytest.mark.parametrize(
    ("dimension", "value", "expected_cases"),
    [
        ("state", "dormant", {2}),
        ("route", "school", {1, 6}),
        ("sex", "M", {2, 6}),
        ("year_group", "7", {1}),
        ("year_group", "12", {6}),
        ("age", "14", {2}),
        ("area", "EX1", {1}),
        ("area", "restricted", {2}),
        ("area", "unknown", {6}),
        ("in_care", "True", {2}),
        ("vulnerable", "young_carer", {1}),
        ("vulnerable", "", {2, 6}),
        ("ethnicity", "", {2, 6}),
    ],
)
def test_drill_down_matches_the_bucket(
    world: World, dimension: str, value: str, expected_cases: set[int]
) -> None:
    ids = case_ids("cme", params(), dimension, value)
    assert ids == {world.cases[n].pk for n in expected_cases}


@pytest.mark.parametrize(
    ("period", "opened", "located", "closed", "reopened"),
    [
        # Autumn: cases 1, 3, 6, 7 referred; 3 located; 4 and 7 closed; 6 reopened.
        (AUTUMN, {1, 3, 6, 7}, {3}, {4, 7}, {6}),
        # Summer (1 Apr–31 Aug): case 2, and case 4 referred on the term's last day.
        (term("summer", 2026), {2, 4}, set(), {5}, set()),
        # Spring: case 5 referred on 31 March, the term's last day.
        (term("spring", 2026), {5}, set(), set(), set()),
    ],
)
def test_period_figures(
    world: World,
    period: Period,
    opened: set[int],
    located: set[int],
    closed: set[int],
    reopened: set[int],
) -> None:
    p = params(period=period)
    for key, expected in (
        ("opened", opened),
        ("located", located),
        ("closed", closed),
        ("reopened", reopened),
    ):
        assert case_ids(key, p) == {world.cases[n].pk for n in expected}, key
        assert total(key, p) == len(expected), key


def test_closed_by_outcome(world: World) -> None:
    assert counts("closed", "outcome", params()) == {"not_cme": 1, "home_educated": 1}


def test_dormant_reviews(world: World) -> None:
    # Case 2 went dormant on 1 Jul: review due 1 Aug, overdue ever since.
    assert counts("dormant", "review", params()) == {"overdue": 1}
    # On 28 Jul the review (due 1 Aug) is due within 7 days; on 20 Jul it is due later.
    assert counts("dormant", "review", params(D(2026, 7, 28))) == {"due": 1}
    assert counts("dormant", "review", params(D(2026, 7, 20))) == {"later": 1}
    # On 1 Aug it is due that day: not yet overdue; on 2 Aug it is.
    assert counts("dormant", "review", params(D(2026, 8, 1))) == {"due": 1}
    assert counts("dormant", "review", params(D(2026, 8, 2))) == {"overdue": 1}
    assert case_ids("dormant", params(D(2026, 7, 28)), "review", "due") == {world.cases[2].pk}
    assert case_ids("dormant", params(D(2026, 7, 28)), "review", "overdue") == set()


def test_not_found_figure(world: World) -> None:
    # Today: A tracking, B dormant, E received; C is in provision.
    assert total("not_found", params()) == 3
    # 12 Oct: C had been located on 10 Oct.
    assert case_ids("not_found", params(D(2026, 10, 12))) == {
        world.cases[1].pk,
        world.cases[2].pk,
    }


def test_monthly_trend(world: World) -> None:
    periods = trend_periods(Grain.MONTH, TODAY, 12)
    assert periods[0].label == "December 2025"
    assert periods[-1].label == "November 2026"
    rows = {r.period.label: r for r in sel.trend(periods, as_at=TODAY)}
    expected = {
        "February 2026": 0,
        "March 2026": 1,  # E referred on 31 March
        "April 2026": 1,
        "May 2026": 0,
        "June 2026": 1,
        "July 2026": 1,
        "August 2026": 2,  # B dormant; D referred on 31 August
        "September 2026": 2,  # A, B (D and F closed)
        "October 2026": 3,  # A, B, C
        "November 2026": 3,  # to 20 Nov: A, B, E
    }
    assert {k: rows[k].cme for k in expected} == expected
    assert rows["October 2026"].by_state == {"tracking": 1, "dormant": 1, "awaiting_provision": 1}
    assert rows["September 2026"].opened == 2  # cases 1 and 7
    assert rows["September 2026"].closed == 2  # cases 4 and 7
    assert rows["October 2026"].located == 1
    # The last point equals the headline figure.
    assert rows["November 2026"].cme == total("cme", params())


def test_termly_trend_counts_the_last_day_of_term(world: World) -> None:
    periods = trend_periods(Grain.TERM, TODAY, 3)
    assert [p.label for p in periods] == ["Spring 2026", "Summer 2026", "Autumn 2026"]
    rows = sel.trend(periods, as_at=TODAY)
    # Spring ends 31 Mar: E counts. Summer ends 31 Aug: B and D.
    assert [r.cme for r in rows] == [1, 2, 3]
    assert [r.opened for r in rows] == [1, 2, 4]


def test_no_contact_counts_open_cases_without_contact(world: World) -> None:
    # No contact attempts recorded: open cases referred 30+ days before today (real today).
    p = sel.Params(as_at=TODAY, period=AUTUMN, today=D(2026, 11, 20))
    ids = case_ids("no_contact", p)
    assert world.cases[4].pk not in ids
    assert world.cases[7].pk not in ids
    assert {world.cases[1].pk, world.cases[2].pk, world.cases[3].pk} <= ids


@pytest.mark.parametrize(
    "as_at", [TODAY, D(2026, 10, 31), D(2026, 10, 12), D(2026, 9, 5), D(2026, 7, 28)]
)
def test_all_totals_at_once_match_each_figure(world: World, as_at: dt.date) -> None:
    """The dashboard's single pass gives the same totals as each figure on its own."""
    p = params(as_at)
    each = {k: total(k, p) for k, f in sel.FIGURES.items() if f.kind == "as_at"}
    assert sel.as_at_totals(p) == each


def test_not_in_education_counts_children_located_here(world: World) -> None:
    # C was located living here on 10 Oct, assessed 15 Oct, awaiting 20 Oct, in provision 10 Nov.
    assert case_ids("not_in_education", params(D(2026, 10, 12))) == {world.cases[3].pk}
    assert case_ids("not_in_education", params(D(2026, 10, 9))) == set()
    assert case_ids("not_in_education", params()) == set()


def test_no_contact_agrees_with_casework(world: World) -> None:
    from cmetrack.cases.models import Case
    from cmetrack.casework.models import ContactAttempt
    from cmetrack.casework.selectors import without_contact

    # A recent attempt takes case 1 off the list; an old one leaves case 2 on it.
    for n, day in ((1, D(2026, 11, 10)), (2, D(2026, 10, 1))):
        ContactAttempt.objects.create(
            case=world.cases[n], method="phone", date=day, with_whom="Parent", outcome="no_answer"
        )
    p = params()
    mine = case_ids("no_contact", p)
    assert world.cases[1].pk not in mine
    assert world.cases[2].pk in mine
    theirs = set(without_contact(Case.objects.all(), today=TODAY).values_list("pk", flat=True))
    assert mine == theirs


def test_state_on_a_date_matches_a_forward_replay_of_the_history(db: None) -> None:
    """Random lifecycles: the set-based state on each date equals replaying each case's
    history forward in Python (the latest change by the end of the day)."""
    import random

    from cmetrack.cases.lifecycle import TRANSITIONS, CaseState
    from cmetrack.people.tests.factories import ChildFactory

    from .factories import case_with_history

    rng = random.Random(8)
    start = D(2026, 1, 1)
    histories = {}
    for _ in range(40):
        referred = start + dt.timedelta(days=rng.randint(0, 200))
        day, state = referred, CaseState.RECEIVED
        history = [(state.value, day)]
        for _ in range(rng.randint(0, 5)):
            choices = sorted(TRANSITIONS[state])
            if not choices:
                break
            state = rng.choice(choices)
            day += dt.timedelta(days=rng.randint(0, 20))
            history.append((state.value, day))
        closed = {"closed_on": history[-1][1], "outcome": "not_cme"} if state == "closed" else {}
        case = case_with_history(
            child=ChildFactory.create(), referred=referred, history=history, **closed
        )
        histories[case.pk] = history
    for offset in range(0, 260, 13):
        on = start + dt.timedelta(days=offset)
        expected = {}
        for pk, history in histories.items():
            then = [s for s, d in history if d <= on]
            if then:
                expected[pk] = then[-1]
        for state in CaseState:
            got = set(sel.cases_in_states_at(on, [state], today=TODAY).values_list("pk", flat=True))
            want = {pk for pk, s in expected.items() if s == state}
            assert got == want, (on, state)


@pytest.mark.parametrize("key", ["cme", "not_found", "not_in_education", "in_provision", "dormant"])
@pytest.mark.parametrize("as_at", [D(2026, 10, 12), D(2026, 9, 17), D(2026, 7, 28)])
def test_past_breakdowns_match_their_drill_downs(world: World, key: str, as_at: dt.date) -> None:
    """On a past date each bucket (one grouped SQL pass) counts exactly the cases listed
    behind it (the ORM path), and the buckets of a child attribute add up to the total."""
    p = params(as_at)
    figure = sel.FIGURES[key]
    for dimension in figure.dimensions:
        for bucket in sel.breakdown(figure, dimension, p):
            qs = sel.figure_cases(figure, p, dimension=dimension, value=bucket.key)
            field = "child_id" if figure.unit == "children" else "pk"
            assert bucket.count == qs.values(field).distinct().count(), (dimension, bucket)
        if dimension in sel.PARTITIONING_DIMENSIONS:
            assert sum(b.count for b in sel.breakdown(figure, dimension, p)) == total(key, p)
