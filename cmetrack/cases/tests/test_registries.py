"""The case engine's registries (cases/registries.py) and what the apps register in them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cmetrack.cases import registries
from cmetrack.cases.lifecycle import DORMANT_NEEDS_RISK_ASSESSMENT, CaseState, Outcome


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty registries for one test (the apps' registrations come back after it)."""
    from collections import defaultdict

    for name in ("_move_requirements", "_close_requirements", "_close_defaults", "_after_close"):
        monkeypatch.setattr(registries, name, defaultdict(list))
    monkeypatch.setattr(registries, "_after_transition", [])
    monkeypatch.setattr(registries, "_case_links", {})
    monkeypatch.setattr(registries, "_chronology_display", {})


def _case(**kw: Any) -> Any:
    return SimpleNamespace(pk=1, outcome="", **kw)


def test_a_fail_safe_move_is_refused_while_nothing_is_registered(clean: None) -> None:
    assert registries.move_refusal(_case(), CaseState.DORMANT) == DORMANT_NEEDS_RISK_ASSESSMENT
    registries.move_requirement_register(CaseState.DORMANT, lambda case: None)
    assert registries.move_refusal(_case(), CaseState.DORMANT) is None
    # A state that is not fail-safe needs nothing while nothing is registered.
    assert registries.move_refusal(_case(), CaseState.TRACKING) is None


def test_close_requirements_give_the_first_problem_in_order(clean: None) -> None:
    seen: list[str] = []

    def first(case: Any, outcome: str, la: Any) -> tuple[str, str] | None:
        seen.append("first")
        return None

    def second(case: Any, outcome: str, la: Any) -> tuple[str, str] | None:
        seen.append("second")
        return ("Record the check first.", "outcome")

    registries.close_requirement_register(Outcome.LEFT_COUNTRY, first)
    registries.close_requirement_register(Outcome.LEFT_COUNTRY, second)
    registries.close_requirement_register(Outcome.LEFT_COUNTRY, second)  # registered once
    problem = registries.close_problem(_case(), Outcome.LEFT_COUNTRY, None)
    assert problem == ("Record the check first.", "outcome")
    assert seen == ["first", "second"]
    assert registries.close_problem(_case(), Outcome.ON_ROLL, None) is None


def test_close_defaults_first_registration_wins(clean: None) -> None:
    registries.close_defaults_register(Outcome.MOVED_LA, lambda c, o, la: {"acknowledged_by": "A"})
    registries.close_defaults_register(
        Outcome.MOVED_LA, lambda c, o, la: {"acknowledged_by": "B", "acknowledged_on": 1}
    )
    assert registries.close_defaults(_case(), Outcome.MOVED_LA, None) == {
        "acknowledged_by": "A",
        "acknowledged_on": 1,
    }


def test_after_close_runs_the_hooks_of_the_case_outcome_only(clean: None) -> None:
    calls: list[tuple[str, Any]] = []
    registries.after_close_register(
        Outcome.HOME_EDUCATED, lambda actor, case: calls.append(("he", case))
    )
    registries.after_close_register(Outcome.ON_ROLL, lambda actor, case: calls.append(("r", case)))
    case = _case()
    case.outcome = Outcome.HOME_EDUCATED
    registries.after_close_run(None, case)  # type: ignore[arg-type]
    assert calls == [("he", case)]


def test_after_transition_hooks_see_the_state_moved_from(clean: None) -> None:
    calls: list[str] = []
    registries.after_transition_register(lambda actor, case, was: calls.append(was))
    registries.after_transition_run(None, _case(), CaseState.TRACKING)  # type: ignore[arg-type]
    assert calls == [CaseState.TRACKING]


def test_a_link_nobody_registered_is_not_offered(clean: None) -> None:
    assert registries.case_link("safeguarding", None, _case()) == ""  # type: ignore[arg-type]
    registries.case_link_register("safeguarding", lambda viewer, case: f"/s/{case.pk}")
    assert registries.case_link("safeguarding", None, _case()) == "/s/1"  # type: ignore[arg-type]


def test_a_chronology_entry_is_shown_by_its_kind_display_or_as_written(clean: None) -> None:
    event = SimpleNamespace(
        kind="note", summary="Rang the school.", get_kind_display=lambda: "Note"
    )
    shown = registries.chronology_display(event, None)  # type: ignore[arg-type]
    assert shown == registries.ChronologyDisplay("Note", "Rang the school.")
    registries.chronology_display_register(
        "note", lambda e, viewer: registries.ChronologyDisplay("Note", e.summary.upper())
    )
    shown = registries.chronology_display(event, None)  # type: ignore[arg-type]
    assert shown == registries.ChronologyDisplay("Note", "RANG THE SCHOOL.")


def test_the_apps_fill_the_registries_at_start_up() -> None:
    """CoreConfig.ready() loaded every app's extensions module."""
    from cmetrack.enquiries.extensions import move_notice_acknowledgement
    from cmetrack.enquiries.selectors import close_evidence_problem
    from cmetrack.provision.extensions import attendance_monitored
    from cmetrack.registers.extensions import home_educated_listed
    from cmetrack.safeguarding.extensions import dormant_needs_risk_assessment, safeguarding_link

    assert registries._move_requirements[CaseState.DORMANT] == [dormant_needs_risk_assessment]
    assert registries._close_requirements[Outcome.MOVED_LA] == [close_evidence_problem]
    assert registries._close_requirements[Outcome.LEFT_COUNTRY] == [close_evidence_problem]
    assert registries._close_requirements[Outcome.ATTENDING_PROVISION] == [attendance_monitored]
    assert registries._close_defaults[Outcome.MOVED_LA] == [move_notice_acknowledgement]
    assert registries._after_close[Outcome.HOME_EDUCATED] == [home_educated_listed]
    assert registries._case_links["safeguarding"] is safeguarding_link


def test_the_registers_plug_into_the_matching_engine() -> None:
    from cmetrack.matching.adapters import ADAPTERS

    assert [a.name for a in ADAPTERS] == ["roll", "children", "home_education", "lost_pupils"]


def test_the_chronology_rows_show_each_entry_as_its_kind_is_registered(clean: None) -> None:
    import datetime as dt

    from django.utils import timezone

    from cmetrack.cases.presenters import chronology_rows

    def entry(kind: str, label: str, summary: str) -> Any:
        return SimpleNamespace(
            at=timezone.make_aware(dt.datetime(2026, 11, 2, 10, 0)),
            kind=kind,
            summary=summary,
            get_kind_display=lambda: label,
            by=None,
            case=SimpleNamespace(reference="CME-1"),
        )

    viewer = SimpleNamespace(pk=7)
    registries.chronology_display_register(
        "check",
        lambda e, who: registries.ChronologyDisplay(
            "Check", f"{e.summary} (seen by {getattr(who, 'pk', None)})"
        ),
    )
    rows = chronology_rows(
        [entry("note", "Note", "Rang the school."), entry("check", "Check", "Roll checked.")],
        viewer,  # type: ignore[arg-type]
    )
    assert [(r.kind, r.summary) for r in rows] == [
        ("Note", "Rang the school."),
        ("Check", "Roll checked. (seen by 7)"),
    ]
