"""The one axe-core finding set aside: GOV.UK Frontend's ``aria-expanded`` on an input that
reveals a conditional question (core/tests/axe.py). Everything else still fails."""

from __future__ import annotations

from typing import Any

from cmetrack.core.tests.axe import _without_govuk_reveal_expanded

REVEAL = (
    '<input class="govuk-radios__input" id="id_x" name="x" type="radio" value="yes" '
    'aria-controls="conditional-id_x" aria-expanded="false">'
)


def node(html: str, *problems: str) -> dict[str, Any]:
    return {"html": html, "failureSummary": "Fix all of the following:\n  " + "\n  ".join(problems)}


def violation(rule: str, *nodes: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule, "nodes": list(nodes)}


EXPANDED = 'ARIA attribute is not allowed: aria-expanded="false"'


def test_a_reveals_aria_expanded_is_set_aside() -> None:
    assert (
        _without_govuk_reveal_expanded([violation("aria-allowed-attr", node(REVEAL, EXPANDED))])
        == []
    )


def test_other_attributes_elements_and_rules_still_fail() -> None:
    other_attr = node(REVEAL, EXPANDED, 'ARIA attribute is not allowed: aria-pressed="true"')
    plain_radio = node(
        '<input class="govuk-radios__input" id="y" type="radio" aria-expanded="false">', EXPANDED
    )
    button = node('<button aria-expanded="false" aria-controls="conditional-z">', EXPANDED)
    kept = _without_govuk_reveal_expanded(
        [
            violation("aria-allowed-attr", node(REVEAL, EXPANDED), other_attr, plain_radio, button),
            violation("color-contrast", node(REVEAL, "Element has insufficient color contrast")),
        ]
    )
    assert [v["id"] for v in kept] == ["aria-allowed-attr", "color-contrast"]
    assert kept[0]["nodes"] == [other_attr, plain_radio, button]
