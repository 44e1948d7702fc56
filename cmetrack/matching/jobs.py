"""The worker's side of the search: building and refreshing each register's index.

:func:`refresh_indexes` runs every ten minutes (registered in ``MatchingConfig.ready``)
and whenever a search finds an index missing or behind (``services.request_refresh``).
For each register it does the least that makes the saved index current:

- nothing, when the register's signature and the model are as they were;
- **append**, when the register can say which rows are new (an
  :class:`~cmetrack.matching.adapters.AppendableAdapter`: children, school rolls) and the
  rows already indexed are unchanged: only the rows above the index's largest primary
  key are read and indexed, and merged into a copy of the saved index;
- **full**, otherwise: no index yet, another index format or model version, rows
  deleted or changed, a school's roll replaced by a newer one, or a register that
  cannot append.

Builds are serialised by a lock beside the saved indexes (two workers never build the
same register at once) and saved atomically (:class:`~cmetrack.matching.store.Store`).
"""

from __future__ import annotations

import datetime as dt
import logging
import resource
import time
from dataclasses import dataclass, replace

from cmetrack.jobs.registry import register_schedule

from .adapters import ADAPTERS, RegisterAdapter, RegisterRef, appendable
from .index import FORMAT_VERSION, CandidateIndex
from .model import MatchModel, current_model
from .store import Manifest, Store, concat_refs, current_store, new_generation

log = logging.getLogger(__name__)

#: After this many appends in a row the next refresh rebuilds in full (a fresh build
#: deduplicates the hashed vocabularies that appending only extends).
APPENDS_BEFORE_REBUILD = 50


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did to one register."""

    register: str
    action: str  # "fresh" (nothing to do), "append", "full" or "busy" (another build ran)
    records: int  # in the index now
    added: int  # rows read and indexed by this refresh
    seconds: float
    cpu_seconds: float

    def line(self) -> str:
        if self.action == "fresh":
            return f"{self.register}: up to date ({self.records:,} records)"
        if self.action == "busy":
            return f"{self.register}: another build is running; left to it"
        how = "appended" if self.action == "append" else "built in full"
        return (
            f"{self.register}: {how}, {self.added:,} rows read, {self.records:,} records, "
            f"{self.seconds:.1f} s ({self.cpu_seconds:.1f} s CPU)"
        )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _manifest(
    adapter: RegisterAdapter,
    model: MatchModel,
    *,
    signature: str,
    watermark: dict[str, object],
    records: int,
    build: str,
    appended_since_full: int,
    seconds: float,
) -> Manifest:
    return Manifest(
        register=adapter.name,
        generation=new_generation(),
        format=FORMAT_VERSION,
        model_version=model.version,
        built_at=dt.datetime.now(dt.UTC).isoformat(),
        records=records,
        signature=signature,
        watermark=watermark,
        build=build,
        appended_since_full=appended_since_full,
        seconds=round(seconds, 3),
    )


def plan(
    adapter: RegisterAdapter,
    saved: Manifest | None,
    model: MatchModel,
    signature: str,
    store: Store | None = None,
) -> str:
    """ "fresh", "append" or "full" for ``adapter`` given its saved index (without reading
    the register beyond :meth:`unchanged`'s aggregates)."""
    if saved is None or not saved.usable() or saved.model_version != model.version:
        return "full"
    if store is not None and not store.complete(saved):
        return "full"  # its files were removed: build it again
    if saved.signature == signature:
        return "fresh"
    source = appendable(adapter)
    if (
        source is None
        or saved.max_pk is None
        or saved.appended_since_full >= APPENDS_BEFORE_REBUILD
        or not source.unchanged(saved.watermark)
    ):
        return "full"
    return "append"


def refresh_register(
    adapter: RegisterAdapter,
    *,
    store: Store | None = None,
    model: MatchModel | None = None,
    full: bool = False,
    wait: bool = True,
) -> Refreshed:
    """Make ``adapter``'s saved index current (see the module's docstring)."""
    store = store or current_store()
    model = model or current_model()
    started, cpu = time.perf_counter(), _cpu()
    with store.build_lock(wait=wait) as got:
        if not got:
            return Refreshed(adapter.name, "busy", 0, 0, 0.0, 0.0)
        saved = store.manifest(adapter.name)
        # The signature before the watermark before the rows: whatever changes while the
        # rows are read shows as a changed signature at the next refresh.
        signature = repr(adapter.signature())
        action = "full" if full else plan(adapter, saved, model, signature, store)
        if action == "fresh":
            assert saved is not None
            return Refreshed(adapter.name, "fresh", saved.records, 0, 0.0, 0.0)
        source = appendable(adapter)
        watermark: dict[str, object] = source.watermark() if source is not None else {}
        top = watermark.get("max_pk")
        upto = int(top) if isinstance(top, int) else None
        index: CandidateIndex[RegisterRef]
        old: CandidateIndex[RegisterRef] | None = None
        if action == "append":
            assert saved is not None
            try:
                old = store.load(saved, model)
            except (OSError, ValueError, KeyError):
                log.warning("matching: the saved %s index cannot be read", adapter.name)
                action = "full"
        if action == "append":
            assert saved is not None
            assert source is not None
            assert old is not None
            since = saved.max_pk
            rows = list(source.records_between(since, upto)) if upto is not None else []
            if rows:
                added_index: CandidateIndex[RegisterRef] = CandidateIndex(rows, model)
                index = old.appended(added_index)
                index.items = concat_refs(adapter.name, old.items, added_index.items)
            else:
                index = old
            added, appended = len(rows), saved.appended_since_full + 1
        else:
            if source is not None:
                records = source.records_between(None, upto) if upto is not None else iter(())
            else:
                records = adapter.records()
            index = CandidateIndex(records, model)
            added, appended = len(index), 0
        seconds = time.perf_counter() - started
        manifest = _manifest(
            adapter,
            model,
            signature=signature,
            watermark=watermark,
            records=len(index),
            build=action,
            appended_since_full=appended,
            seconds=seconds,
        )
        store.save(manifest, index)
    result = Refreshed(adapter.name, action, len(index), added, seconds, _cpu() - cpu)
    log.info("matching index refresh: %s", result.line())
    return result


def refresh_indexes(*, full: bool = False) -> list[dict[str, object]]:
    """Build or update every register's saved index (the scheduled job). Returns what
    was done to each, as plain values (django-q keeps a task's result)."""
    store = current_store()
    model = current_model()
    store.remove_legacy()
    done = []
    try:
        for adapter in ADAPTERS:
            result = refresh_register(adapter, store=store, model=model, full=full)
            done.append(replace(result, seconds=round(result.seconds, 3)).__dict__)
    finally:
        store.refresh_done()
    return done


__all__ = ["Refreshed", "plan", "refresh_indexes", "refresh_register"]


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule("matching-index-refresh", "cmetrack.matching.jobs.refresh_indexes", minutes=10)
