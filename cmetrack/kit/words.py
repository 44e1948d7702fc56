"""Words the GOV.UK way (style guide): plurals that agree with their number, "a" or "an",
and labels lowercased inside a sentence without lowercasing acronyms (SLO, UPN, CME)."""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str = "") -> str:
    """ "1 row", "2 rows", "0 rows" (with thousands separators: "1,250 rows")."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


def lower_label(label: str) -> str:
    """A label inside a sentence: "SLO investigation" stays "SLO investigation", "In
    provision" becomes "in provision"; a word in capitals (an acronym) is kept."""
    words = str(label).split(" ")
    return " ".join(w if len(w) > 1 and w.isupper() else w.lower() for w in words)


def with_article(noun: str) -> str:
    """ "a school referral", "an agency referral" (by the first letter's sound, the usual
    cases: a vowel, except "u" as in "UPN" or "unit" and "one")."""
    text = str(noun)
    first = text[:1].lower()
    lowered = text.lower()
    vowel_sound = first in "aeio" or (
        first == "u" and not lowered.startswith(("uni", "upn", "use"))
    )
    if lowered.startswith(("one", "once")):
        vowel_sound = False
    if text[:1].isupper() and len(text.split(" ")[0]) > 1 and text.split(" ")[0].isupper():
        # An acronym is read letter by letter: "an SLO", "a CME officer".
        vowel_sound = first in "aefhilmnorsx"
    return f"{'an' if vowel_sound else 'a'} {text}"
