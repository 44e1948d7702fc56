"""A seeded synthetic pupil population with the errors real registers carry.

Used by the tests (a small register to train on and search) and by
``bench/bench_matching.py`` (two roll snapshots to link; queries to search with). Nothing
here is real data: names come from Faker's en_GB lists and the shipped variant tables,
addresses and postcodes are invented.

Households share a surname, address, postcode and parents; twins share a date of birth
too. :func:`corrupt` applies the error kinds of issue 7 item 2, each by name, so a test or
benchmark can ask for exactly one kind.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from cmetrack.rules.upn import upn_check_letter

from .features import PersonRecord, parse_aliases
from .normalise import DATA_DIR, split_list

ERROR_KINDS = (
    "typo_given",
    "typo_family",
    "nickname",
    "transliteration",
    "double_surname",
    "reordered_surname",
    "swapped_names",
    "middle_as_given",
    "dob_day_month_swapped",
    "dob_one_digit",
    "dob_year_off",
    "changed_surname",
    "moved_address",
    "typo_postcode",
    "typo_address",
)

_OTHER_FAMILY_NAMES = [
    "Khan",
    "Ahmed",
    "Ali",
    "Hussain",
    "Begum",
    "Patel",
    "Shah",
    "Singh",
    "Kaur",
    "Rahman",
    "Islam",
    "Akhtar",
    "Iqbal",
    "Mahmood",
    "Kowalski",
    "Nowak",
    "Wisniewski",
    "Wojcik",
    "Kaminski",
    "Lewandowski",
    "Popescu",
    "Ionescu",
    "Petrov",
    "Ivanov",
    "Shevchenko",
    "Kovalenko",
    "Mohamed",
    "Abdi",
    "Hassan",
    "Warsame",
    "Osman",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Nguyen",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Silva",
    "Santos",
    "Ferreira",
    "Costa",
    "Murphy",
    "Kelly",
]
_STREETS = [
    "Oak",
    "Mill",
    "Church",
    "Station",
    "Park",
    "Victoria",
    "Albert",
    "Green",
    "Manor",
    "Queens",
    "Kings",
    "Grange",
    "Meadow",
    "Orchard",
    "Chapel",
    "School",
    "Bridge",
    "Castle",
    "Elm",
    "Ash",
    "Willow",
    "Cedar",
    "Beech",
    "Maple",
]
_STREET_KINDS = ("Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way", "Gardens")
_TOWNS = ("Exampleton", "Northbridge", "Southmoor", "Eastwick", "Westfold", "Brookvale")


@dataclass(frozen=True)
class Pupil:
    """One row of a synthetic register; ``person`` is the truth (same child, same id)."""

    id: str
    person: int
    given_name: str
    middle_names: str
    family_name: str
    dob: dt.date
    sex: str
    postcode: str
    address: str
    parent_names: str
    upn: str
    aliases: str = ""

    def as_row(self) -> dict[str, str]:
        return {
            "id": self.id,
            "given_name": self.given_name,
            "middle_names": self.middle_names,
            "family_name": self.family_name,
            "aliases": self.aliases,
            "dob": self.dob.isoformat() if self.dob else "",
            "sex": self.sex,
            "postcode": self.postcode,
            "address": self.address,
            "parent_names": self.parent_names,
            "upn": self.upn,
        }


def _groups(filename: str) -> list[list[str]]:
    out = []
    for line in (DATA_DIR / filename).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            out.append([n.strip().title() for n in line.split(",") if n.strip()])
    return out


@cache
def _name_lists() -> tuple[list[str], list[str], list[str], list[float], list[str]]:
    from faker.providers.person.en_GB import Provider

    female = list(Provider.first_names_female)
    male = list(Provider.first_names_male)
    translit = _groups("transliterations.csv")
    male += [g[0] for g in translit[:20]] + [g[0] for g in translit[40:70]]
    female += [g[0] for g in translit[20:30]]
    last = dict(Provider.last_names)
    families = list(last) + _OTHER_FAMILY_NAMES
    # Zipf-like weights, so a few surnames are common and most are rare.
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(families))]
    parents = female + male
    return female, male, families, weights, parents


@cache
def _variant_map(filename: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for group in _groups(filename):
        for name in group:
            out.setdefault(name.lower(), []).extend(n for n in group if n.lower() != name.lower())
    return out


def _upn(rng: random.Random, n: int) -> str:
    body = f"{800 + rng.randrange(200):03d}{rng.randrange(10**4):04d}{n % 10**5:05d}"
    return upn_check_letter(body) + body


def population(size: int, *, seed: int = 1, census: dt.date = dt.date(2026, 9, 1)) -> list[Pupil]:
    """``size`` pupils aged 4 to 16 on ``census``, in households of one to four children."""
    return list(iter_population(size, seed=seed, census=census))


def iter_population(
    size: int, *, seed: int = 1, census: dt.date = dt.date(2026, 9, 1)
) -> Iterator[Pupil]:
    """The pupils of :func:`population` one at a time (the same pupils for the same seed),
    so a benchmark can stream ten million of them without holding them all."""
    rng = random.Random(seed)
    female, male, families, weights, _parents = _name_lists()
    count = 0
    household = 0
    while count < size:
        household += 1
        family = rng.choices(families, weights)[0]
        if rng.random() < 0.06:
            family = f"{family}-{rng.choices(families, weights)[0]}"
        street = f"{rng.randrange(1, 200)} {rng.choice(_STREETS)} {rng.choice(_STREET_KINDS)}"
        district = (
            f"{rng.choice('ABCDEGHKLMNPRSTW')}{rng.choice('ABEHLMNRSTX')}{rng.randrange(1, 40)}"
        )
        unit = "".join(rng.choices("ABDEFGHJLNPQRSTUWXYZ", k=2))
        postcode = f"{district} {rng.randrange(10)}{unit}"
        address = f"{street}, {rng.choice(_TOWNS)}"
        mother = f"{rng.choice(female)} {family}"
        father = f"{rng.choice(male)} {family if rng.random() < 0.7 else rng.choice(families)}"
        parent_names = ";".join(p for p in (mother, father if rng.random() < 0.6 else "") if p)
        children = rng.choices((1, 2, 3, 4), (45, 35, 15, 5))[0]
        last_dob: dt.date | None = None
        last_given = ""
        for k in range(children):
            if count >= size:
                break
            sex = rng.choice("FM")
            twin = last_dob is not None and rng.random() < 0.04
            if twin and last_dob is not None:
                dob = last_dob
            else:
                dob = census - dt.timedelta(days=rng.randrange(4 * 365, 16 * 365))
            last_dob = dob
            names = female if sex == "F" else male
            given = rng.choice(names)
            while twin and given == last_given:
                given = rng.choice(names)
            last_given = given
            middle = rng.choice(names) if rng.random() < 0.35 else ""
            n = count
            count += 1
            yield Pupil(
                id=f"P{n:08d}",
                person=n,
                given_name=given,
                middle_names=middle,
                family_name=family,
                dob=dob,
                sex=sex,
                postcode=postcode,
                address=address,
                parent_names=parent_names,
                upn=_upn(rng, n + k),
            )


# --- errors -----------------------------------------------------------------------------


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + rng.choice("aeiou")
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == 0:
        return word[:i] + letter + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + letter + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _variant(rng: random.Random, name: str, filename: str) -> str | None:
    options = _variant_map(filename).get(name.lower())
    return rng.choice(options) if options else None


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _dob_one_digit(rng: random.Random, dob: dt.date) -> dt.date | None:
    digits = dob.strftime("%Y%m%d")
    for _ in range(20):
        i = rng.randrange(2, 8)
        new = digits[:i] + rng.choice("0123456789".replace(digits[i], "")) + digits[i + 1 :]
        found = _valid(int(new[:4]), int(new[4:6]), int(new[6:]))
        if found:
            return found
    return None


def corrupt(rng: random.Random, p: Pupil, kind: str) -> Pupil | None:
    """``p`` with one error of ``kind``; None when the kind cannot apply (no nickname)."""
    match kind:
        case "typo_given":
            return replace(p, given_name=_typo(rng, p.given_name))
        case "typo_family":
            return replace(p, family_name=_typo(rng, p.family_name))
        case "nickname" | "transliteration":
            filename = "nicknames.csv" if kind == "nickname" else "transliterations.csv"
            new = _variant(rng, p.given_name, filename)
            return replace(p, given_name=new) if new else None
        case "double_surname":
            if "-" in p.family_name:
                return replace(p, family_name=rng.choice(p.family_name.split("-")))
            other = rng.choice(_OTHER_FAMILY_NAMES)
            return replace(p, family_name=f"{p.family_name}-{other}")
        case "reordered_surname":
            if "-" not in p.family_name:
                return None
            a, b = p.family_name.split("-", 1)
            return replace(p, family_name=f"{b} {a}")
        case "swapped_names":
            return replace(p, given_name=p.family_name, family_name=p.given_name)
        case "middle_as_given":
            if not p.middle_names:
                return None
            return replace(p, given_name=p.middle_names, middle_names="")
        case "dob_day_month_swapped":
            if p.dob.day > 12 or p.dob.day == p.dob.month:
                return None
            return replace(p, dob=dt.date(p.dob.year, p.dob.day, p.dob.month))
        case "dob_one_digit":
            new_dob = _dob_one_digit(rng, p.dob)
            return replace(p, dob=new_dob) if new_dob else None
        case "dob_year_off":
            new_dob = _valid(p.dob.year + rng.choice((-1, 1)), p.dob.month, p.dob.day)
            return replace(p, dob=new_dob) if new_dob else None
        case "changed_surname":
            _f, _m, families, weights, _p = _name_lists()
            return replace(p, family_name=rng.choices(families, weights)[0])
        case "moved_address":
            district = (
                f"{rng.choice('ABCDEGHKLMNPRSTW')}{rng.choice('ABEHLMNRSTX')}{rng.randrange(1, 40)}"
            )
            return replace(
                p,
                postcode=f"{district} {rng.randrange(10)}AB",
                address=f"{rng.randrange(1, 200)} {rng.choice(_STREETS)} Road",
            )
        case "typo_postcode":
            return replace(p, postcode=_postcode_typo(rng, p.postcode))
        case "typo_address":
            words = p.address.split()
            i = rng.randrange(len(words))
            if not words[i].isalpha():
                return None
            words[i] = _typo(rng, words[i])
            return replace(p, address=" ".join(words))
    raise ValueError(f"unknown error kind {kind}")


def _postcode_typo(rng: random.Random, postcode: str) -> str:
    """One character of the postcode's inward or outward part changed, or two neighbouring
    characters swapped (as keyed in a hurry: "EX1 2AB" → "EX1 2BA", "EX1 3AB")."""
    chars = list(postcode)
    positions = [i for i, c in enumerate(chars) if c != " "]
    i = rng.choice(positions)
    if (
        rng.random() < 0.5
        and i + 1 < len(chars)
        and chars[i + 1] != " "
        and chars[i] != chars[i + 1]
    ):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        pool = "0123456789" if chars[i].isdigit() else "ABDEFGHJLNPQRSTUWXYZ"
        chars[i] = rng.choice(pool.replace(chars[i], ""))
    return "".join(chars)


def with_errors(rng: random.Random, p: Pupil, count: int) -> tuple[Pupil, list[str]]:
    """``p`` with up to ``count`` errors of random kinds, and the kinds applied."""
    applied: list[str] = []
    for kind in rng.sample(ERROR_KINDS, len(ERROR_KINDS)):
        if len(applied) >= count:
            break
        changed = corrupt(rng, p, kind)
        if changed is not None:
            p = changed
            applied.append(kind)
    return p, applied


def next_snapshot(
    pupils: list[Pupil],
    *,
    seed: int = 2,
    leave_rate: float = 0.05,
    join_rate: float = 0.05,
    error_rate: float = 0.35,
    upn_rate: float = 0.0,
    id_prefix: str = "Q",
) -> list[Pupil]:
    """A later roll: some pupils left, new ones joined, and records re-keyed with errors.

    ``upn_rate``: share of rows that keep their UPN (0: linkage must work on the person's
    details alone, the hard case). Joiners get persons the first snapshot lacks."""
    rng = random.Random(seed)
    out: list[Pupil] = []
    for p in pupils:
        if rng.random() < leave_rate:
            continue
        q = p
        if rng.random() < error_rate:
            q, _ = with_errors(rng, p, rng.choice((1, 1, 1, 2)))
        out.append(
            replace(
                q, id=f"{id_prefix}{len(out):08d}", upn=p.upn if rng.random() < upn_rate else ""
            )
        )
    joiners = population(int(len(pupils) * join_rate) + 1, seed=seed + 1000)
    for j in joiners:
        out.append(replace(j, id=f"{id_prefix}{len(out):08d}", person=-1 - j.person, upn=""))
    rng.shuffle(out)
    return out


def replace_id(p: Pupil, new_id: str) -> Pupil:
    return replace(p, id=new_id)


def as_record(p: Pupil, *, with_upn: bool = True) -> PersonRecord:
    """The pupil as the matcher reads a register row."""
    return PersonRecord(
        given_names=p.given_name,
        middle_names=p.middle_names,
        family_name=p.family_name,
        aliases=parse_aliases(p.aliases),
        dob=p.dob,
        sex=p.sex,
        postcode=p.postcode,
        address=p.address,
        parent_names=split_list(p.parent_names),
        upns=(p.upn,) if (p.upn and with_upn) else (),
    )
