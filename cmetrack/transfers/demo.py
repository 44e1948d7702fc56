"""Demo transfer files for the synthetic authority (called from ``demo.services``).

Three leavers' CTFs uploaded through the service (audited, like every demo record): one
to ``XXX`` for a pupil who has since turned up on another school's roll (matched
automatically), one to ``XXX`` for a pupil not found yet, and one to ``MMM`` for a pupil
who moved abroad; and one school's request to search for a pupil it admitted.
"""

from __future__ import annotations

import datetime as dt
import random

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.organisations.models import Organisation
from cmetrack.registers.models import RollEntry
from cmetrack.registers.selectors import latest_snapshots
from cmetrack.rules import upn_check_letter

from . import ctf
from .services import ctf_upload, search_request_create

FSM_HISTORY = "<FSMhistory><FSMreviewDate>2025-09-01</FSMreviewDate></FSMhistory>"


def _ref(school: Organisation) -> ctf.SchoolRef:
    assert school.local_authority is not None
    return ctf.SchoolRef(
        lea=school.local_authority.code, estab=school.estab_number, name=school.name
    )


def _upn(school: Organisation, serial: int) -> str:
    body = f"{_ref(school).laestab}23{serial % 1000:03d}"
    return upn_check_letter(body) + body


def demo_lost_pupils(
    *,
    officer: User,
    school_user: User | None,
    schools: list[Organisation],
    seed: int,
    today: dt.date,
) -> int:
    """Upload the demo CTFs; returns the number of pupils put in the lost-pupil area."""
    rng = random.Random(seed)
    actor = Actor(user=officer, label="demo")
    usable = [s for s in schools if s.laestab]
    if len(usable) < 2:
        return 0
    joined = RollEntry.objects.filter(snapshot__in=latest_snapshots()).select_related("snapshot")
    turned_up = joined.order_by("pk")[rng.randrange(joined.count())] if joined.exists() else None
    left_from = next(
        s for s in reversed(usable) if turned_up is None or s.pk != turned_up.snapshot.school_id
    )
    pupils = []
    if turned_up is not None:
        pupils.append(
            (
                ctf.UNKNOWN_LEA,
                ctf.CtfPupil(
                    upn=turned_up.upn,
                    surname=turned_up.legal_family_name,
                    forename=turned_up.legal_given_name,
                    dob=turned_up.dob,
                    sex=turned_up.sex,
                    address=ctf.CtfAddress(
                        lines=("12 Demo Road", "Exampleton"), postcode="EX1 1DR"
                    ),
                ),
            )
        )
    pupils += [
        (
            ctf.UNKNOWN_LEA,
            ctf.CtfPupil(
                upn=_upn(left_from, 901), surname="Varga", forename="Lilla", middle_names="Rose",
                dob=dt.date(today.year - 9, 5, 14), sex="F", nc_year="4",
                address=ctf.CtfAddress(lines=("8 Canal Walk", "Exampleton"), postcode="EX4 2CW"),
                unknown=(("BasicDetails", FSM_HISTORY),),
            ),
        ),
        (
            ctf.OUTSIDE_LEA,
            ctf.CtfPupil(
                upn=_upn(left_from, 902), surname="Mensah", forename="Kwame",
                dob=dt.date(today.year - 12, 11, 2), sex="M", nc_year="7",
            ),
        ),
    ]  # fmt: skip
    lost = 0
    for serial, (dest_lea, pupil) in enumerate(pupils, start=1):
        dest = ctf.SchoolRef(dest_lea, dest_lea + dest_lea[0])
        document = ctf.CtfDocument(
            header=ctf.CtfHeader(
                date_time=f"{today - dt.timedelta(days=20 + serial):%Y-%m-%d}T15:30:00",
                source=_ref(left_from),
                dest=dest,
                suppinfo="Family left without giving a new address",
                supplier_id="Demo MIS",
            ),
            pupils=(pupil,),
        )
        result = ctf_upload(
            actor=actor,
            data=ctf.write_ctf(document),
            file_name=ctf.ctf_file_name(_ref(left_from), dest, serial),
        )
        lost += result.lost_pupils
    if school_user is not None:
        search_request_create(
            actor=Actor(user=school_user, label="demo"),
            given_names="Lily",
            family_name="Varga",
            dob=dt.date(today.year - 9, 5, 14),
            admitted_on=today - dt.timedelta(days=3),
            previous_school="Somewhere in Exampleton, the family thinks",
        )
    return lost
