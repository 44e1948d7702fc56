"""CSV imports of places, provider profiles and postcode centroids.

The same contract as the detection imports (:mod:`cmetrack.detection.imports`): the whole
file is validated first and every problem is reported by line and column in plain
English; only a file without errors is written, in one transaction; a failed attempt is
logged (with its errors) and writes nothing else; importing the same file again changes
nothing and is logged "unchanged". It has its own log (:class:`ProvisionImport`) because
admissions officers, who keep the places figures, import no other data.

Formats (header row required; column names in any case and order; extra columns ignored):

- places: ``laestab`` or ``urn``, ``year_group`` (R, Reception, 0-13, Y7, Year 7),
  ``places``, ``as_of`` (2026-11-02 or 02/11/2026);
- providers: ``laestab`` or ``urn``, ``form`` (mainstream, alternative, special),
  ``youngest_year``, ``oldest_year``, and optionally ``sen_suitability`` (mainstream,
  resourced, specialist), ``sen_notes``, ``lat``, ``long``;
- postcodes (ONS NSPL-like): ``postcode`` (or ``pcds``), ``lat``, ``long``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.models import FormOfProvision
from cmetrack.detection.imports import MAX_REPORTED_PROBLEMS, RowProblem, decode, file_hash
from cmetrack.kit.words import plural
from cmetrack.organisations.models import Organisation

from .models import (
    FigureSource,
    PlaceFigure,
    PostcodeCentroid,
    ProviderProfile,
    ProvisionImport,
    ProvisionImportKind,
    ProvisionImportStatus,
    SenSuitability,
)
from .rules import normalise_postcode
from .selectors import current_figures, may_update_places, providers


class ImportRejected(Exception):
    """Raised to roll an import back because the file has errors."""


@dataclass
class Context:
    actor: Actor
    file_name: str
    rows: int = 0
    changes: int = 0
    error_count: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    _providers: dict[str, Organisation] | None = None

    def error(self, line: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_PROBLEMS:
            self.errors.append(RowProblem(line, column, message))

    def warning(self, line: int, column: str, message: str) -> None:
        if len(self.warnings) < MAX_REPORTED_PROBLEMS:
            self.warnings.append(RowProblem(line, column, message))

    def changed(self, count: int = 1) -> None:
        self.changes += count

    def check(self) -> None:
        if self.error_count:
            raise ImportRejected

    # Rows ---------------------------------------------------------------------------------

    def rows_of(
        self,
        path: Path,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        aliases: dict[str, str] | None = None,
        one_of: tuple[str, ...] = (),
    ) -> Iterator[tuple[int, dict[str, str]]]:
        """``(line, row)`` per data row with lower-case column names (``aliases`` renamed)."""
        reader = csv.reader(io.StringIO(decode(path.read_bytes()), newline=""))
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            self.error(1, "", "the file is empty: it needs a header row")
            return
        header = [(aliases or {}).get(h, h) for h in header]
        expected = ", ".join([*((" or ".join(one_of),) if one_of else ()), *required, *optional])
        missing = [c for c in required if c not in header]
        if one_of and not any(c in header for c in one_of):
            missing.insert(0, " or ".join(one_of))
        if missing:
            self.error(
                1,
                ", ".join(missing),
                f"the header row is missing {', '.join(missing)} (expected: {expected})",
            )
            return
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            self.rows += 1
            line = reader.line_num
            if len(values) != len(header):
                self.error(
                    line, "", f"this row has {len(values)} values but the header has {len(header)}"
                )
                continue
            yield line, {h: v.strip() for h, v in zip(header, values, strict=True)}

    # Values ---------------------------------------------------------------------------------

    @property
    def providers(self) -> dict[str, Organisation]:
        """Schools and alternative providers by LAESTAB and by URN."""
        if self._providers is None:
            self._providers = {}

            for org in providers(active_only=False):
                if org.laestab:
                    self._providers[f"laestab:{org.laestab}"] = org
                if org.urn:
                    self._providers[f"urn:{org.urn}"] = org
        return self._providers

    def provider(self, line: int, row: dict[str, str]) -> Organisation | None:
        laestab, urn = row.get("laestab", ""), row.get("urn", "")
        if laestab:
            found = self.providers.get(f"laestab:{laestab}")
            if found is None:
                self.error(
                    line,
                    "laestab",
                    f"{laestab} is not the LAESTAB of a school or provider in the area",
                )
            return found
        if urn:
            found = self.providers.get(f"urn:{urn}")
            if found is None:
                self.error(line, "urn", f"{urn} is not the URN of a school or provider in the area")
            return found
        self.error(line, "laestab", "enter the provider's LAESTAB (or its URN)")
        return None


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def parse_date(ctx: Context, line: int, column: str, value: str) -> date | None:
    if not value:
        ctx.error(line, column, "enter a date, for example 2026-11-02")
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    ctx.error(line, column, f"{value!r} is not a real date: use 2026-11-02 or 02/11/2026")
    return None


_YEAR = re.compile(r"^(?:y|year)?\s*(\d{1,2})$")


def parse_year_group(ctx: Context, line: int, column: str, value: str) -> int | None:
    """R, Reception, 0..13, Y7, Year 7."""
    text = value.strip().lower()
    if text in {"r", "reception", "rec"}:
        return 0
    match = _YEAR.match(text)
    if match and 0 <= int(match.group(1)) <= 13:
        return int(match.group(1))
    ctx.error(
        line,
        column,
        f"{value!r} is not a year group: use R (Reception), 1 to 13, or Year 7"
        if value
        else "enter the year group, for example R or 7",
    )
    return None


def parse_count(ctx: Context, line: int, column: str, value: str) -> int | None:
    if not re.fullmatch(r"\d{1,5}", value):
        ctx.error(
            line,
            column,
            f"{value!r} is not a number of places: use a whole number, 0 or more"
            if value
            else "enter the number of places (0 if none)",
        )
        return None
    return int(value)


def parse_coordinate(
    ctx: Context, line: int, column: str, value: str, limit: int, *, required: bool
) -> Decimal | None:
    if not value:
        if required:
            ctx.error(line, column, f"enter the {'latitude' if limit == 90 else 'longitude'}")
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        ctx.error(line, column, f"{value!r} is not a number")
        return None
    if not number.is_finite() or not -limit <= number <= limit:
        ctx.error(line, column, f"{value} is out of range (-{limit} to {limit})")
        return None
    return number.quantize(Decimal("0.00001"))


# --- The runner -----------------------------------------------------------------------------

Handler = Callable[[Path, Context], None]


def run_import(
    *, actor: Actor, kind: ProvisionImportKind, path: Path, file_name: str, handler: Handler
) -> ProvisionImport:
    """Run ``handler`` on the file as one all-or-nothing, logged import."""
    base: dict[str, Any] = {
        "kind": kind,
        "file_name": file_name[:255],
        "content_hash": file_hash(path),
        "started_at": timezone.now(),
        "by": actor.user,
        "by_label": actor.display[:254],
    }
    ctx = Context(actor=actor, file_name=file_name[:255])
    try:
        with transaction.atomic():
            if not may_update_places(actor.user):
                ctx.error(0, "", "you do not have permission to import places or providers")
            else:
                handler(path, ctx)
            ctx.check()
            run = ProvisionImport.objects.create(
                status=(
                    ProvisionImportStatus.SUCCEEDED
                    if ctx.changes
                    else ProvisionImportStatus.UNCHANGED
                ),
                rows=ctx.rows,
                changed=ctx.changes,
                warnings=[w.as_dict() for w in ctx.warnings],
                **base,
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=run,
                summary=f"Imported {run.get_kind_display().lower()} from {run.file_name}: "
                f"{plural(run.rows, 'row')}, {run.changed:,} changed",
            )
            return run
    except ImportRejected:
        with transaction.atomic():
            run = ProvisionImport.objects.create(
                status=ProvisionImportStatus.FAILED,
                rows=ctx.rows,
                errors=[e.as_dict() for e in ctx.errors],
                warnings=[w.as_dict() for w in ctx.warnings],
                **base,
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=run,
                summary=f"Refused {run.get_kind_display().lower()} from {run.file_name}: "
                f"{ctx.error_count} errors, nothing imported",
            )
        return run


# --- Places ---------------------------------------------------------------------------------


def _places(path: Path, ctx: Context) -> None:
    today = timezone.localdate()
    parsed: dict[tuple[int, int], tuple[int, Organisation, int, date]] = {}
    for line, row in ctx.rows_of(
        path, ("year_group", "places", "as_of"), one_of=("laestab", "urn")
    ):
        provider = ctx.provider(line, row)
        year = parse_year_group(ctx, line, "year_group", row["year_group"])
        places = parse_count(ctx, line, "places", row["places"])
        as_of = parse_date(ctx, line, "as_of", row["as_of"])
        if as_of is not None and as_of > today:
            ctx.error(line, "as_of", "the date of the figure cannot be in the future")
            continue
        if provider is None or year is None or places is None or as_of is None:
            continue
        key = (provider.pk, year)
        if key in parsed:
            first = parsed[key][0]
            ctx.error(
                line,
                "year_group",
                f"{provider.name} has a figure for this year group on line {first} already",
            )
            continue
        parsed[key] = (line, provider, places, as_of)
    ctx.check()
    current = {
        (f.provider_id, f.year_group): f for f in _current_for([p[1].pk for p in parsed.values()])
    }
    for (provider_id, year), (line, provider, places, as_of) in parsed.items():
        now = current.get((provider_id, year))
        if now is not None and now.as_of > as_of:
            ctx.warning(
                line,
                "as_of",
                f"{provider.name} already has a newer figure (dated {now.as_of:%d/%m/%Y}): "
                "this one is kept as history",
            )
        if now is not None and (now.as_of, now.places) == (as_of, places):
            continue
        if PlaceFigure.objects.filter(
            provider_id=provider_id, year_group=year, as_of=as_of, places=places
        ).exists():
            continue
        PlaceFigure.objects.create(
            provider=provider,
            year_group=year,
            places=places,
            as_of=as_of,
            source=FigureSource.IMPORT,
            source_file=ctx.file_name,
            recorded_by=ctx.actor.user,
        )
        ctx.changed()


def _current_for(provider_ids: list[int]) -> list[PlaceFigure]:

    return list(current_figures(provider_ids))


def places_import(*, actor: Actor, path: Path, file_name: str) -> ProvisionImport:
    """Places available by provider and year group, each figure dated."""
    return run_import(
        actor=actor,
        kind=ProvisionImportKind.PLACES,
        path=path,
        file_name=file_name,
        handler=_places,
    )


# --- Provider profiles ----------------------------------------------------------------------

_FORMS = {f.value: f for f in FormOfProvision if f != FormOfProvision.EOTAS}
_SEN = {s.value: s for s in SenSuitability if s.value}


def _providers(path: Path, ctx: Context) -> None:
    parsed: dict[int, tuple[Organisation, dict[str, Any]]] = {}
    for line, row in ctx.rows_of(
        path,
        ("form", "youngest_year", "oldest_year"),
        ("sen_suitability", "sen_notes", "lat", "long"),
        aliases={"latitude": "lat", "longitude": "long"},
        one_of=("laestab", "urn"),
    ):
        provider = ctx.provider(line, row)
        form = _FORMS.get(row["form"].lower())
        if form is None:
            ctx.error(line, "form", f"{row['form']!r} is not one of: {', '.join(_FORMS)}")
        youngest = parse_year_group(ctx, line, "youngest_year", row["youngest_year"])
        oldest = parse_year_group(ctx, line, "oldest_year", row["oldest_year"])
        if youngest is not None and oldest is not None and oldest < youngest:
            ctx.error(line, "oldest_year", "the oldest year group is below the youngest")
        sen = row.get("sen_suitability", "").lower()
        if sen and sen not in _SEN:
            ctx.error(line, "sen_suitability", f"{sen!r} is not one of: {', '.join(_SEN)}")
        lat = parse_coordinate(ctx, line, "lat", row.get("lat", ""), 90, required=False)
        lon = parse_coordinate(ctx, line, "long", row.get("long", ""), 180, required=False)
        if bool(row.get("lat")) != bool(row.get("long")):
            ctx.error(
                line, "lat" if not row.get("lat") else "long", "give both lat and long, or neither"
            )
        if provider is None or form is None or youngest is None or oldest is None:
            continue
        if provider.pk in parsed:
            ctx.error(line, "laestab", f"{provider.name} appears twice in the file")
            continue
        parsed[provider.pk] = (
            provider,
            {
                "provision_form": form,
                "youngest_year": youngest,
                "oldest_year": oldest,
                "sen_suitability": sen,
                "sen_notes": row.get("sen_notes", "")[:200],
                "latitude": lat,
                "longitude": lon,
            },
        )
    ctx.check()
    for provider, values in parsed.values():
        profile = ProviderProfile.objects.filter(organisation=provider).first()
        if profile is None:
            profile = ProviderProfile(organisation=provider, **values)
            profile.full_clean()
            profile.save()
            ctx.changed()
            continue
        if any(getattr(profile, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(profile, k, v)
            profile.full_clean()
            profile.save()
            ctx.changed()


def providers_import(*, actor: Actor, path: Path, file_name: str) -> ProvisionImport:
    """Provider profiles: form of provision, year groups, SEN suitability, location."""
    return run_import(
        actor=actor,
        kind=ProvisionImportKind.PROVIDERS,
        path=path,
        file_name=file_name,
        handler=_providers,
    )


# --- Postcode centroids ---------------------------------------------------------------------


def _postcodes(path: Path, ctx: Context) -> None:
    parsed: dict[str, tuple[int, Decimal, Decimal]] = {}
    for line, row in ctx.rows_of(
        path,
        ("postcode", "lat", "long"),
        aliases={"pcds": "postcode", "pcd": "postcode", "latitude": "lat", "longitude": "long"},
    ):
        postcode = normalise_postcode(row["postcode"])
        if not postcode:
            ctx.error(line, "postcode", f"{row['postcode']!r} is not a UK postcode")
        lat = parse_coordinate(ctx, line, "lat", row["lat"], 90, required=True)
        lon = parse_coordinate(ctx, line, "long", row["long"], 180, required=True)
        if not postcode or lat is None or lon is None:
            continue
        if postcode in parsed and parsed[postcode][1:] != (lat, lon):
            ctx.error(
                line,
                "postcode",
                f"{postcode} is on line {parsed[postcode][0]} already, at another place",
            )
            continue
        parsed[postcode] = (line, lat, lon)
    ctx.check()
    existing = {c.postcode: c for c in PostcodeCentroid.objects.filter(postcode__in=list(parsed))}
    new = []
    for postcode, (_, lat, lon) in parsed.items():
        stored = existing.get(postcode)
        if stored is None:
            new.append(PostcodeCentroid(postcode=postcode, latitude=lat, longitude=lon))
        elif (stored.latitude, stored.longitude) != (lat, lon):
            stored.latitude, stored.longitude = lat, lon
            stored.save(update_fields=["latitude", "longitude"])
            ctx.changed()
    PostcodeCentroid.objects.bulk_create(new, batch_size=2000)
    ctx.changed(len(new))


def postcodes_import(*, actor: Actor, path: Path, file_name: str) -> ProvisionImport:
    """Postcode centroids, ``postcode,lat,long`` (an extract of the ONS NSPL)."""
    return run_import(
        actor=actor,
        kind=ProvisionImportKind.POSTCODES,
        path=path,
        file_name=file_name,
        handler=_postcodes,
    )


IMPORTERS: dict[str, Callable[..., ProvisionImport]] = {
    ProvisionImportKind.PLACES: places_import,
    ProvisionImportKind.PROVIDERS: providers_import,
    ProvisionImportKind.POSTCODES: postcodes_import,
}
