"""Services: places, the steps that secure provision (statutory dates through the case
services) and the close rule after monitoring attendance."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases import services as case_services
from cmetrack.cases.lifecycle import CaseState, Outcome, PreconditionFailed
from cmetrack.cases.models import CaseStateChange, FormOfProvision
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.provision import services
from cmetrack.provision.models import (
    ApplicationOutcome,
    PanelDecision,
    PlaceFigure,
    Placement,
)
from cmetrack.schoolcalendar.selectors import school_days

from .factories import (
    SYSTEM,
    awaiting_provision,
    import_marks,
    make_upn,
    provider,
    term_around,
    today,
)

pytestmark = pytest.mark.django_db
S = CaseState


@pytest.fixture
def school():
    return provider("Northgate Academy", estab="4001", postcode="AB1 2CD")


# --- Places ---------------------------------------------------------------------------------


def test_a_figure_is_history_and_the_same_figure_again_is_not_a_change(make_user, school):
    admissions = Actor(user=make_user(Role.ADMISSIONS))
    first = services.place_figure_record(
        actor=admissions, provider=school, year_group=7, places=3, as_of=today()
    )
    again = services.place_figure_record(
        actor=admissions, provider=school, year_group=7, places=3, as_of=today()
    )
    assert again.pk == first.pk
    services.place_figure_record(
        actor=admissions, provider=school, year_group=7, places=2, as_of=today()
    )
    assert PlaceFigure.objects.filter(provider=school, year_group=7).count() == 2
    assert AuditEvent.objects.filter(object_type="provision.placefigure").count() == 2


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.SLO, Role.AUDITOR, Role.AGENCY_USER])
def test_only_admissions_and_cme_staff_update_places(make_user, school, role):
    with pytest.raises(PermissionDenied):
        services.place_figure_record(
            actor=Actor(user=make_user(role)),
            provider=school,
            year_group=7,
            places=3,
            as_of=today(),
        )
    assert not PlaceFigure.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    # A date is given as its offset from today, added when the test runs (not when pytest
    # collects the module: a run that crosses midnight would otherwise test today).
    [
        ({"as_of": dt.timedelta(days=1)}, "as_of"),
        ({"year_group": 14}, "year_group"),
        ({"places": -1}, "places"),
    ],
)
def test_a_figure_is_checked(school, kwargs, field):
    values = {"year_group": 7, "places": 3, "as_of": today(), **kwargs}
    if isinstance(values["as_of"], dt.timedelta):
        values["as_of"] = today() + values["as_of"]
    with pytest.raises(ValidationError) as err:
        services.place_figure_record(actor=SYSTEM, provider=school, **values)
    assert field in err.value.message_dict


def test_provider_profile_year_range_and_coordinates_are_checked(school):
    with pytest.raises(ValidationError) as err:
        services.provider_profile_save(
            actor=SYSTEM,
            provider=school,
            provision_form="mainstream",
            youngest_year=9,
            oldest_year=7,
        )
    assert "oldest_year" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.provider_profile_save(
            actor=SYSTEM,
            provider=school,
            provision_form="mainstream",
            youngest_year=7,
            oldest_year=11,
            latitude=51.5,
        )
    profile = services.provider_profile_save(
        actor=SYSTEM,
        provider=school,
        provision_form="special",
        youngest_year=0,
        oldest_year=13,
        sen_suitability="specialist",
    )
    assert profile.provision_form == "special"


# --- Securing provision ---------------------------------------------------------------------


def test_recommending_for_a_located_child_sets_the_statutory_dates_through_the_case():
    case = case_in_state(S.LOCATED)
    assessed, determined = today() - dt.timedelta(days=5), today() - dt.timedelta(days=4)
    updated = services.provision_recommend(
        actor=SYSTEM,
        case=case,
        provision_recommended=FormOfProvision.ALTERNATIVE,
        date_of_assessment=assessed,
        date_provision_determined=determined,
        expected_version=case.version,
    )
    assert updated.state == S.AWAITING_PROVISION
    assert (updated.date_of_assessment, updated.date_provision_determined) == (assessed, determined)
    assert updated.provision_recommended == FormOfProvision.ALTERNATIVE
    moves = list(CaseStateChange.objects.filter(case=case).values_list("to_state", flat=True))
    assert moves[-2:] == [S.NEEDS_ASSESSMENT, S.AWAITING_PROVISION]
    assert updated.version == case.version + 2


def test_recommending_is_refused_with_the_case_rule_and_writes_nothing():
    case = case_in_state(S.LOCATED)
    with pytest.raises(PreconditionFailed) as err:
        services.provision_recommend(
            actor=SYSTEM,
            case=case,
            provision_recommended="",
            date_of_assessment=today(),
            date_provision_determined=today(),
        )
    assert err.value.field == "provision_recommended"
    case.refresh_from_db()
    assert case.state == S.LOCATED  # the needs assessment was rolled back too


def test_an_admissions_officer_cannot_move_the_case(make_user):
    case = case_in_state(S.LOCATED)
    with pytest.raises(PermissionDenied):
        services.provision_recommend(
            actor=Actor(user=make_user(Role.ADMISSIONS)),
            case=case,
            provision_recommended="mainstream",
            date_of_assessment=today(),
            date_provision_determined=today(),
        )


def test_application_and_outcome(make_user, school):
    case = awaiting_provision()
    admissions = Actor(user=make_user(Role.ADMISSIONS))
    app = services.admission_application_record(
        actor=admissions, case=case, school=school, applied_on=today() - dt.timedelta(days=3)
    )
    assert app.year_group == 7  # the child's own year group (born March 2015)
    with pytest.raises(ValidationError, match="already waiting"):
        services.admission_application_record(
            actor=admissions, case=case, school=school, applied_on=today()
        )
    with pytest.raises(ValidationError) as err:
        services.admission_outcome_record(
            actor=admissions,
            application=app,
            outcome=ApplicationOutcome.REFUSED,
            outcome_on=today(),
        )
    assert "notes" in err.value.message_dict
    done = services.admission_outcome_record(
        actor=admissions, application=app, outcome=ApplicationOutcome.OFFERED, outcome_on=today()
    )
    assert done.outcome == ApplicationOutcome.OFFERED
    with pytest.raises(ValidationError, match="already recorded"):
        services.admission_outcome_record(
            actor=admissions,
            application=app,
            outcome=ApplicationOutcome.WITHDRAWN,
            outcome_on=today(),
        )
    assert case.chronology.filter(summary__contains="place offered").exists()
    assert (
        AuditEvent.objects.filter(
            object_type="provision.admissionapplication", child_id=case.child_id
        ).count()
        == 2
    )


def test_panel_referral_decision_names_a_school(make_user, school):
    case = awaiting_provision()
    officer = Actor(user=make_user(Role.CME_OFFICER))
    referral = services.panel_referral_record(
        actor=officer,
        case=case,
        referred_on=today() - dt.timedelta(days=10),
        reason="Refused by two schools",
        panel_date=today() - dt.timedelta(days=2),
    )
    with pytest.raises(ValidationError, match="already waiting for the panel"):
        services.panel_referral_record(
            actor=officer, case=case, referred_on=today(), reason="Again"
        )
    with pytest.raises(ValidationError) as err:
        services.panel_decision_record(
            actor=officer,
            referral=referral,
            decision=PanelDecision.SCHOOL_NAMED,
            decision_on=today(),
        )
    assert "named_school" in err.value.message_dict
    deferred = services.panel_decision_record(
        actor=officer, referral=referral, decision=PanelDecision.DEFERRED, decision_on=today()
    )
    assert deferred.is_open
    decided = services.panel_decision_record(
        actor=officer,
        referral=referral,
        decision=PanelDecision.SCHOOL_NAMED,
        decision_on=today(),
        named_school=school,
    )
    assert (decided.decision, decided.named_school) == (PanelDecision.SCHOOL_NAMED, school)
    assert not decided.is_open
    with pytest.raises(ValidationError, match="already recorded"):
        services.panel_decision_record(
            actor=officer,
            referral=referral,
            decision=PanelDecision.ALTERNATIVE,
            decision_on=today(),
        )


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.SLO, Role.AUDITOR])
def test_other_roles_cannot_record_panel_or_applications(make_user, school, role):
    case = awaiting_provision()
    with pytest.raises(PermissionDenied):
        services.panel_referral_record(
            actor=Actor(user=make_user(role)), case=case, referred_on=today(), reason="x"
        )


def test_the_start_sets_the_date_moved_into_provision_and_keeps_the_upn(school):
    case = awaiting_provision()
    started = today() - dt.timedelta(days=2)
    moved = services.provision_start_record(
        actor=SYSTEM,
        case=case,
        provider=school,
        started_on=started,
        provision_accessed=FormOfProvision.MAINSTREAM,
        upn=make_upn(1).lower(),
        expected_version=case.version,
    )
    assert (moved.state, moved.date_moved_into_provision, moved.provider) == (
        S.IN_PROVISION,
        started,
        school,
    )
    assert Placement.objects.get(case=case).upn == make_upn(1)


def test_the_start_refuses_a_bad_upn_and_writes_nothing(school):
    case = awaiting_provision()
    with pytest.raises(ValidationError):
        services.provision_start_record(
            actor=SYSTEM,
            case=case,
            provider=school,
            started_on=today(),
            provision_accessed="mainstream",
            upn="A12345678901X",
        )
    case.refresh_from_db()
    assert case.state == S.AWAITING_PROVISION


def test_the_start_asks_for_the_upn_when_the_child_has_none(school):
    case = awaiting_provision(child=ChildFactory.create(upn=None))
    with pytest.raises(ValidationError) as refused:
        services.provision_start_record(
            actor=SYSTEM,
            case=case,
            provider=school,
            started_on=today(),
            provision_accessed="mainstream",
        )
    assert refused.value.message_dict["upn"] == [services.START_NEEDS_UPN]
    case.refresh_from_db()
    assert case.state == S.AWAITING_PROVISION


def test_the_start_can_be_recorded_again_with_the_right_upn(school):
    case = awaiting_provision(child=ChildFactory.create(upn=make_upn(3)))
    moved = services.provision_start_record(
        actor=SYSTEM,
        case=case,
        provider=school,
        started_on=today(),
        provision_accessed="mainstream",
        expected_version=case.version,
    )
    assert Placement.objects.get(case=case).upn == make_upn(3)
    placement = services.placement_correct(actor=SYSTEM, case=moved, upn=make_upn(4).lower())
    assert placement.upn == make_upn(4)
    audit = AuditEvent.objects.filter(object_type="provision.placement", action="update").get()
    assert audit.changes == {"before": {"upn": make_upn(3)}, "after": {"upn": make_upn(4)}}
    assert moved.chronology.filter(summary__contains=f"recorded again: {make_upn(4)}").exists()
    with pytest.raises(ValidationError):
        services.placement_correct(actor=SYSTEM, case=moved, upn="")


def test_the_start_is_recorded_again_only_in_provision(school):
    case = awaiting_provision()
    with pytest.raises(ValidationError):
        services.placement_correct(actor=SYSTEM, case=case, upn=make_upn(4))


# --- Monitoring and closing -----------------------------------------------------------------


def _started(school, tmp_path, *, days_ago=30):
    term_around(today())
    child = ChildFactory.create(upn=make_upn(7))
    case = awaiting_provision(child=child, determined_days_ago=days_ago + 5)
    started = today() - dt.timedelta(days=days_ago)
    return services.provision_start_record(
        actor=SYSTEM,
        case=case,
        provider=school,
        started_on=started,
        provision_accessed="mainstream",
    )


def _close(case):
    return case_services.case_close(
        actor=SYSTEM, case=case, outcome=Outcome.ATTENDING_PROVISION, reason="Attending well"
    )


def test_the_case_does_not_close_before_the_monitoring_period_and_names_the_rule(school, tmp_path):
    case = _started(school, tmp_path)
    with pytest.raises(PreconditionFailed) as err:
        _close(case)
    message = err.value.message
    assert "20 school days" in message
    assert "90%" in message
    assert "No attendance marks" in message
    days = school_days(school, case.date_moved_into_provision, today())
    import_marks(tmp_path, school, make_upn(7), days[:10])
    with pytest.raises(PreconditionFailed, match="10 school days recorded"):
        _close(case)


def test_the_case_closes_after_the_period_with_good_attendance(school, tmp_path):
    case = _started(school, tmp_path)
    days = school_days(school, case.date_moved_into_provision, today())
    assert len(days) >= 20
    import_marks(tmp_path, school, make_upn(7), days[:20])
    closed = _close(case)
    assert (closed.state, closed.outcome) == (S.CLOSED, Outcome.ATTENDING_PROVISION)


def test_poor_attendance_over_the_period_is_refused(school, tmp_path):
    case = _started(school, tmp_path)
    days = school_days(school, case.date_moved_into_provision, today())
    import_marks(tmp_path, school, make_upn(7), days[:17])
    import_marks(tmp_path, school, make_upn(7), days[17:20], code="O")
    with pytest.raises(PreconditionFailed, match=r"attendance 85\.0%"):
        _close(case)


def test_the_period_and_threshold_are_settings(school, tmp_path, settings):
    settings.CMETRACK_PROVISION_MONITOR_SCHOOL_DAYS = 5
    settings.CMETRACK_PROVISION_MONITOR_ATTENDANCE_PERCENT = 80
    case = _started(school, tmp_path)
    days = school_days(school, case.date_moved_into_provision, today())
    import_marks(tmp_path, school, make_upn(7), days[:4])
    import_marks(tmp_path, school, make_upn(7), days[4:5], code="O")
    # 5 days, 8 of 10 sessions: 80%.
    assert _close(case).state == S.CLOSED


def test_marks_at_another_school_do_not_count(school, tmp_path):
    other = provider("Other Academy", estab="4002")
    case = _started(school, tmp_path)
    days = school_days(school, case.date_moved_into_provision, today())
    import_marks(tmp_path, other, make_upn(7), days[:20])
    with pytest.raises(PreconditionFailed):
        _close(case)


def test_places_are_kept_only_for_providers_in_the_area():
    from cmetrack.accounts.tests.factories import LocalAuthorityFactory, SchoolFactory

    elsewhere = SchoolFactory.create(
        local_authority=LocalAuthorityFactory.create(code="888", name="Otherland Council")
    )
    with pytest.raises(ValidationError, match="not a school or provider in the area"):
        services.place_figure_record(
            actor=SYSTEM, provider=elsewhere, year_group=7, places=1, as_of=today()
        )
