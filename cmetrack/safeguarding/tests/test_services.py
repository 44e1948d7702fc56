"""The safeguarding services: what they record, the tasks they set in motion, and every
refusal (forms.md §3, §4; rules.md §6; README "Case lifecycle")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import (
    DORMANT_NEEDS_RISK_ASSESSMENT,
    CaseState,
    Outcome,
    PreconditionFailed,
    TransitionNotAllowed,
)
from cmetrack.cases.models import Case, CaseStateChange
from cmetrack.cases.services import case_close, case_locate, case_make_dormant
from cmetrack.casework.models import Task, TaskKind
from cmetrack.safeguarding import selectors, services
from cmetrack.safeguarding.models import (
    DormantReview,
    RiskAssessment,
    VirtualSchoolNotice,
    VulnerabilityScreening,
)
from cmetrack.safeguarding.rules import RiskFactor

from .factories import (
    SYSTEM,
    authorised_assessment,
    dormant_case,
    factor_answers,
    open_case,
    record_assessment,
    record_screening,
    screening_answers,
    user,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def open_tasks(case: Case) -> list[Task]:
    return list(Task.objects.filter(case=case).order_by("due", "id"))


# --- vulnerability screening -----------------------------------------------------------


def test_screenings_are_kept_as_history_and_recommendations_become_tasks() -> None:
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer)
    first = record_screening(case, Actor(user=officer), sudden_behaviour="Left mid-term")
    assert first.stage == "intake"
    tasks = open_tasks(case)
    assert [t.title for t in tasks] == [
        "Refer to the police",
        "Inform the LA designated person (education welfare service)",
    ]
    assert {(t.owner, t.due, t.kind) for t in tasks} == {
        (officer, TODAY(), TaskKind.RISK_ASSESSMENT)
    }

    # An update: social care now; the police tasks are still open, so not repeated.
    second = record_screening(
        case, Actor(user=officer), sudden_behaviour="Left mid-term", cp_plan="Plan since May"
    )
    assert second.stage == "update"
    assert VulnerabilityScreening.objects.filter(case=case).count() == 2
    assert selectors.latest_screening(case) == second
    assert [t.title for t in open_tasks(case)][-1] == "Inform children's social care immediately"
    assert len(open_tasks(case)) == 3
    assert (
        AuditEvent.objects.filter(
            object_type="safeguarding.vulnerabilityscreening", child_id=case.child_id
        ).count()
        == 2
    )


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({"cp_plan": ("yes", "")}, "cp_plan_details", "Enter the details"),
        ({"mobility": ("", "")}, "mobility", "Select yes, no or unknown"),
        ({"immigration": ("maybe", "")}, "immigration", "Select yes, no or unknown"),
    ],
)
def test_screening_refusals(answers: dict[str, tuple[str, str]], field: str, message: str) -> None:
    case = open_case()
    all_answers = screening_answers()
    all_answers.update(answers)
    with pytest.raises(ValidationError) as exc:
        services.screening_record(actor=SYSTEM, case=case, answers=all_answers)
    assert message in exc.value.message_dict[field][0]
    assert not VulnerabilityScreening.objects.exists()


def test_a_screening_with_an_unknown_question_is_refused() -> None:
    answers = {**screening_answers(), "favourite_colour": ("yes", "Blue")}
    with pytest.raises(ValidationError) as exc:
        services.screening_record(actor=SYSTEM, case=open_case(), answers=answers)
    assert exc.value.message_dict["__all__"] == [
        "These are not questions of the screening: favourite_colour"
    ]


def test_screening_is_refused_on_a_closed_case_and_for_a_school() -> None:
    closed = open_case(state=CaseState.CLOSED)
    with pytest.raises(ValidationError, match="closed"):
        record_screening(closed)
    with pytest.raises(PermissionDenied):
        record_screening(open_case(), Actor(user=user(Role.SCHOOL_USER)))


# --- risk assessment -------------------------------------------------------------------


def test_supporting_information_is_required_for_every_yes() -> None:
    case = open_case()
    factors = factor_answers(f2="Told by the school")
    factors[5] = ("yes", "  ")
    with pytest.raises(ValidationError) as exc:
        services.risk_assessment_record(
            actor=SYSTEM,
            case=case,
            date_of_assessment=TODAY(),
            factors=factors,
            summary="",
            risk_level="extreme",
        )
    errors = exc.value.message_dict
    assert errors["factor_5_details"] == [
        f"Enter the supporting information for “{RiskFactor(5).label}”"
    ]
    assert "factor_2_details" not in errors
    assert errors["summary"] == ["Enter a summary of the referral"]
    assert errors["risk_level"] == ["Select the risk level: low, medium or high"]
    assert not RiskAssessment.objects.exists()


def test_every_factor_must_be_answered_and_the_date_not_in_the_future() -> None:
    factors = factor_answers()
    del factors[15]
    with pytest.raises(ValidationError) as exc:
        services.risk_assessment_record(
            actor=SYSTEM, case=open_case(), date_of_assessment=TODAY() + dt.timedelta(days=1),
            factors=factors, summary="x", risk_level="low",
        )  # fmt: skip
    assert set(exc.value.message_dict) == {"factor_15", "date_of_assessment"}


def test_only_officers_and_managers_record_assessments() -> None:
    for role in (Role.SLO, Role.VIRTUAL_SCHOOL, Role.SAFEGUARDING_ADVISER, Role.SCHOOL_USER):
        with pytest.raises(PermissionDenied):
            record_assessment(open_case(in_care=True), user(role))


def test_self_authorisation_is_refused() -> None:
    manager = user(Role.CME_MANAGER)
    ra = record_assessment(open_case(), manager, "medium")
    with pytest.raises(ValidationError) as exc:
        services.risk_assessment_authorise(actor=Actor(user=manager), assessment=ra)
    assert exc.value.messages == [services.SELF_AUTHORISATION]
    ra.refresh_from_db()
    assert not ra.is_authorised
    assert not Task.objects.exists()
    # Another manager may.
    other = user(Role.CME_MANAGER)
    services.risk_assessment_authorise(actor=Actor(user=other), assessment=ra)
    ra.refresh_from_db()
    assert (ra.authorised_by, ra.is_authorised) == (other, True)


@pytest.mark.parametrize("role", [Role.CME_OFFICER, Role.SAFEGUARDING_ADVISER, Role.AUDITOR])
def test_only_a_manager_authorises(role: Role) -> None:
    ra = record_assessment(open_case(), user(Role.CME_OFFICER))
    with pytest.raises(PermissionDenied, match="Only a CME manager"):
        services.risk_assessment_authorise(actor=Actor(user=user(role)), assessment=ra)
    with pytest.raises(PermissionDenied):
        services.risk_assessment_authorise(actor=SYSTEM, assessment=ra)


def test_authorising_twice_is_refused() -> None:
    case = open_case()
    ra = authorised_assessment(case, officer=user(Role.CME_OFFICER), manager=user(Role.CME_MANAGER))
    with pytest.raises(ValidationError, match="already authorised"):
        services.risk_assessment_authorise(actor=Actor(user=user(Role.CME_MANAGER)), assessment=ra)


@pytest.mark.parametrize(
    ("level", "titles", "dues"),
    [
        ("low", [], []),
        (
            "medium",
            [
                "Confirm children's social services are aware of the concern",
                "Send a copy of the risk assessment to the police missing-person co-ordinator",
                "Consider a consultation with the central referral unit (optional)",
                "Complete the inter-agency referral form if a referral to children's social "
                "care is needed",
            ],
            [2, 2, 5, 5],
        ),
        (
            "high",
            [
                "Seek advice from the education safeguarding team before any other action",
                "Confirm children's social services are aware of the concern",
                "Send a copy of the risk assessment to the police missing-person co-ordinator",
                "Consider a consultation with the central referral unit (optional)",
                "Complete the inter-agency referral form if a referral to children's social "
                "care is needed",
            ],
            [0, 3, 3, 6, 6],
        ),
    ],
)
def test_authorisation_sets_the_actions_for_the_level_in_motion(
    level: str, titles: list[str], dues: list[int]
) -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    case = open_case(officer=officer)
    ra = record_assessment(case, officer, level)
    assert not Task.objects.filter(case=case).exists()  # nothing until authorised
    authorised_assessment_tasks = services.risk_assessment_authorise(
        actor=Actor(user=manager), assessment=ra
    )
    assert authorised_assessment_tasks.is_authorised
    tasks = open_tasks(case)
    assert [t.title for t in tasks] == titles
    assert [(t.due - TODAY()).days for t in tasks] == dues
    assert all(t.owner == officer and t.created_by == manager for t in tasks)


# --- dormant -------------------------------------------------------------------------------


def test_dormant_needs_an_authorised_risk_assessment() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    case = open_case(officer=officer)
    actor = Actor(user=officer)
    with pytest.raises(PreconditionFailed) as exc:
        case_make_dormant(actor=actor, case=case)
    assert exc.value.message == DORMANT_NEEDS_RISK_ASSESSMENT
    ra = record_assessment(case, officer, "low")
    with pytest.raises(PreconditionFailed):  # recorded but not authorised
        case_make_dormant(actor=actor, case=case)
    assert Case.objects.get(pk=case.pk).state == CaseState.TRACKING
    services.risk_assessment_authorise(actor=Actor(user=manager), assessment=ra)
    assert case_make_dormant(actor=actor, case=case).state == CaseState.DORMANT


def test_another_cases_assessment_does_not_count() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    authorised_assessment(open_case(), officer=officer, manager=manager)
    with pytest.raises(PreconditionFailed):
        case_make_dormant(actor=Actor(user=officer), case=open_case())


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (Outcome.NOT_CME, TransitionNotAllowed),
        (Outcome.ATTENDANCE_MATTER, TransitionNotAllowed),
        # Issue 17: a dormant child is located first, whatever the outcome.
        (Outcome.ON_ROLL, TransitionNotAllowed),
        (Outcome.MOVED_LA, TransitionNotAllowed),
        (Outcome.LEFT_COUNTRY, TransitionNotAllowed),
        (None, PreconditionFailed),
    ],
)
def test_an_unfound_dormant_child_is_never_closed(
    outcome: Outcome | None, error: type[Exception]
) -> None:
    case = dormant_case()
    with pytest.raises(error):
        case_close(actor=SYSTEM, case=case, outcome=outcome, reason="Not found after a year")
    assert Case.objects.get(pk=case.pk).state == CaseState.DORMANT


def test_a_dormant_child_found_on_a_roll_is_located_then_closes() -> None:
    case = dormant_case()
    school = SchoolFactory.create()
    with pytest.raises(TransitionNotAllowed, match="record where the child is first"):
        case_close(actor=SYSTEM, case=case, outcome=Outcome.ON_ROLL, reason="Found", school=school)
    case = case_locate(
        actor=SYSTEM, case=case, where="On the school's roll", route="on_roll", school=school
    )
    closed = case_close(
        actor=SYSTEM, case=case, outcome=Outcome.ON_ROLL, reason="Found", school=school
    )
    assert closed.state == CaseState.CLOSED


# --- dormant reviews -----------------------------------------------------------------------


def went_dormant_on(case: Case, day: dt.date) -> None:
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(10, 0)))
    CaseStateChange.objects.filter(case=case, to_state=CaseState.DORMANT).update(at=at)


def review(case: Case, day: dt.date, **kw: object) -> DormantReview:
    params: dict[str, object] = {
        "checked": "School census, GP, electoral roll",
        "result": "No trace",
        "risk_level_holds": True,
    }
    params.update(kw)
    return services.dormant_review_record(
        actor=SYSTEM,
        case=case,
        reviewed_on=day,
        **params,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("dormant_on", "reviews", "next_due"),
    [
        (dt.date(2026, 1, 31), [], dt.date(2026, 2, 28)),
        (dt.date(2024, 1, 31), [], dt.date(2024, 2, 29)),
        (dt.date(2025, 12, 31), [dt.date(2026, 1, 31)], dt.date(2026, 2, 28)),
        (dt.date(2026, 1, 15), [dt.date(2026, 1, 31), dt.date(2026, 2, 28)], dt.date(2026, 3, 28)),
        (dt.date(2026, 3, 31), [], dt.date(2026, 4, 30)),
    ],
)
def test_next_review_across_month_ends(
    dormant_on: dt.date, reviews: list[dt.date], next_due: dt.date
) -> None:
    from cmetrack.rules import next_dormant_review

    case = dormant_case()
    went_dormant_on(case, dormant_on)
    for day in reviews:
        review(case, day)
    base = selectors.review_base(case)
    assert base is not None
    assert next_dormant_review(base) == next_due


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reviewed_on": None}, "reviewed_on", "Enter the date of the review"),
        ({"reviewed_on": "tomorrow"}, "reviewed_on", "today or in the past"),
        ({"reviewed_on": "before"}, "reviewed_on", "cannot be before the case went dormant"),
        ({"checked": " "}, "checked", "Enter what you checked"),
        ({"result": ""}, "result", "Enter the result of the review"),
        ({"risk_level_holds": None}, "risk_level_holds", "Select whether the risk level"),
    ],
)
def test_review_refusals(changes: dict[str, object], field: str, message: str) -> None:
    case = dormant_case()
    went_dormant_on(case, dt.date(2026, 1, 31))
    day = {"tomorrow": TODAY() + dt.timedelta(days=1), "before": dt.date(2026, 1, 30)}
    kw = {k: day.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    day_of_review = kw.pop("reviewed_on", TODAY())
    with pytest.raises(ValidationError) as exc:
        review(case, day_of_review, **kw)  # type: ignore[arg-type]
    assert message in exc.value.message_dict[field][0]
    assert not DormantReview.objects.exists()


def test_only_a_dormant_case_is_reviewed() -> None:
    with pytest.raises(ValidationError, match="Only a dormant case has monthly reviews"):
        review(open_case(), TODAY())


def test_a_review_can_reopen_tracking() -> None:
    case = dormant_case()
    r = review(case, TODAY(), result="Mother seen in town", reopen_tracking=True)
    case.refresh_from_db()
    assert case.state == CaseState.TRACKING
    assert r.reopened_tracking
    assert case.chronology.filter(summary__contains="Mother seen in town").count() == 2


def test_a_risk_level_that_no_longer_holds_asks_for_a_new_assessment() -> None:
    officer = user(Role.CME_OFFICER)
    case = dormant_case(officer)
    review(case, TODAY(), risk_level_holds=False)
    (task,) = open_tasks(case)
    assert (task.title, task.owner) == (services.NEW_ASSESSMENT_NEEDED, officer)


# --- review queues on given dates -----------------------------------------------------------


def _dormant_with_base(officer: object, dormant_on: dt.date) -> Case:
    case = dormant_case(officer)  # type: ignore[arg-type]
    went_dormant_on(case, dormant_on)
    return case


def test_overdue_and_due_this_week_on_given_dates() -> None:
    officer, other, manager = (
        user(Role.CME_OFFICER), user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    )  # fmt: skip
    jan31 = _dormant_with_base(officer, dt.date(2026, 1, 31))  # due 28 Feb 2026
    feb20 = _dormant_with_base(officer, dt.date(2026, 1, 20))  # due 20 Feb 2026
    theirs = _dormant_with_base(other, dt.date(2026, 1, 10))  # due 10 Feb 2026
    reviewed = _dormant_with_base(officer, dt.date(2026, 1, 5))
    review(reviewed, dt.date(2026, 2, 4))  # next due 4 March 2026

    def ids(qs: object) -> set[int]:
        return {c.pk for c in qs}  # type: ignore[attr-defined]

    # Saturday 28 February 2026: due today is not overdue yet.
    on = dt.date(2026, 2, 28)
    assert ids(selectors.overdue_reviews(officer, today=on)) == {feb20.pk}
    assert ids(selectors.reviews_due_this_week(officer, today=on)) == {jan31.pk}
    assert ids(selectors.overdue_reviews(manager, today=on)) == {feb20.pk, theirs.pk}
    # Sunday 1 March 2026.
    on = dt.date(2026, 3, 1)
    assert ids(selectors.overdue_reviews(officer, today=on)) == {feb20.pk, jan31.pk}
    assert ids(selectors.overdue_reviews(other, today=on)) == {theirs.pk}
    assert ids(selectors.overdue_reviews(manager, today=on)) == {feb20.pk, jan31.pk, theirs.pk}
    # Monday 2 March 2026: the reviewed case is due on Wednesday this week.
    on = dt.date(2026, 3, 2)
    assert ids(selectors.reviews_due_this_week(officer, today=on)) == {reviewed.pk}
    assert ids(selectors.reviews_due_this_week(manager, today=on)) == {reviewed.pk}
    # 5 March: it is overdue too; other roles have no queue.
    on = dt.date(2026, 3, 5)
    assert reviewed.pk in ids(selectors.overdue_reviews(manager, today=on))
    for role in (Role.SLO, Role.SAFEGUARDING_ADVISER, Role.SCHOOL_USER):
        assert not selectors.overdue_reviews(user(role), today=on).exists()


def test_a_case_back_in_tracking_leaves_the_queue() -> None:
    manager = user(Role.CME_MANAGER)
    case = _dormant_with_base(None, dt.date(2026, 1, 1))
    assert selectors.overdue_reviews(manager, today=TODAY()).filter(pk=case.pk).exists()
    review(case, TODAY(), reopen_tracking=True)
    assert not selectors.overdue_reviews(manager, today=TODAY()).exists()


# --- children in care ----------------------------------------------------------------------


def test_the_virtual_school_is_told_about_a_child_in_care() -> None:
    officer, vs = user(Role.CME_OFFICER), user(Role.VIRTUAL_SCHOOL, full_name="Vera School")
    case = open_case(officer=officer, in_care=True)
    record_screening(case, Actor(user=officer), looked_after="Section 20")
    notice = VirtualSchoolNotice.objects.get(case=case)
    assert (notice.lead, notice.keep_on_roll_until_admitted, notice.told_by) == (vs, True, officer)
    lead_task = Task.objects.get(case=case, owner=vs)
    assert lead_task.title == services.VIRTUAL_SCHOOL_LEAD
    assert lead_task.due == TODAY()
    # Telling again changes nothing.
    assert services.virtual_school_tell(actor=SYSTEM, case=case) == notice
    assert Task.objects.filter(case=case, owner=vs).count() == 1


def test_without_a_virtual_school_officer_the_case_officer_tells_them() -> None:
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer, in_care=True)
    notice = services.virtual_school_tell(actor=Actor(user=officer), case=case)
    assert notice.lead is None
    assert Task.objects.get(case=case).title == services.VIRTUAL_SCHOOL_UNASSIGNED


def test_the_virtual_school_leads_only_for_a_child_in_care() -> None:
    with pytest.raises(ValidationError, match="only for a child in care"):
        services.virtual_school_tell(actor=SYSTEM, case=open_case())
