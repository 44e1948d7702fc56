"""Finding a child: one search over every register, scoped to the user and audited.

:func:`search_children` is what the find-a-child page and the API call;
:func:`find_possible_duplicates` is what referral triage calls (through
``cmetrack.referrals.duplicates``). Each register has a :class:`CandidateIndex` kept in
memory and rebuilt when the register's signature changes (a new roll snapshot, a changed
child); the model is the authority's trained one or the shipped default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.people.models import Child
from cmetrack.registers.models import RollEntry

from .adapters import (
    ADAPTERS,
    ChildAdapter,
    RegisterAdapter,
    RegisterRef,
    ResultDetails,
    adapter_for,
)
from .features import Features, PersonRecord, features_of, parse_aliases
from .index import FORMAT_VERSION, Candidate, CandidateIndex
from .model import MatchModel, current_model
from .scorer import FieldResult

#: Results returned by default.
DEFAULT_LIMIT = 10
#: Roles that may search. What each finds is decided by the registers' scopes
#: (adapters.py): a school user only its own roll, an SLO its schools' rolls and its cases.
SEARCH_ROLES = (
    Role.CME_OFFICER,
    Role.CME_MANAGER,
    Role.SLO,
    Role.VIRTUAL_SCHOOL,
    Role.SAFEGUARDING_ADVISER,
    Role.SCHOOL_USER,
)


@dataclass(frozen=True)
class SearchQuery:
    """What an officer knows about the child. Any mix of fields; blanks are ignored.

    The date of birth may be complete (``dob``) or partial (``dob_year`` with or without
    ``dob_month``); ``dob_approximate`` means only the year is trusted."""

    given_names: str = ""
    middle_names: str = ""
    family_name: str = ""
    aliases: tuple[str, ...] = ()
    dob: dt.date | None = None
    dob_year: int | None = None
    dob_month: int | None = None
    dob_approximate: bool = False
    sex: str = ""
    postcode: str = ""
    address: str = ""
    parent_names: tuple[str, ...] = ()
    upn: str = ""

    def fields_used(self) -> list[str]:
        """Names (not values) of the fields given, for the audit trail."""
        return [
            name
            for name in (
                "given_names",
                "middle_names",
                "family_name",
                "aliases",
                "dob",
                "dob_year",
                "dob_month",
                "sex",
                "postcode",
                "address",
                "parent_names",
                "upn",
            )
            if getattr(self, name)
        ]

    def is_empty(self) -> bool:
        return not any(
            (
                self.given_names,
                self.family_name,
                self.aliases,
                self.dob,
                self.dob_year,
                self.postcode,
                self.upn,
                self.parent_names,
            )
        )

    def as_record(self) -> PersonRecord:
        dob: dt.date | str | None = None
        if self.dob and not self.dob_approximate:
            dob = self.dob
        elif self.dob:
            dob = f"{self.dob.year:04d}"
        elif self.dob_year and self.dob_month and not self.dob_approximate:
            dob = f"{self.dob_month:02d}/{self.dob_year:04d}"
        elif self.dob_year:
            dob = f"{self.dob_year:04d}"
        return PersonRecord(
            given_names=self.given_names,
            middle_names=self.middle_names,
            family_name=self.family_name,
            aliases=parse_aliases(tuple(self.aliases)),
            dob=dob,
            sex=self.sex,
            postcode=self.postcode,
            address=self.address,
            parent_names=tuple(self.parent_names),
            upns=(self.upn,) if self.upn else (),
        )


@dataclass(frozen=True)
class MatchResult:
    register: str
    register_label: str
    ref: RegisterRef
    probability: float
    weight: float
    explanation: str
    fields: tuple[FieldResult, ...]
    details: ResultDetails

    @property
    def percent(self) -> str:
        value = self.probability * 100
        if value >= 99.5:
            return "over 99%" if self.probability < 1 else "100%"
        if value < 1:
            return "under 1%"
        return f"{value:.0f}%"


@dataclass
class _Cached:
    signature: tuple[object, ...]
    model_version: str
    index: CandidateIndex[RegisterRef]


_indexes: dict[str, _Cached] = {}
_lock = threading.Lock()


class _Refs(Sequence[RegisterRef]):
    """The items of a saved index, made on demand from its primary-key columns (a roll
    of a million entries need not become a million objects when a process loads it)."""

    def __init__(self, register: str, pks: Sequence[int], schools: Sequence[int]) -> None:
        self.register, self.pks, self.schools = register, pks, schools

    def __len__(self) -> int:
        return len(self.pks)

    def __getitem__(self, i: int) -> RegisterRef:  # type: ignore[override]
        school = self.schools[i]
        return RegisterRef(self.register, self.pks[i], school if school >= 0 else None)


def index_dir() -> Path | None:
    """Where built indexes are kept (``$CMETRACK_VAR_DIR/matching/index``), or None when
    they are not kept: ``MATCHING_INDEX_DIR = None`` in settings, or a test database
    (thrown away with its data, and its ids start again at 1, so a saved index could be
    taken for a later test's register)."""
    from django.conf import settings
    from django.db import connection

    configured = getattr(settings, "MATCHING_INDEX_DIR", "default")
    if configured is None:
        return None
    name = str(connection.settings_dict.get("NAME") or "")
    if configured == "default" and (
        "memory" in name or Path(name).name.startswith("test_") or name.startswith("test_")
    ):
        return None
    if configured != "default":
        return Path(configured)
    return Path(settings.VAR_DIR) / "matching" / "index"


def _index_key(adapter: RegisterAdapter, signature: tuple[object, ...], model: MatchModel) -> str:
    from django.db import connection

    identity = (
        adapter.name,
        repr(signature),
        model.version,
        FORMAT_VERSION,
        connection.settings_dict.get("NAME"),
        connection.settings_dict.get("HOST"),
    )
    return hashlib.sha256(repr(identity).encode()).hexdigest()[:20]


def _save(directory: Path, adapter: RegisterAdapter, index: CandidateIndex[RegisterRef]) -> None:
    """Write the index beside its items, then move it into place in one step."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.ipc as ipc  # type: ignore[import-untyped]

    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{adapter.name}-"))
    try:
        index.save(partial)
        refs = pa.table(
            {
                "pk": pa.array([r.pk for r in index.items], pa.int64()),
                "school": pa.array(
                    [r.school_id if r.school_id is not None else -1 for r in index.items],
                    pa.int64(),
                ),
            }
        )
        with (
            pa.OSFile(str(partial / "refs.arrow"), "wb") as sink,
            ipc.new_file(sink, refs.schema) as writer,
        ):
            writer.write_table(refs)
        partial.rename(directory)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)  # another process got there first
        return
    for old in directory.parent.glob(f"{adapter.name}-*"):
        if old != directory:
            shutil.rmtree(old, ignore_errors=True)


def _load(
    directory: Path, adapter: RegisterAdapter, model: MatchModel
) -> CandidateIndex[RegisterRef]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    refs = ipc.open_file(pa.memory_map(str(directory / "refs.arrow"), "r")).read_all()
    items = _Refs(
        adapter.name,
        refs.column("pk").combine_chunks().to_pylist(),
        refs.column("school").combine_chunks().to_pylist(),
    )
    return CandidateIndex.load(directory, model, items=items)


def register_index(adapter: RegisterAdapter, model: MatchModel) -> CandidateIndex[RegisterRef]:
    """The register's index: the one in memory while the register's signature and the
    model are unchanged; else the one saved on disk for them (memory-mapped, so web
    processes share it and none rebuilds it); else built now and saved."""
    signature = adapter.signature()
    with _lock:
        cached = _indexes.get(adapter.name)
        if (
            cached is not None
            and cached.signature == signature
            and cached.model_version == model.version
        ):
            return cached.index
        root = index_dir()
        directory = (
            root / f"{adapter.name}-{_index_key(adapter, signature, model)}" if root else None
        )
        index: CandidateIndex[RegisterRef] | None = None
        if directory is not None and (directory / "meta.json").exists():
            try:
                index = _load(directory, adapter, model)
            except (OSError, ValueError, KeyError):
                index = None  # unreadable or of an older format: build it again
        if index is None:
            index = CandidateIndex(adapter.records(), model)
            if directory is not None:
                _save(directory, adapter, index)
        _indexes[adapter.name] = _Cached(signature, model.version, index)
        return index


def clear_indexes() -> None:
    """Forget every index held in memory (tests; after a bulk import in the same
    process). Saved indexes stay: they are found by signature."""
    with _lock:
        _indexes.clear()


def _search(
    *,
    query: PersonRecord,
    adapters: Sequence[RegisterAdapter],
    user: User | None,
    limit: int,
    population: int = 1,
    all_stages: bool = False,
) -> list[tuple[RegisterAdapter, Candidate[RegisterRef]]]:
    """The best ``limit`` candidates over ``adapters``; the prior is one in the number of
    records searched, or in ``population`` when that is larger."""
    model = current_model()
    indexes = [(a, register_index(a, model)) for a in adapters]
    total = sum(len(i) for _a, i in indexes)
    prior = 1.0 / max(total, population, 1)
    found: list[tuple[RegisterAdapter, Candidate[RegisterRef]]] = []
    for adapter, index in indexes:
        permit = None
        if user is not None:

            def permit(
                refs: list[RegisterRef], adapter: RegisterAdapter = adapter
            ) -> set[RegisterRef]:
                return adapter.permitted(user, refs)

        found += [
            (adapter, c)
            for c in index.search(
                query, limit=limit, permit=permit, prior=prior, all_stages=all_stages
            )
        ]
    found.sort(key=lambda ac: -ac[1].score.weight)
    return found[:limit]


def _results(found: list[tuple[RegisterAdapter, Candidate[RegisterRef]]]) -> list[MatchResult]:
    details: dict[RegisterRef, ResultDetails] = {}
    for adapter in {a.name: a for a, _c in found}.values():
        details |= adapter.details([c.item for a, c in found if a.name == adapter.name])
    return [
        MatchResult(
            register=adapter.name,
            register_label=adapter.label,
            ref=c.item,
            probability=c.probability,
            weight=c.score.weight,
            explanation=c.score.explanation,
            fields=c.score.fields,
            details=details[c.item],
        )
        for adapter, c in found
        if c.item in details
    ]


def search_children(
    *,
    user: User,
    query: SearchQuery,
    actor: Actor | None = None,
    limit: int = DEFAULT_LIMIT,
    registers: Sequence[str] | None = None,
) -> list[MatchResult]:
    """Children who may be the one described, most likely first, from every register the
    user may search. Rows the user may not see are removed before scoring, so they never
    show in results, ranks or counts. Writes one audit row: who searched, which fields
    were used (not their values) and which records were shown."""
    actor = actor or Actor(user=user)
    adapters = [adapter_for(r) for r in registers] if registers else list(ADAPTERS)
    results: list[MatchResult] = []
    if not query.is_empty() and user.is_active and user.has_role(*SEARCH_ROLES):
        found = _search(query=query.as_record(), adapters=adapters, user=user, limit=limit)
        results = _results(found)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        object_type="matching.search",
        summary=f"Searched for a child ({len(results)} possible matches shown)",
        changes={
            "fields": query.fields_used(),
            "registers": [a.name for a in adapters],
            "shown": [f"{r.register}:{r.ref.pk}" for r in results],
        },
    )
    return results


#: The prior of the duplicate check is one in at least this many: a referral may be about
#: any child of the area, not only one of the few the authority already has a case for,
#: so an authority with 40 children on its books must not read "same name, different date
#: of birth" as a likely duplicate.
DUPLICATE_PRIOR_POPULATION = 10_000


@dataclass(frozen=True)
class ChildMatch:
    """A child with a case who may be the one described (for the duplicate warning)."""

    child: Child
    probability: float
    reasons: list[str] = field(default_factory=list)


def find_possible_duplicates(
    given_names: str,
    family_name: str,
    dob: dt.date | None,
    upn: str | None,
    postcode: str | None,
    *,
    middle_names: str = "",
    aliases: Sequence[str] = (),
    sex: str = "",
    parent_names: Sequence[str] = (),
    limit: int = DEFAULT_LIMIT,
    min_probability: float = 0.05,
) -> list[ChildMatch]:
    """Children with a case who may be the child a referral describes, most likely first.

    For triage by CME staff: not scoped by user and not audited here (the caller records
    the triage). Each reason is one field's explanation, e.g. "date of birth matches with
    day and month swapped"."""
    query = SearchQuery(
        given_names=given_names,
        middle_names=middle_names,
        family_name=family_name,
        aliases=tuple(aliases),
        dob=dob,
        sex=sex,
        postcode=postcode or "",
        parent_names=tuple(parent_names),
        upn=upn or "",
    )
    if query.is_empty():
        return []
    found = _search(
        query=query.as_record(),
        adapters=[adapter_for("children")],
        user=None,
        limit=limit,
        population=DUPLICATE_PRIOR_POPULATION,
        all_stages=True,
    )
    children = Child.objects.in_bulk([c.item.pk for _a, c in found])
    out = []
    for _adapter, c in found:
        child = children.get(c.item.pk)
        if child is None or c.probability < min_probability:
            continue
        reasons = list(c.score.notes) + [f.explanation for f in c.score.fields if f.explanation]
        out.append(ChildMatch(child=child, probability=c.probability, reasons=reasons))
    return out


@dataclass(frozen=True)
class RollMatch:
    """A roll entry that is probably the child (for detection's "found on a roll")."""

    entry: RollEntry
    probability: float
    explanation: str


def find_on_rolls(
    child: Child,
    *,
    since: dt.date | None = None,
    min_probability: float = 0.9,
    limit: int = 5,
) -> list[RollMatch]:
    """Entries of the latest roll of each school (taken after ``since``, when given) that
    are probably ``child``, most likely first: the engine's search with everything known
    about the child (aliases, former UPNs, parents, address), every stage run. For
    detection looking for a child with an open case on a later roll, where the UPN may
    have changed or a name been retyped. Not scoped or audited here: the caller is the
    system and records what it does with a finding."""
    record = ChildAdapter.record_of(child)
    found = _search(
        query=record, adapters=[adapter_for("roll")], user=None, limit=limit, all_stages=True
    )
    entries = RollEntry.objects.select_related("snapshot").in_bulk([c.item.pk for _a, c in found])
    out = []
    for _adapter, c in found:
        entry = entries.get(c.item.pk)
        if entry is None or c.probability < min_probability:
            continue
        if since is not None and entry.snapshot.taken_on <= since:
            continue
        out.append(RollMatch(entry, c.probability, c.score.explanation))
    return out


# --- training ---------------------------------------------------------------------------

#: Snapshots per school used for training: the same pupils on two dated rolls are the
#: matching pairs EM learns from.
TRAINING_SNAPSHOTS_PER_SCHOOL = 2


def _training_rows() -> list[tuple[str, Features]]:
    from cmetrack.registers.models import RollSnapshot

    from .adapters import ChildAdapter, RollAdapter

    kept: dict[int, list[int]] = {}
    for pk, school in RollSnapshot.objects.order_by("school_id", "-taken_on").values_list(
        "pk", "school_id"
    ):
        if len(kept.setdefault(school, [])) < TRAINING_SNAPSHOTS_PER_SCHOOL:
            kept[school].append(pk)
    snapshot_ids = [pk for pks in kept.values() for pk in pks]
    rows: list[tuple[str, Features]] = []
    for ref, record in RollAdapter().records(snapshot_ids=snapshot_ids):
        rows.append((f"roll:{ref.pk}", features_of(record)[0]))
    for ref, record in ChildAdapter().records():
        rows.append((f"children:{ref.pk}", features_of(record)[0]))
    return rows


def matcher_train(*, actor: Actor | None = None, seed: int = 1) -> tuple[MatchModel, Path]:
    """Train on the authority's registers, save the model as a new version and make it
    current. Raises ``ValueError`` (:class:`TrainingError`) when there is too little data."""
    from .model import default_model, save_model
    from .training import train

    actor = actor or Actor.system("train_matcher")
    rows = _training_rows()
    model = train(rows, fallback=default_model(), seed=seed, source="registers")
    path = save_model(model)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        object_type="matching.model",
        object_id=model.version,
        summary=f"Trained the matching model on {model.records} register records",
        changes={"version": model.version, "training_data_hash": model.training_data_hash},
    )
    return model, path


def matcher_train_synthetic(size: int, *, seed: int = 1) -> MatchModel:
    """A model trained by Splink on a synthetic population and a later snapshot of it
    with errors (how ``data/default_model.json`` is made: ``cmetrack train_matcher
    --synthetic 30000 --out cmetrack/matching/data/default_model.json``)."""
    from . import synthetic
    from .training import train

    first = synthetic.population(size, seed=seed)
    second = synthetic.next_snapshot(first, seed=seed + 1, upn_rate=0.5)
    rows = [(p.id, features_of(synthetic.as_record(p))[0]) for p in first + second]
    return train(rows, fallback=None, seed=seed, source=f"synthetic population of {size}")
