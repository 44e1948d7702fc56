"""Finding a child: one search over every register, scoped to the user and audited.

:func:`search_children` is what the find-a-child page and the API call;
:func:`find_possible_duplicates` is what referral triage calls (through
``cmetrack.referrals.duplicates``). Each register has a :class:`CandidateIndex` that the
worker builds and saves (:mod:`cmetrack.matching.jobs`, :mod:`cmetrack.matching.store`)
and every web process memory-maps; a search never builds one. Until a register's first
index is saved a search raises :class:`SearchNotReady` (the page says search is being
prepared) and asks the worker for it. A saved index that is behind its register is used
as it is while the worker refreshes it, and the rows added since it was saved (a child
recorded a minute ago) are searched from a small index of their own. The model is the
authority's trained one or the shipped default.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.jobs.services import enqueue
from cmetrack.kit.words import plural
from cmetrack.people.models import Child

from . import synthetic
from .adapters import (
    ADAPTERS,
    ChildAdapter,
    RegisterAdapter,
    RegisterRef,
    ResultDetails,
    adapter_for,
    appendable,
)
from .features import Features, PersonRecord, features_of, parse_aliases
from .index import Candidate, CandidateIndex
from .jobs import refresh_register
from .model import Calibration, MatchModel, current_model, default_model, save_model
from .probability import (
    BAND_LABELS,
    EQUALLY_WELL,
    FLOOR,
    NEGLIGIBLE,
    band,
    equally_good,
    exclusive,
    weight_for,
)
from .scorer import FieldResult
from .store import Manifest, Store, _memory, current_store
from .store import index_dir as index_dir  # where saved indexes live (re-exported)
from .training import train

log = logging.getLogger(__name__)

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
    #: Another record matches as well as this one (twins, or one child recorded twice).
    equally_good: bool = False

    @property
    def band(self) -> str:
        """ "strong", "possible" (check) or "unlikely" (probability.band)."""
        return band(self.probability)

    @property
    def band_label(self) -> str:
        return BAND_LABELS[self.band]

    @property
    def warning(self) -> str:
        return EQUALLY_WELL if self.equally_good else ""

    @property
    def percent(self) -> str:
        value = self.probability * 100
        if value >= 99.5:
            return "over 99%" if self.probability < 1 else "100%"
        if value < 1:
            return "under 1%"
        return f"{value:.0f}%"


class SearchNotReady(Exception):
    """A register has no search index yet (a new installation, or a new index format):
    the worker is building it. Nothing is searched, so "no match" is never said."""

    message = "Search is being prepared. Try again in a few minutes."

    def __init__(self, registers: Sequence[str]) -> None:
        self.registers = list(registers)
        super().__init__(f"{self.message} (no index yet: {', '.join(self.registers)})")


#: A web process indexes at most this many rows added since a register's saved index (a
#: child recorded a minute ago is found at once); more than that (a large import) waits
#: for the worker, which a search asks for.
DELTA_LIMIT = 2000
#: A process asks the worker for a refresh at most this often.
REFRESH_REQUEST_INTERVAL = 60.0


@dataclass
class _Delta:
    key: tuple[str, int]  # (generation, the register's largest primary key)
    index: CandidateIndex[RegisterRef] | None
    lagging: bool = False  # more rows added than DELTA_LIMIT: not searched until refreshed


@dataclass
class _Loaded:
    store: str
    version: object
    model_version: str
    manifest: Manifest
    index: CandidateIndex[RegisterRef]
    delta: _Delta | None = None
    loaded_seconds: float = 0.0


_loaded: dict[str, _Loaded] = {}
_lock = threading.Lock()
_last_request = 0.0


def build_in_request() -> bool:
    """Whether a search may build a missing or stale index itself (test settings only:
    ``CMETRACK_SEARCH_INDEX_BUILD_IN_REQUEST``). Off everywhere else: the worker builds."""
    from django.conf import settings

    return bool(getattr(settings, "CMETRACK_SEARCH_INDEX_BUILD_IN_REQUEST", False))


def request_refresh(store: Store | None = None) -> bool:
    """Ask the worker to refresh the indexes, unless this process asked in the last
    minute or a refresh is already asked for and not yet done. Returns whether a task
    was queued. Never builds."""
    global _last_request
    now = time.monotonic()
    if _last_request and now - _last_request < REFRESH_REQUEST_INTERVAL:
        return False
    _last_request = now
    store = store or current_store()
    if not store.request_refresh():
        return False
    try:
        enqueue(REFRESH_TASK, task_name="matching-index-refresh")
    except Exception:  # the queue is unreachable: the schedule refreshes it
        log.exception("matching: could not queue an index refresh")
        store.refresh_done()
        return False
    return True


#: What the worker runs to refresh every register's index.
REFRESH_TASK = "cmetrack.matching.jobs.refresh_indexes"


def _store_key(store: Store) -> str:
    return str(getattr(store, "root", "memory"))


def _current(adapter: RegisterAdapter, model: MatchModel, *, build: bool) -> _Loaded:
    """The register's saved index, loaded (memory-mapped) once per process and generation;
    raises :class:`SearchNotReady` when there is none (unless ``build``)."""

    store = current_store()
    if build:
        refresh_register(adapter, store=store, model=model)
    key = _store_key(store)
    version = store.version(adapter.name)
    with _lock:
        cached = _loaded.get(adapter.name)
        if (
            cached is not None
            and cached.store == key
            and cached.version == version
            and cached.model_version == model.version
        ):
            return cached
        manifest = store.manifest(adapter.name)
        index = None
        started = time.perf_counter()
        if manifest is not None and manifest.usable():
            try:
                index = store.load(manifest, model)
            except (OSError, ValueError, KeyError):
                log.warning("matching: the saved %s index cannot be read", adapter.name)
                index = None
        if index is None or manifest is None:
            request_refresh(store)
            if cached is not None and cached.store == key and not build:
                return cached  # the index this process already maps is better than none
            raise SearchNotReady([adapter.name])
        loaded = _Loaded(
            key, version, model.version, manifest, index, None, time.perf_counter() - started
        )
        _loaded[adapter.name] = loaded
        return loaded


def _delta(adapter: RegisterAdapter, loaded: _Loaded, model: MatchModel) -> _Delta | None:
    """Rows added since the saved index was built (primary key above its largest), as a
    small index of their own scored with the register's name frequencies; None when
    there are none. One read of the largest primary key per search."""
    source = appendable(adapter)
    since = loaded.manifest.max_pk
    if source is None or since is None:
        return None
    top = source.top_pk()
    if top is None or top <= since:
        return None
    key = (loaded.manifest.generation, top)
    delta = loaded.delta
    if delta is not None and delta.key == key:
        return delta
    request_refresh()
    records = list(itertools.islice(source.records_between(since, top), DELTA_LIMIT + 1))
    if len(records) > DELTA_LIMIT:
        log.info("matching: %s has over %d rows not yet indexed", adapter.name, DELTA_LIMIT)
        delta = _Delta(key, None, lagging=True)
    elif not records:
        delta = _Delta(key, None)
    else:
        index = CandidateIndex(records, model)
        tf = loaded.index.term_frequencies
        index.use_term_frequencies(
            {
                name: dict(Counter(tf[name]) + Counter(index.term_frequencies[name]))
                for name in ("given", "family")
            }
        )
        delta = _Delta(key, index)
    loaded.delta = delta
    return delta


def register_index(
    adapter: RegisterAdapter, model: MatchModel, *, build: bool | None = None
) -> CandidateIndex[RegisterRef]:
    """The register's saved index (memory-mapped; web processes share its pages). Never
    built here unless ``build`` (a command or job that may take the time) or the test
    setting says so: raises :class:`SearchNotReady` when the worker has not built it yet.
    The rows added since it was saved are not in it (:func:`_search` adds them)."""
    return _current(adapter, model, build=build_in_request() if build is None else build).index


def refresh_index(register: str) -> None:
    """Bring one register's saved index up to date now, building it if there is none. For
    jobs and commands only (at county scale a full build takes a minute or more): a
    detection run calls it for the rolls before it looks children up on them."""

    refresh_register(adapter_for(register))


def clear_indexes() -> None:
    """Forget every index held in this process (tests; saved files stay)."""
    with _lock:
        _loaded.clear()
        _memory_store().clear()


def _memory_store() -> Store:

    return _memory


def index_status() -> dict[str, dict[str, object]]:
    """Each register's saved index, for /health/ and the metrics: ``exists`` (one of
    this code's format is saved), ``built_at`` (aware datetime, or None), ``rows`` (its
    records), ``behind`` (the register or the model has changed since: the worker will
    refresh it), ``model_version``, ``build`` ("full" or "append"), ``seconds`` (how long
    the build took)."""
    from django.utils import timezone

    store = current_store()
    model = current_model()
    out: dict[str, dict[str, object]] = {}
    for adapter in ADAPTERS:
        manifest = store.manifest(adapter.name)
        if manifest is None or not manifest.usable():
            out[adapter.name] = {
                "exists": False,
                "built_at": None,
                "rows": 0,
                "behind": True,
                "model_version": None,
                "build": None,
                "seconds": None,
            }
            continue
        behind = (
            manifest.signature != repr(adapter.signature())
            or manifest.model_version != model.version
        )
        built_at = manifest.built_at_datetime
        out[adapter.name] = {
            "exists": True,
            "built_at": built_at,
            "age_seconds": (timezone.now() - built_at).total_seconds(),
            "rows": manifest.records,
            "behind": behind,
            "model_version": manifest.model_version,
            "build": manifest.build,
            "seconds": manifest.seconds,
        }
    return out


def _search(
    *,
    query: PersonRecord,
    adapters: Sequence[RegisterAdapter],
    user: User | None,
    limit: int,
    population: int = 1,
    all_stages: bool = False,
    build: bool | None = None,
    exclusive_per_register: bool = True,
    floor: float | None = None,
) -> list[tuple[RegisterAdapter, Candidate[RegisterRef]]]:
    """The best ``limit`` candidates over ``adapters``; the prior is one in the number of
    records searched, or in ``population`` when that is larger. With
    ``exclusive_per_register`` (what an officer is shown) the probabilities of one
    register's candidates and "none of these" add up to one (:func:`_make_exclusive`);
    without, each is the candidate's own probability against a random record. Raises
    :class:`SearchNotReady` when a register has no saved index (``build``: a job or
    command builds it instead). ``floor``: the caller keeps nothing less probable, so
    records that could not reach a hundredth of it (probability.NEGLIGIBLE) are not
    scored in full."""
    model = current_model()
    build = build_in_request() if build is None else build
    indexes: list[tuple[RegisterAdapter, CandidateIndex[RegisterRef]]] = []
    not_ready = []
    for adapter in adapters:
        try:
            loaded = _current(adapter, model, build=build)
        except SearchNotReady:
            not_ready.append(adapter.name)
            continue
        indexes.append((adapter, loaded.index))
        delta = _delta(adapter, loaded, model)
        if delta is not None and delta.index is not None:
            indexes.append((adapter, delta.index))
    if not_ready:
        raise SearchNotReady(not_ready)
    total = sum(len(i) for _a, i in indexes)
    prior = 1.0 / max(total, population, 1)
    min_weight = None
    if floor is not None:
        calibration = model.calibration if exclusive_per_register else None
        min_weight = weight_for(floor / NEGLIGIBLE, prior, calibration)
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
                query,
                limit=limit,
                permit=permit,
                prior=prior,
                all_stages=all_stages,
                min_weight=min_weight,
            )
        ]
    found.sort(key=lambda ac: -ac[1].weight)
    if exclusive_per_register:
        _make_exclusive(found, prior, model.calibration)
    return found[:limit]


def _make_exclusive(
    found: list[tuple[RegisterAdapter, Candidate[RegisterRef]]],
    prior: float,
    calibration: Calibration | None = None,
) -> None:
    """Each candidate's probability becomes the probability that it is the child among
    its register's candidates and "none of these" (probability.exclusive), recalibrated
    by the model's calibration; candidates that match as well as the best of their
    register are marked."""
    by_register: dict[str, list[Candidate[RegisterRef]]] = {}
    for adapter, c in found:
        by_register.setdefault(adapter.name, []).append(c)
    for candidates in by_register.values():
        weights = [c.weight for c in candidates]
        probabilities = exclusive(weights, prior, calibration)
        tied = equally_good(weights, probabilities)
        for i, (c, p) in enumerate(zip(candidates, probabilities, strict=True)):
            c.probability = p
            c.equally_good = i in tied


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
            weight=c.weight,
            explanation=c.score.explanation,
            fields=c.score.fields,
            details=details[c.item],
            equally_good=c.equally_good,
        )
        for adapter, c in found
        if c.item in details and c.probability >= FLOOR
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
        found = _search(
            query=query.as_record(), adapters=adapters, user=user, limit=limit, floor=FLOOR
        )
        results = _results(found)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        object_type="matching.search",
        summary=(
            f"Searched for a child "
            f"({plural(len(results), 'possible match', 'possible matches')} shown)"
        ),
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
    #: Another child matches as well (twins, or one child recorded twice).
    equally_good: bool = False

    @property
    def band(self) -> str:
        return band(self.probability)

    @property
    def band_label(self) -> str:
        return BAND_LABELS[self.band]


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
        floor=min_probability,
    )
    children = Child.objects.in_bulk([c.item.pk for _a, c in found])
    out = []
    for _adapter, c in found:
        child = children.get(c.item.pk)
        if child is None or c.probability < min_probability:
            continue
        reasons = list(c.score.notes) + [f.explanation for f in c.score.fields if f.explanation]
        if c.equally_good:
            reasons.insert(0, EQUALLY_WELL)
        out.append(
            ChildMatch(
                child=child,
                probability=c.probability,
                reasons=reasons,
                equally_good=c.equally_good,
            )
        )
    return out


@dataclass(frozen=True)
class RegisterMatch:
    """A row of a register that is probably the child."""

    pk: int
    probability: float
    explanation: str


def find_in_register(
    child: Child, register: str, *, min_probability: float = 0.9, limit: int = 5
) -> list[RegisterMatch]:
    """Rows of ``register`` that are probably ``child``, most likely first: the engine's
    search with everything known about the child (aliases, former UPNs, parents, address),
    every stage run. Not scoped or audited here: the caller is the system (for example
    ``registers.adapters.find_on_rolls``). Raises :class:`SearchNotReady` when there is no
    index of the register (a job calls :func:`refresh_index` first)."""
    record = ChildAdapter.record_of(child)
    # Not exclusive: one child may be on the latest rolls of two schools (dual
    # registration, or a move the old school has not yet recorded).
    found = _search(
        query=record,
        adapters=[adapter_for(register)],
        user=None,
        limit=limit,
        all_stages=True,
        exclusive_per_register=False,
        floor=min_probability,
    )
    return [
        RegisterMatch(c.item.pk, c.probability, c.score.explanation)
        for _adapter, c in found
        if c.probability >= min_probability
    ]


# --- training ---------------------------------------------------------------------------


def _training_rows() -> list[tuple[str, Features]]:
    """The rows the model learns from: those of every register that offers training
    records (the newest rolls of each school, the children with a case), in order."""
    rows: list[tuple[str, Features]] = []
    for adapter in ADAPTERS:
        training = getattr(adapter, "training_records", None)
        if training is None:
            continue
        for ref, record in training():
            rows.append((f"{adapter.name}:{ref.pk}", features_of(record)[0]))
    return rows


def matcher_train(*, actor: Actor | None = None, seed: int = 1) -> tuple[MatchModel, Path]:
    """Train on the authority's registers, save the model as a new version and make it
    current. Raises ``ValueError`` (:class:`TrainingError`) when there is too little data."""

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

    first = synthetic.population(size, seed=seed)
    second = synthetic.next_snapshot(first, seed=seed + 1, upn_rate=0.5)
    rows = [(p.id, features_of(synthetic.as_record(p))[0]) for p in first + second]
    return train(rows, fallback=None, seed=seed, source=f"synthetic population of {size}")
