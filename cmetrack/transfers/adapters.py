"""The lost-pupil area as a register of the matching engine (``matching.adapters``).

Only CME officers and managers may search it; nobody else ever sees its rows in
results. Closed and forwarded pupils are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import Count, Max
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.kit.dates import govuk_date
from cmetrack.matching.adapters import RegisterRef, ResultDetails
from cmetrack.matching.features import PersonRecord

from .models import LostPupil, LostPupilStatus
from .selectors import may_use_lost_pupil_area
from .services import lost_pupil_record

_SEARCHABLE = (LostPupilStatus.OPEN, LostPupilStatus.POSSIBLE_MATCH)


class LostPupilAdapter:
    name = "lost_pupils"
    label = "Lost pupil (transfer file)"

    def signature(self) -> tuple[object, ...]:
        agg = LostPupil.objects.filter(status__in=_SEARCHABLE).aggregate(
            n=Count("pk"), top=Max("pk"), newest=Max("added_at")
        )
        closed = LostPupil.objects.aggregate(changed=Max("closed_at"))
        return (agg["n"], agg["top"], agg["newest"], closed["changed"])

    def records(self) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        rows = (
            LostPupil.objects.filter(status__in=_SEARCHABLE).select_related("pupil").order_by("pk")
        )
        for lost in rows.iterator(chunk_size=2000):
            yield RegisterRef(self.name, lost.pk), lost_pupil_record(lost.pupil)

    def permitted(self, user: User, refs: Sequence[RegisterRef]) -> set[RegisterRef]:
        return set(refs) if may_use_lost_pupil_area(user) else set()

    def details(self, refs: Sequence[RegisterRef]) -> dict[RegisterRef, ResultDetails]:
        rows = LostPupil.objects.filter(pk__in=[r.pk for r in refs]).select_related("pupil__file")
        by_pk = {x.pk: x for x in rows}
        out = {}
        for ref in refs:
            lost = by_pk.get(ref.pk)
            if lost is None:
                continue
            p = lost.pupil
            out[ref] = ResultDetails(
                name=p.full_name,
                dob=govuk_date(p.dob) if p.dob else "Not known",
                where=f"Left {p.file.source_name or p.file.source_laestab} "
                f"({lost.get_destination_kind_display()})",
                postcode=p.postcode,
                upn=p.upn,
                href=reverse("transfers:lost-pupil", args=[lost.pk]),
            )
        return out
