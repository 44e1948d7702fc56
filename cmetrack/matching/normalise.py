"""Normalisation of the fields a child is found by: pure functions, no Django.

Every comparison in :mod:`cmetrack.matching.compare` works on what these functions return:
names lower-cased, accents removed, punctuation gone and split into parts; a phonetic key
that sees through spelling and transliteration; the shipped nickname and transliteration
tables (``data/nicknames.csv``, ``data/transliterations.csv``); postcodes split into
district and sector; dates of birth as (year, month, day) with 0 for an unknown part.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zlib
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Letters that are not decomposed by NFKD but have an obvious Latin spelling.
_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "œ": "oe", "ı": "i"}
)
_NOT_LETTER = re.compile(r"[^a-z\s-]")
_SEPARATORS = re.compile(r"[\s-]+")
#: Name parts that carry no identity on their own ("Mr", "Jr").
_NOISE = frozenset({"mr", "mrs", "ms", "miss", "master", "jr", "jnr", "snr", "sr"})


@lru_cache(maxsize=200_000)
def normalise_name(value: str | None) -> str:
    """Lower case, no accents or punctuation; hyphens and runs of spaces become one space.

    ``"  O'Brien-Smyth "`` → ``"obrien smyth"``; ``"Zoë"`` → ``"zoe"``.
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value.casefold().translate(_SPECIAL_LETTERS))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _NOT_LETTER.sub("", text.translate(_SPECIAL_LETTERS))
    parts = [p for p in _SEPARATORS.split(text) if p and p not in _NOISE]
    return " ".join(parts)


def name_parts(value: str | None) -> tuple[str, ...]:
    """The parts of a name: ``"Smith-Jones"`` → ``("smith", "jones")``."""
    normalised = normalise_name(value)
    return tuple(normalised.split()) if normalised else ()


def squash(value: str | None) -> str:
    """A name with its parts run together, so "Smith Jones" equals "Smith-Jones" and
    "Smithjones"."""
    return normalise_name(value).replace(" ", "")


# --- phonetic key -----------------------------------------------------------------------

#: Spelling rules applied in order before vowels are dropped. Written for names written
#: from Arabic, Cyrillic and South Asian scripts as well as English ones: "kh" and "h",
#: "ph" and "f", "x" and "ks", "j" and "y", "w" and "v" are each written for the same sound.
_PHONETIC_RULES: tuple[tuple[str, str], ...] = (
    ("sch", "sh"),
    ("tch", "ch"),
    ("ph", "f"),
    ("gh", "g"),
    ("kh", "h"),
    ("ck", "k"),
    ("dj", "j"),
    ("dzh", "j"),
    ("zh", "j"),
    ("th", "t"),
    ("q", "k"),
    ("x", "ks"),
    ("z", "s"),
    ("w", "v"),
    ("v", "f"),
    ("j", "y"),
)
_SOFT_C = re.compile(r"c(?=[eiy])")
_VOWELS = frozenset("aeiouy")
_DOUBLED = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def phonetic_key(value: str | None) -> str:
    """A key that is equal for names that sound alike or are transliterated alike.

    The first sound is kept (every leading vowel, "y" and "j" count as one sound), then the
    consonants in order (doubled letters written once). Mohammed, Muhammad, Mohamed and
    Mohamad → ``"mmd"``; Aleksandr, Alexander and Oleksandr → ``"alksndr"``; Yusuf,
    Yousef and Joseph → ``"asf"``; Catherine and Kathryn → ``"ktrn"``.
    """
    text = squash(value)
    if not text:
        return ""
    text = _SOFT_C.sub("s", text)
    for old, new in _PHONETIC_RULES:
        text = text.replace(old, new)
    text = _DOUBLED.sub(r"\1", text.replace("c", "k"))
    first, rest = text[0], text[1:]
    key = "a" if first in _VOWELS else first
    for ch in rest:
        if ch in _VOWELS:
            continue
        if ch == "h" and key[-1] not in "sc":  # a silent or breathy h: "Mohd", "Ahmed"
            continue
        key += ch
    return key


def stable_hash(value: str) -> int:
    """A 32-bit hash that is the same in every process (Python's ``hash`` is salted)."""
    return zlib.crc32(value.encode())


# --- nickname and transliteration tables -----------------------------------------------


def _read_groups(filename: str) -> list[frozenset[str]]:
    groups = []
    for line in (DATA_DIR / filename).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        names = frozenset(squash(n) for n in line.split(",") if squash(n))
        if len(names) > 1:
            groups.append(names)
    return groups


@cache
def _variant_index() -> dict[str, frozenset[int]]:
    """Every name in the tables → the numbers of the groups it belongs to."""
    index: dict[str, set[int]] = {}
    groups = _read_groups("nicknames.csv") + _read_groups("transliterations.csv")
    for number, group in enumerate(groups):
        for name in group:
            index.setdefault(name, set()).add(number)
    return {name: frozenset(numbers) for name, numbers in index.items()}


@cache
def _group_members() -> dict[int, frozenset[str]]:
    members: dict[int, set[str]] = {}
    for name, numbers in _variant_index().items():
        for number in numbers:
            members.setdefault(number, set()).add(name)
    return {number: frozenset(names) for number, names in members.items()}


@cache
def _table_names_by_key() -> dict[str, tuple[str, ...]]:
    """The names of the tables by phonetic key."""
    by_key: dict[str, list[str]] = {}
    for name in _variant_index():
        by_key.setdefault(phonetic_key(name), []).append(name)
    return {key: tuple(sorted(names)) for key, names in by_key.items()}


@lru_cache(maxsize=50_000)
def spelling_neighbours(name: str) -> tuple[str, ...]:
    """Names of the tables that are another spelling of ``name``: the same phonetic key
    and one typing error apart ("mathew" → "matthew"), so a name the tables do not list
    still reaches the nicknames of the name it spells (Matt ↔ Mathew ↔ Matthew). The last
    letter must be the same: an ending is how many names change sex (Adrian, Adriana;
    Louis, Louise; Mario, Maria), and a brother's nicknames are not his sister's."""
    if len(name) < 4:
        return ()
    return tuple(
        other
        for other in _table_names_by_key().get(phonetic_key(name), ())
        if other != name
        and other[0] == name[0]
        and other[-1] == name[-1]
        and within_one_edit(other, name)
    )


@lru_cache(maxsize=50_000)
def name_groups(name: str) -> frozenset[int]:
    """The nickname and transliteration groups a (normalised, squashed) given name is in,
    directly or through another spelling of it (:func:`spelling_neighbours`)."""
    index = _variant_index()
    groups = set(index.get(name, frozenset()))
    for other in spelling_neighbours(name):
        groups |= index[other]
    return frozenset(groups)


def variant_explanation(a: str, b: str) -> str:
    """Why two given names are variants, in an officer's words: "given name Matt is a
    nickname or other spelling of Matthew (written Mathew)"."""
    members = _group_members()
    index = _variant_index()

    def listed(name: str) -> tuple[str, str]:
        """(the listed name it is, how it is written when not listed itself)."""
        if name in index:
            return name, ""
        neighbours = spelling_neighbours(name)
        return (neighbours[0], name) if neighbours else (name, "")

    shared = name_groups(a) & name_groups(b)
    la, wa = listed(a)
    lb, wb = listed(b)
    for number in sorted(shared):
        group = members[number]
        for name in (la, *spelling_neighbours(a)):
            if name in group:
                la = name
                break
        for name in (lb, *spelling_neighbours(b)):
            if name in group:
                lb = name
                break
        break

    def shown(listed_name: str, written: str) -> str:
        text = listed_name.title()
        return f"{text} (written {written.title()})" if written else text

    if la == lb:
        return f"given name {a.title()} is another spelling of {b.title()}"
    return f"given name {shown(la, wa)} is a known nickname or other spelling of {shown(lb, wb)}"


@lru_cache(maxsize=50_000)
def name_variants(name: str) -> frozenset[str]:
    """The name itself and every name that shares a group with it: Bob → Robert, Rob…"""
    variants = {name}
    members = _group_members()
    for number in name_groups(name):
        variants |= members[number]
    return frozenset(variants)


def are_variants(a: str, b: str) -> bool:
    """Whether two given names are listed as nicknames or transliterations of each other."""
    return bool(name_groups(a) & name_groups(b))


# --- Jaro-Winkler -----------------------------------------------------------------------


@lru_cache(maxsize=500_000)
def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity exactly as DuckDB's ``jaro_winkler_similarity`` computes it
    (prefix scale 0.1 up to 4 letters, boost only above 0.7, half the out-of-order matches
    rounded down), so the Python scorer and the SQL used by Splink and bulk linkage agree."""
    if a == b:
        return 1.0 if a else 0.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    b_flags = [False] * lb
    a_matched: list[str] = []  # a's matched characters, in order
    find = b.find
    for i, ch in enumerate(a):
        # The first unmatched ``ch`` of b within the window (str.find: the search runs
        # in C, which is most of this function's time on names).
        hi = i + window + 1
        j = find(ch, i - window if i > window else 0, hi)
        while j != -1 and b_flags[j]:
            j = find(ch, j + 1, hi)
        if j != -1:
            b_flags[j] = True
            a_matched.append(ch)
    matches = len(a_matched)
    if not matches:
        return 0.0
    b_matched = [c for c, flag in zip(b, b_flags, strict=True) if flag]
    transpositions = sum(x != y for x, y in zip(a_matched, b_matched, strict=True))
    m = float(matches)
    jaro = (m / la + m / lb + (m - transpositions // 2) / m) / 3
    if jaro <= 0.7:  # Winkler's boost applies only to strings already alike
        return jaro
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


# --- dates of birth ---------------------------------------------------------------------

DobParts = tuple[int, int, int]
NO_DOB: DobParts = (0, 0, 0)
_DIGITS = re.compile(r"\d+")


def dob_parts(value: dt.date | str | None) -> DobParts:
    """(year, month, day) with 0 for an unknown part.

    Accepts a date, ``YYYY-MM-DD``, ``YYYYMMDD``, ``DD/MM/YYYY``, ``MM/YYYY``, ``YYYY-MM``
    or ``YYYY``.
    Impossible dates as typed (month 13) are kept as written: they are what the sender
    recorded and may still be one digit away from the truth.
    """
    if value is None or value == "":
        return NO_DOB
    if isinstance(value, dt.date):
        return (value.year, value.month, value.day)
    text = str(value).strip()
    numbers = _DIGITS.findall(text)
    if len(numbers) == 1 and len(numbers[0]) == 8:
        digits = numbers[0]
        return (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    if len(numbers) == 3:
        first, second, third = numbers
        if len(first) == 4:
            return (int(first), int(second), int(third))
        return (int(third), int(second), int(first))
    if len(numbers) == 2 and len(numbers[1]) == 4:
        return (int(numbers[1]), int(numbers[0]), 0)
    if len(numbers) == 2 and len(numbers[0]) == 4:
        return (int(numbers[0]), int(numbers[1]), 0)
    if len(numbers) == 1 and len(numbers[0]) == 4:
        return (int(numbers[0]), 0, 0)
    return NO_DOB


def dob_digits(parts: DobParts) -> str:
    return f"{parts[0]:04d}{parts[1]:02d}{parts[2]:02d}"


def within_one_edit(a: str, b: str) -> bool:
    """At most one typing error apart: one letter changed, added or left out, or two
    neighbouring letters swapped (Damerau-Levenshtein distance at most 1, as DuckDB's
    ``damerau_levenshtein(a, b) <= 1``)."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la < lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < lb and a[i] == b[i]:
        i += 1
    if i == lb:
        return True  # equal, or ``a`` is ``b`` with one letter added at the end
    if la != lb:
        return a[i + 1 :] == b[i:]  # one letter added
    if a[i + 1 :] == b[i + 1 :]:
        return True  # one letter changed
    return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def dob_one_digit_apart(a: DobParts, b: DobParts) -> bool:
    """Both dates complete and their YYYYMMDD forms differ in exactly one digit."""
    if 0 in a or 0 in b:
        return False
    x = a[0] * 10000 + a[1] * 100 + a[2]
    y = b[0] * 10000 + b[1] * 100 + b[2]
    diff = abs(x - y)
    if diff == 0:
        return False
    power = 1
    while diff % 10 == 0:
        diff //= 10
        power *= 10
    # One digit differs when the difference is k·10^p (k < 10) and nothing above it changed.
    return diff < 10 and x // (power * 10) == y // (power * 10)


_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_date(y: int, m: int, d: int) -> bool:
    if not (1 <= m <= 12 and 1 <= d <= _DAYS_IN_MONTH[m] and y >= 1):
        return False
    return not (m == 2 and d == 29 and not (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)))


@lru_cache(maxsize=20_000)
def dob_typing_variants(parts: DobParts) -> tuple[DobParts, ...]:
    """Dates a mistyped complete date of birth may really be: day and month swapped, year
    one out, or any one digit different (only real calendar dates). Used by the candidate
    index to look a query up under the dates it may have been typed from."""
    year, month, day = parts
    if not (year and month and day):
        return ()
    found: set[DobParts] = {(year, day, month), (year - 1, month, day), (year + 1, month, day)}
    value = year * 10000 + month * 100 + day
    power = 1
    for _position in range(8):
        digit = (value // power) % 10
        base = value - digit * power
        for replacement in range(10):
            if replacement != digit:
                v = base + replacement * power
                found.add((v // 10000, (v // 100) % 100, v % 100))
        power *= 10
    found.discard(parts)
    return tuple(sorted(p for p in found if _is_date(*p)))


# --- postcodes and addresses ------------------------------------------------------------

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9])([A-Z]{2})$")


def normalise_postcode(value: str | None) -> str:
    """Upper case without spaces: ``"ex1 2ab"`` → ``"EX12AB"``."""
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


@lru_cache(maxsize=100_000)
def postcode_parts(value: str | None) -> tuple[str, str, str]:
    """(postcode, sector, district): ``"EX1 2AB"`` → ``("EX12AB", "EX1 2", "EX1")``.

    A value that is not a UK postcode (FEBRL's four-digit ones) is compared whole only."""
    postcode = normalise_postcode(value)
    match = _POSTCODE.match(postcode)
    if not match:
        return (postcode, "", "")
    district, sector_digit, _unit = match.groups()
    return (postcode, f"{district} {sector_digit}", district)


@lru_cache(maxsize=200_000)
def address_parts(value: str | None) -> tuple[str, ...]:
    """The words and numbers of an address, without punctuation or a UK postcode."""
    text = unicodedata.normalize("NFKD", (value or "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = re.findall(r"[a-z0-9]+", text)
    if len(words) >= 2 and _POSTCODE.match((words[-2] + words[-1]).upper()):
        words = words[:-2]
    return tuple(words)


def split_list(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """A ';'-separated field (aliases, parent names) as its non-empty parts."""
    if value is None:
        return ()
    items = value.split(";") if isinstance(value, str) else list(value)
    return tuple(i.strip() for i in items if i and i.strip())
