"""The case engine's extension points: what the areas above ``cases`` add to a case.

The case engine (lifecycle, services, presenters) never imports an area above it. An area
with something to add registers it here from its ``extensions`` module, which
``CoreConfig.ready()`` loads for every installed app with Django's
``autodiscover_modules("extensions")`` (the pattern of ``admin.autodiscover``), the way the
registers and the lost-pupil area add their adapters to the matching engine. See
docs/architecture.md ("Layers and registries") and ADR 0015.

- **Move requirements** (:func:`move_requirement_register`): what a move into a state needs
  first, for example the authorised risk assessment before a case goes dormant
  (safeguarding). A state marked :data:`FAIL_SAFE` refuses the move while nothing is
  registered for it.
- **Close requirements** (:func:`close_requirement_register`): what closing with an outcome
  needs first (the acknowledged move notice and the Home Office check: enquiries; attendance
  monitored in the new provision: provision).
- **Close defaults** (:func:`close_defaults_register`): values a close form may leave out
  because another area already holds them (who acknowledged the move notice, and when).
- **After close** (:func:`after_close_register`): what closing with an outcome records in
  another area, in the same transaction (home educated: the home-education list).
- **After a move** (:func:`after_transition_register`): called after every move of a case,
  in the same transaction.
- **Case page links** (:func:`case_link_register`): links on the case page to an area's own
  pages about the case, shown only to those the area lets see them.
- **Chronology display** (:func:`chronology_display_register`): how an entry of a kind is
  shown to a viewer (its label and its text); an entry of a kind nobody registered shows
  its kind's label and its summary as written.

The home page's sections are a registry of their own (``cases/home.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.organisations.models import LocalAuthority

if TYPE_CHECKING:  # the models import the lifecycle, which asks this module
    from .models import Case, ChronologyEvent

#: ``check(case) -> message or None``: why the case may not move into the state yet.
MoveRequirement = Callable[["Case"], str | None]
#: ``check(case, outcome, local_authority) -> (message, field) or None``.
CloseRequirement = Callable[["Case", str, LocalAuthority | None], tuple[str, str] | None]
#: ``defaults(case, outcome, local_authority) -> {field: value}`` for fields left blank.
CloseDefaults = Callable[["Case", str, LocalAuthority | None], dict[str, object]]
#: ``hook(actor, case)`` after the case closed with the outcome (same transaction).
AfterClose = Callable[[Actor, "Case"], None]
#: ``hook(actor, case, from_state)`` after every move (same transaction).
AfterTransition = Callable[[Actor, "Case", str], None]
#: ``link(viewer, case) -> href or ""``.
CaseLink = Callable[[User, "Case"], str]


@dataclass(frozen=True)
class ChronologyDisplay:
    """How one chronology entry is shown: the label of its kind and its text."""

    kind: str
    summary: str


#: ``display(event, viewer) -> ChronologyDisplay``.
ChronologyDisplayFn = Callable[["ChronologyEvent", User | None], ChronologyDisplay]

#: States whose move is refused while no area has registered what it requires: the rule
#: cannot be met without that area (dormant needs an authorised risk assessment).
FAIL_SAFE: dict[str, str] = {}

_move_requirements: dict[str, list[MoveRequirement]] = defaultdict(list)
_close_requirements: dict[str, list[CloseRequirement]] = defaultdict(list)
_close_defaults: dict[str, list[CloseDefaults]] = defaultdict(list)
_after_close: dict[str, list[AfterClose]] = defaultdict(list)
_after_transition: list[AfterTransition] = []
_case_links: dict[str, CaseLink] = {}
_chronology_display: dict[str, ChronologyDisplayFn] = {}


def _add(registry: list[Any], item: object) -> None:
    # An app's extensions module may be loaded twice (tests reload apps): register once.
    if item not in registry:
        registry.append(item)


def move_requirement_register(state: str, check: MoveRequirement) -> None:
    _add(_move_requirements[str(state)], check)


def move_refusal(case: Case, state: str) -> str | None:
    """Why ``case`` may not move into ``state`` yet, or None."""
    checks = _move_requirements.get(str(state), [])
    if not checks and str(state) in FAIL_SAFE:
        return FAIL_SAFE[str(state)]
    for check in checks:
        if (message := check(case)) is not None:
            return message
    return None


def close_requirement_register(outcome: str, check: CloseRequirement) -> None:
    _add(_close_requirements[str(outcome)], check)


def close_problem(
    case: Case, outcome: str, local_authority: LocalAuthority | None
) -> tuple[str, str] | None:
    """The first thing closing ``case`` with ``outcome`` still needs, as (message, field)."""
    for check in _close_requirements.get(str(outcome), []):
        if (problem := check(case, outcome, local_authority)) is not None:
            return problem
    return None


def close_defaults_register(outcome: str, defaults: CloseDefaults) -> None:
    _add(_close_defaults[str(outcome)], defaults)


def close_defaults(
    case: Case, outcome: str, local_authority: LocalAuthority | None
) -> dict[str, object]:
    """Values other areas hold for the fields of a close with ``outcome`` (first wins)."""
    values: dict[str, object] = {}
    for defaults in _close_defaults.get(str(outcome), []):
        for name, value in defaults(case, outcome, local_authority).items():
            values.setdefault(name, value)
    return values


def after_close_register(outcome: str, hook: AfterClose) -> None:
    _add(_after_close[str(outcome)], hook)


def after_close_run(actor: Actor, case: Case) -> None:
    for hook in _after_close.get(str(case.outcome), []):
        hook(actor, case)


def after_transition_register(hook: AfterTransition) -> None:
    _add(_after_transition, hook)


def after_transition_run(actor: Actor, case: Case, from_state: str) -> None:
    for hook in _after_transition:
        hook(actor, case, from_state)


def case_link_register(name: str, link: CaseLink) -> None:
    _case_links[name] = link


def case_link(name: str, viewer: User, case: Case) -> str:
    """The link ``name`` on the case page for ``viewer``, or "" (not offered to them)."""
    link = _case_links.get(name)
    return link(viewer, case) if link is not None else ""


def chronology_display_register(kind: str, display: ChronologyDisplayFn) -> None:
    _chronology_display[str(kind)] = display


def chronology_display(event: ChronologyEvent, viewer: User | None) -> ChronologyDisplay:
    """How ``event`` is shown to ``viewer``: the registered display for its kind, or its
    kind's label and its summary."""
    display = _chronology_display.get(event.kind)
    if display is not None:
        return display(event, viewer)
    return ChronologyDisplay(kind=event.get_kind_display(), summary=event.summary)
