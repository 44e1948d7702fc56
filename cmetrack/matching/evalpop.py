"""An evaluation population that the model never learnt from.

The shipped model was trained on :mod:`cmetrack.matching.synthetic` (Faker's en_GB name
lists, our own nickname and transliteration tables, its own typing errors). Measuring the
engine on that generator's output flatters it: it is tested on the errors it was taught.
This module is written apart from it and shares nothing with it: its own name lists
(below), its own nickname and other-spelling pairs (written from general knowledge, not
copied from ``data/nicknames.csv``: some are in our tables and some are not, so a miss
shows), its own household structure and its own error process, modelled on published
studies of administrative records:

- **How often identifiers disagree** between two records of the same person: Lam, Boyd,
  Linacre, Blackburn and Harron (2024), *Generating synthetic identifiers to support
  development and evaluation of data linkage methods*, IJPDS 9(1):2389,
  doi:10.23889/ijpds.v9i1.2389, found within-person disagreement between two collection
  points of a UK cohort (ALSPAC) in 18% of surnames and 12% of forenames
  (:data:`FORENAME_DISAGREE`, :data:`SURNAME_DISAGREE`). Hagger-Johnson, Harron et al.
  (2017), *Utilising identifier error variation in linkage of large administrative data
  sources*, BMC Medical Research Methodology 17:23, doi:10.1186/s12874-017-0306-8,
  found (Hospital Episode Statistics against the Personal Demographics Service, ages
  0–1, 5–6 and 18–19) sex and date of birth wrong or missing in 0.11% of records and
  postcode in 53% (:data:`DOB_SEX_DISAGREE`; a postcode changes mostly because the
  family moved, :data:`MOVED_FAMILIES`, which issue 19 sets at 40% or more).
- **What a typing error looks like**: Damerau (1964), *A technique for computer detection
  and correction of spelling errors*, CACM 7(3):171–176, found over 80% of misspellings
  to be one letter inserted, left out, changed or two neighbours swapped
  (:data:`SINGLE_EDIT_SHARE`); the rest here have two such errors. Substitutions use a
  neighbouring key of a UK keyboard, as in the corruptors of Christen and Pudjijono
  (2009), *Accurate synthetic generation of realistic personal information*, PAKDD,
  LNCS 5476, and Christen and Vatsalan (2013), *Flexible and extensible generation and
  corruption of personal data*, CIKM (GeCo).

How a forename or surname disagreement splits between kinds (typing error, nickname,
other spelling, transliteration, middle name used, surname changed, double surname) is
not given by those studies: :data:`FORENAME_KINDS` and :data:`SURNAME_KINDS` are our
assumption, stated so it can be argued with. Every kind is also generated on its own
(:func:`corrupt`) so recall is reported for each.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace

from cmetrack.rules.upn import upn_check_letter

from .features import PersonRecord

#: Lam et al. (2024): within-person disagreement between two collection points.
FORENAME_DISAGREE = 0.12
SURNAME_DISAGREE = 0.18
#: Hagger-Johnson, Harron et al. (2017): sex and date of birth wrong or missing.
DOB_SEX_DISAGREE = 0.0011
#: Damerau (1964): share of misspellings that are a single edit.
SINGLE_EDIT_SHARE = 0.8
#: Issue 19: at least 40% of families moved between the two snapshots.
MOVED_FAMILIES = 0.45
#: Share of pupils who leave, and of new pupils who join, between snapshots.
TURNOVER = 0.04

#: How a forename disagreement splits (our assumption).
FORENAME_KINDS = {
    "given_typo": 0.45,
    "given_nickname": 0.25,
    "given_spelling": 0.15,
    "given_middle": 0.10,
    "given_transliteration": 0.05,
}
#: How a surname disagreement splits (our assumption): a family's surname changes when a
#: parent marries or separates, or a double surname is taken up or dropped.
SURNAME_KINDS = {
    "surname_typo": 0.35,
    "surname_changed": 0.35,
    "surname_double": 0.20,
    "surname_part": 0.10,
}
ERROR_KINDS = (
    *FORENAME_KINDS,
    *SURNAME_KINDS,
    "dob_swap",
    "dob_digit",
    "dob_year",
    "sex_wrong",
    "moved",
    "postcode_typo",
    "names_swapped",
    "upn_missing",
)

# --- name lists (our own; not Faker's, not the shipped tables) ---------------------------


def _words(text: str) -> list[str]:
    return text.split()


_BOYS = _words(
    """Aarav Abdirahman Adam Adrian Ahmad Aidan Alfie Ali Amir Andrei Anthony Archie Arjun
Arthur Ayaan Bartosz Ben Caleb Callum Charlie Chidi Christopher Conor Daniel Darius David
Dominik Dylan Eli Elijah Emeka Ethan Ezra Felix Filip Finlay Frankie Gabriel George Hamza
Harvey Hassan Henry Hugo Ibrahim Idris Isaac Ismail Jacob Jake Jakub James Jayden Joel John
Jonah Joseph Joshua Jude Kacper Kai Kayden Kieran Kofi Kwame Leo Leon Lewis Liam Logan Louis
Luca Lucas Luke Mason Mateo Matthew Max Michael Mihai Milo Mohammed Musa Nathan Noah Oliver
Omar Oscar Patrick Rafael Reggie Reuben Riley Robert Ronan Rory Ryan Samuel Sebastian Stanley
Stefan Teddy Theo Thomas Toby Tomasz Tyler Umar Vlad William Yusuf Zachary Zain"""
)
_GIRLS = _words(
    """Aaliyah Abigail Ada Adriana Aisha Alice Amara Amelia Amira Ana Anna Aria Ava
Bella Bianca Chloe Clara Daisy Eleanor Elena Eliza Ella Ellie Elsie Emily Emma Eva Evie Fatima
Florence Freya Grace Hafsa Hannah Harper Hollie Imogen Isabella Isla Ivy Jasmine Julia Kasia
Katie Khadija Layla Leah Lily Lola Lucy Maisie Maja Maria Martha Maryam Matilda Maya Mia
Millie Mila Molly Naomi Nia Nina Olivia Orla Phoebe Poppy Priya Rosa Rose Ruby Safa Sara
Scarlett Sienna Sofia Sophie Summer Tara Thea Victoria Violet Willow Yasmin Zara Zofia Zuzanna
Amelie Ayesha Chioma Esme Iris Jessica Lara Lottie Nadia"""
)
_MIDDLE = _words(
    """Alexander Anne Elizabeth Grace James John Jane Louise Marie May Michael Rose Thomas
William David Joseph Ali Mae Lee Jay"""
)
_SURNAMES = _words(
    """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts
Robinson Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel
Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan
Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly
Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall
Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray
Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler
Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh
Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks
West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth
Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter
Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding
Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke
Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman
Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor
Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter
Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Rahman Iqbal Akhtar Mahmood
Nowak Kowalski Wisniewski Popescu Ionescu Okafor Adeyemi Mensah Osei Mohamed Abdi Farah Hassan
Yilmaz Demir Kaya Novak Horvath Silva Santos Ferreira Costa Rossi Russo Nguyen Tran Chen Wang
Li Zhang Kim Park Ivanova Petrov Sokolova"""
)
_STREET_A = _words(
    """Acorn Ash Beech Birch Bramble Briar Cedar Chestnut Clover Elder Elm Fern Hazel
Heather Holly Juniper Laurel Linden Maple Oak Orchard Pine Poplar Rowan Sycamore Thorn Willow
Yew Abbey Bridge Castle Chapel Church Mill Market Station Park Priory Quarry School Tower
Well Farm Manor Meadow Brook Spring Hill Vale"""
)
_STREET_B = _words("Road Street Lane Close Avenue Drive Way Crescent Grove Terrace Court Rise")
_TOWNS = _words("Ashcombe Brindle Corbury Dunmere Elverton Fairholt Greystoke Harwell Ivybridge")
_AREAS = ("AB", "BD", "CT", "DN", "EX", "HG", "LN", "NR", "PL", "TQ", "WR", "YO")

#: Nicknames and other spellings, our own list (name as registered → as typed elsewhere).
NICKNAMES = {
    "Matthew": ["Matt", "Matty"],
    "Samuel": ["Sam", "Sammy"],
    "Joseph": ["Joe", "Joey"],
    "William": ["Will", "Billy", "Liam"],
    "Robert": ["Rob", "Bobby"],
    "Thomas": ["Tom", "Tommy"],
    "James": ["Jim", "Jamie"],
    "Daniel": ["Dan", "Danny"],
    "Christopher": ["Chris"],
    "Michael": ["Mike", "Mikey"],
    "Benjamin": ["Ben"],
    "Alexander": ["Alex", "Sasha"],
    "Nathan": ["Nate"],
    "Zachary": ["Zach", "Zak"],
    "Sebastian": ["Seb"],
    "Frederick": ["Freddie"],
    "Theodore": ["Theo", "Teddy"],
    "Elizabeth": ["Lizzie", "Beth", "Libby"],
    "Isabella": ["Bella", "Izzy"],
    "Victoria": ["Tori", "Vicky"],
    "Katherine": ["Kate", "Katie"],
    "Eleanor": ["Ellie", "Nell"],
    "Abigail": ["Abbie", "Abi"],
    "Jessica": ["Jess"],
    "Florence": ["Flo", "Florrie"],
    "Matilda": ["Tilly"],
    "Charlotte": ["Lottie", "Charlie"],
    "Margaret": ["Maggie", "Peggy"],
    "Olivia": ["Liv", "Livvy"],
    "Sophie": ["Soph"],
    "Jakub": ["Kuba"],
    "Tomasz": ["Tomek"],
    "Katarzyna": ["Kasia"],
    "Aleksandra": ["Ola"],
    "Mohammed": ["Mo"],
    "Ibrahim": ["Ibby"],
}
#: Spellings that differ (same name written another way).
SPELLINGS = {
    "Matthew": ["Mathew"],
    "Stephen": ["Steven"],
    "Philip": ["Phillip"],
    "Jayden": ["Jaden", "Jaydon"],
    "Kayden": ["Kaden"],
    "Isabella": ["Isobella"],
    "Sophie": ["Sophy"],
    "Amelia": ["Emelia"],
    "Hollie": ["Holly"],
    "Aaliyah": ["Aliyah", "Aleah"],
    "Layla": ["Leila", "Laila"],
    "Sara": ["Sarah"],
    "Zara": ["Zarah"],
    "Ellie": ["Elly"],
    "Evie": ["Evey"],
    "Jasmine": ["Jasmin", "Yasmin"],
    "Lewis": ["Louis"],
    "Harvey": ["Harvy"],
    "Reuben": ["Ruben"],
    "Frankie": ["Franky"],
    "Maisie": ["Maisy", "Maisey"],
    "Millie": ["Milly"],
    "Khadija": ["Khadijah", "Kadija"],
    "Catherine": ["Katherine", "Kathryn"],
}
#: Transliterations (the same name from another alphabet, written another way).
TRANSLITERATIONS = {
    "Mohammed": ["Muhammad", "Mohamed", "Muhammed", "Mohammad"],
    "Yusuf": ["Yousef", "Yusef", "Youssef"],
    "Hamza": ["Hamzah"],
    "Aisha": ["Ayesha", "Aishah"],
    "Fatima": ["Fatimah", "Fatma"],
    "Umar": ["Omar"],
    "Ibrahim": ["Ebrahim"],
    "Maryam": ["Mariam", "Miriam"],
    "Andrei": ["Andrey", "Andriy"],
    "Vlad": ["Wlad"],
    "Zofia": ["Sofia", "Sophia"],
    "Mihai": ["Mihail"],
    "Idris": ["Idrees"],
    "Hassan": ["Hasan"],
    "Amir": ["Ameer"],
    "Safa": ["Safaa"],
}
#: Boy/girl pairs whose names differ by a letter or an ending (twins are often named so).
TWIN_NAME_PAIRS = (
    ("Adrian", "Adriana"),
    ("Daniel", "Daniela"),
    ("Louis", "Louise"),
    ("Julian", "Juliana"),
    ("Paul", "Paula"),
    ("Aaron", "Erin"),
    ("Ali", "Alia"),
    ("Samuel", "Samira"),
    ("Jonah", "Jona"),
    ("Mario", "Maria"),
)

_KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours() -> dict[str, str]:
    out: dict[str, str] = {}
    for r, row in enumerate(_KEYBOARD):
        for c, ch in enumerate(row):
            near = []
            for dr in (-1, 0, 1):
                rr = r + dr
                if 0 <= rr < len(_KEYBOARD):
                    for dc in (-1, 0, 1):
                        cc = c + dc
                        if (dr, dc) != (0, 0) and 0 <= cc < len(_KEYBOARD[rr]):
                            near.append(_KEYBOARD[rr][cc])
            out[ch] = "".join(near)
    return out


_NEAR = _neighbours()


@dataclass(frozen=True)
class Child:
    id: str
    family: int
    given: str
    middle: str
    surname: str
    dob: dt.date
    sex: str
    postcode: str
    address: str
    parents: tuple[str, ...]
    upn: str
    twin_of: str = ""

    def record(self, *, with_upn: bool = True) -> PersonRecord:
        return PersonRecord(
            given_names=self.given,
            middle_names=self.middle,
            family_name=self.surname,
            dob=self.dob,
            sex=self.sex,
            postcode=self.postcode,
            address=self.address,
            parent_names=self.parents,
            upns=(self.upn,) if with_upn and self.upn else (),
        )

    def row(self, *, with_upn: bool = True) -> dict[str, str]:
        """A line of a linkage file (bulk_sql.COLUMNS)."""
        return {
            "id": self.id,
            "given_name": self.given,
            "middle_names": self.middle,
            "family_name": self.surname,
            "aliases": "",
            "dob": self.dob.isoformat(),
            "sex": self.sex,
            "postcode": self.postcode,
            "address": self.address,
            "parent_names": ";".join(self.parents),
            "upn": self.upn if with_upn else "",
        }


def _zipf_choice(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    # Inverse-rank weights: the first names of a list are the most common.
    n = len(items)
    weights = _ZIPF.get((n, s))
    if weights is None:
        weights = _ZIPF[(n, s)] = [1 / (i + 1) ** s for i in range(n)]
    return rng.choices(items, weights=weights)[0]


_ZIPF: dict[tuple[int, float], list[float]] = {}


def _postcode(rng: random.Random) -> str:
    area = rng.choice(_AREAS)
    return (
        f"{area}{rng.randint(1, 39)} {rng.randint(0, 9)}"
        f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    )


def _address(rng: random.Random) -> str:
    return (
        f"{rng.randint(1, 240)} {rng.choice(_STREET_A)} {rng.choice(_STREET_B)}, "
        f"{rng.choice(_TOWNS)}"
    )


def _upn(n: int, la: int = 881) -> str:
    body = f"{la:03d}{n // 100_000 % 10_000:04d}{n // 1000 % 100:02d}{n % 1000:03d}"
    return upn_check_letter(body) + body


def _given(rng: random.Random, sex: str) -> str:
    return _zipf_choice(rng, _BOYS if sex == "M" else _GIRLS, 0.7)


def families(
    size: int, *, seed: int = 7, census: dt.date = dt.date(2026, 9, 1), offset: int = 0
) -> list[Child]:
    """About ``size`` children aged 4 to 16 in households of one to five, about 3% of
    them twins (some boy/girl twins with names a letter apart). ``offset`` numbers the
    children (ids and UPNs) and families from there, so populations generated in parts
    (ten million, a million at a time) never share an id, a UPN or a family."""
    rng = random.Random(seed)
    out: list[Child] = []
    family = offset
    while len(out) < size:
        family += 1
        surname = _zipf_choice(rng, _SURNAMES, 0.9)
        if rng.random() < 0.05:
            surname = f"{surname}-{_zipf_choice(rng, _SURNAMES, 0.9)}"
        parents: tuple[str, ...] = (
            f"{rng.choice([*_GIRLS, 'Sarah', 'Helen', 'Joanne'])} {surname}",
        )
        if rng.random() < 0.6:
            parents += (f"{rng.choice(_BOYS)} {surname.split('-')[0]}",)
        postcode, address = _postcode(rng), _address(rng)
        children = rng.choices((1, 2, 3, 4, 5), weights=(40, 35, 16, 6, 3))[0]
        used: set[str] = set()
        dobs: list[dt.date] = []
        for _ in range(children):
            age_days = rng.randint(4 * 365, 16 * 365)
            dob = census - dt.timedelta(days=age_days)
            if any(abs((dob - d).days) < 300 for d in dobs):
                continue
            dobs.append(dob)
            twins = rng.random() < 0.015
            births = []
            if twins and rng.random() < 0.35:
                boy, girl = rng.choice(TWIN_NAME_PAIRS)
                births = [("M", boy), ("F", girl)]
            else:
                for _t in range(2 if twins else 1):
                    sex = rng.choice("MF")
                    name = _given(rng, sex)
                    while name in used:
                        name = _given(rng, sex)
                    births.append((sex, name))
            first_id = ""
            for sex, name in births:
                used.add(name)
                n = offset + len(out)
                child = Child(
                    id=f"E{n}",
                    family=family,
                    given=name,
                    middle=rng.choice(_MIDDLE) if rng.random() < 0.5 else "",
                    surname=surname,
                    dob=dob,
                    sex=sex,
                    postcode=postcode,
                    address=address,
                    parents=parents,
                    upn=_upn(n),
                    twin_of=first_id,
                )
                first_id = first_id or child.id
                out.append(child)
    return out[:size]


# --- errors -------------------------------------------------------------------------------


def typo(rng: random.Random, word: str, edits: int | None = None) -> str:
    """One (80%, Damerau 1964) or two typing errors: a neighbouring key for a letter, a
    letter added or left out, or two neighbours swapped. Not on the first letter (rarely
    mistyped, and a changed first letter is mostly another name)."""
    edits = edits or (1 if rng.random() < SINGLE_EDIT_SHARE else 2)
    text = word
    for _ in range(edits):
        if len(text) < 3:
            break
        lower = text.lower()
        i = rng.randrange(1, len(text))
        kind = rng.choices(("sub", "ins", "del", "swap"), weights=(45, 20, 20, 15))[0]
        ch = lower[i]
        if kind == "sub" and ch in _NEAR:
            text = text[:i] + rng.choice(_NEAR[ch]) + text[i + 1 :]
        elif kind == "ins":
            text = text[:i] + rng.choice(_NEAR.get(ch, string.ascii_lowercase)) + text[i:]
        elif kind == "del" and len(text) > 3:
            text = text[:i] + text[i + 1 :]
        elif kind == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        else:
            text = text[:i] + rng.choice(string.ascii_lowercase) + text[i + 1 :]
    return text if text.lower() != word.lower() else typo(rng, word, 1) if len(word) > 2 else word


def _valid_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def corrupt(rng: random.Random, c: Child, kind: str) -> Child | None:
    """``c`` with one error of ``kind`` (:data:`ERROR_KINDS`), or None when the kind does
    not apply to this child (no nickname listed, a day and month that cannot swap…)."""
    if kind == "given_typo":
        return replace(c, given=typo(rng, c.given))
    if kind in ("given_nickname", "given_spelling", "given_transliteration"):
        table = {
            "given_nickname": NICKNAMES,
            "given_spelling": SPELLINGS,
            "given_transliteration": TRANSLITERATIONS,
        }[kind]
        options = table.get(c.given)
        return replace(c, given=rng.choice(options)) if options else None
    if kind == "given_middle":
        return replace(c, given=c.middle, middle="") if c.middle else None
    if kind == "surname_typo":
        return replace(c, surname=typo(rng, c.surname))
    if kind == "surname_changed":
        new = _zipf_choice(rng, _SURNAMES, 0.9)
        return replace(c, surname=new) if new != c.surname else None
    if kind == "surname_double":
        if "-" in c.surname:
            return None
        return replace(c, surname=f"{c.surname}-{_zipf_choice(rng, _SURNAMES, 0.9)}")
    if kind == "surname_part":
        parts = c.surname.split("-")
        return replace(c, surname=rng.choice(parts)) if len(parts) > 1 else None
    if kind == "dob_swap":
        d = _valid_date(c.dob.year, c.dob.day, c.dob.month)
        return replace(c, dob=d) if d and d != c.dob else None
    if kind == "dob_digit":
        text = c.dob.strftime("%Y%m%d")
        for _ in range(10):
            i = rng.choice((2, 3, 5, 7))
            digit = str((int(text[i]) + rng.choice((1, -1, 2))) % 10)
            t = text[:i] + digit + text[i + 1 :]
            d = _valid_date(int(t[:4]), int(t[4:6]), int(t[6:]))
            if d and d != c.dob:
                return replace(c, dob=d)
        return None
    if kind == "dob_year":
        d = _valid_date(c.dob.year + rng.choice((1, -1)), c.dob.month, c.dob.day)
        return replace(c, dob=d) if d else None
    if kind == "sex_wrong":
        return replace(c, sex="F" if c.sex == "M" else "M")
    if kind == "moved":
        return replace(c, postcode=_postcode(rng), address=_address(rng))
    if kind == "postcode_typo":
        text = c.postcode
        i = rng.choice([k for k, ch in enumerate(text) if ch != " "][1:])
        ch = text[i]
        new = (
            str((int(ch) + 1) % 10)
            if ch.isdigit()
            else rng.choice("ABDEFGHJLNPQRSTUWXYZ".replace(ch, ""))
        )
        return replace(c, postcode=text[:i] + new + text[i + 1 :])
    if kind == "names_swapped":
        return replace(c, given=c.surname, surname=c.given)
    if kind == "upn_missing":
        return replace(c, upn="")
    raise ValueError(f"unknown error kind {kind!r}")


def _draw(rng: random.Random, kinds: dict[str, float]) -> str:
    return rng.choices(list(kinds), weights=list(kinds.values()))[0]


def realistic_errors(
    rng: random.Random, c: Child, moved_to: tuple[str, str] | None
) -> tuple[Child, list[str]]:
    """``c`` as another record of them might hold it, at the published rates: a forename
    disagreement 12% of the time, a surname one 18%, date of birth or sex 0.11%, at the
    family's new (postcode, address) ``moved_to`` when it moved."""
    applied: list[str] = []
    out = c
    if moved_to is not None:
        out = replace(out, postcode=moved_to[0], address=moved_to[1])
        applied.append("moved")
    if rng.random() < FORENAME_DISAGREE:
        for _ in range(4):
            kind = _draw(rng, FORENAME_KINDS)
            new = corrupt(rng, out, kind)
            if new is not None:
                out, applied = new, [*applied, kind]
                break
        else:
            out, applied = corrupt(rng, out, "given_typo") or out, [*applied, "given_typo"]
    if rng.random() < SURNAME_DISAGREE:
        for _ in range(4):
            kind = _draw(rng, SURNAME_KINDS)
            new = corrupt(rng, out, kind)
            if new is not None:
                out, applied = new, [*applied, kind]
                break
    if rng.random() < DOB_SEX_DISAGREE:
        kind = rng.choice(("dob_swap", "dob_digit", "dob_year", "sex_wrong"))
        new = corrupt(rng, out, kind)
        if new is not None:
            out, applied = new, [*applied, kind]
    return out, applied


def snapshots(
    size: int, *, seed: int = 7, moved_share: float = MOVED_FAMILIES
) -> tuple[list[Child], list[Child], dict[str, list[str]]]:
    """Two roll snapshots of one population a year apart: the first as registered, the
    second with :func:`realistic_errors` applied (``moved_share`` of families moved,
    every child of a family together), :data:`TURNOVER` leaving and as many joining.
    Returns (first, second, the error kinds applied to each id in the second)."""
    rng = random.Random(seed + 1)
    people = families(size, seed=seed)
    family_ids = sorted({c.family for c in people})
    moved_to = {
        f: (_postcode(rng), _address(rng)) for f in family_ids if rng.random() < moved_share
    }
    first = people
    second: list[Child] = []
    kinds: dict[str, list[str]] = {}
    for c in people:
        if rng.random() < TURNOVER:
            continue
        new, applied = realistic_errors(rng, c, moved_to.get(c.family))
        second.append(new)
        kinds[c.id] = applied
    joiners = families(int(size * TURNOVER) + 1, seed=seed + 1000)
    for n, c in enumerate(joiners):
        second.append(replace(c, id=f"J{n}", upn=_upn(size + 10_000 + n)))
    rng.shuffle(second)
    return first, second, kinds


def iter_kinds() -> Iterator[str]:
    yield from ERROR_KINDS
