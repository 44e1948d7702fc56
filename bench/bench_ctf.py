# ruff: noqa: E501  (markdown table lines are written whole)
"""Benchmark of the CTF reader and writer (issue 9 item 5): a whole school's CTF, and the
hostile files the reader refuses. Pure Python, no database. Writes bench/results/ctf.md.

    .venv/bin/python bench/bench_ctf.py --pupils 2000

Each pupil carries the sections a real full CTF does (basic details, address, two
contacts, a year of attendance with 40 session details, SEN history, school history and
an unknown vendor element), about 6 KB of XML each. Reported: file size, read time,
write time, read-write-read equality, peak memory of the read, and how fast each hostile
file is refused.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmetrack.transfers import ctf
from cmetrack.transfers.xmlsafe import XmlRejected

UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upn(serial: int) -> str:
    body = f"99920012{serial // 1000 % 100:02d}{serial % 1000:03d}"[:12].rjust(12, "0")
    total = sum(int(c) * (i + 2) for i, c in enumerate(body))
    return UPN_LETTERS[total % 23] + body


def pupil(n: int) -> str:
    sessions = "".join(
        f"<SessionDetail><AttendanceDate>2026-06-{1 + d % 28:02d}</AttendanceDate><SessionCode>{'/N'[d % 2]}</SessionCode></SessionDetail>"
        for d in range(40)
    )
    contacts = "".join(
        f"<Contact><Order>{k}</Order><Title>Mx</Title><Surname>Parent{n}</Surname><Forename>Carer{k}</Forename>"
        f"<Relationship>PAR</Relationship><Responsibility>true</Responsibility><Phones><Phone><TelephoneType>M</TelephoneType>"
        f"<TelephoneNumber>07700 9{n % 100000:05d}</TelephoneNumber></Phone></Phones><AddressAsPupil>true</AddressAsPupil></Contact>"
        for k in (1, 2)
    )
    return (
        f"<Pupil><UPN>{upn(n)}</UPN><Surname>Family{n}</Surname><Forename>Given{n}</Forename><DOB>2015-0{1 + n % 9}-1{n % 9}</DOB><Sex>{'FM'[n % 2]}</Sex>"
        f"<BasicDetails><MiddleNames>Middle</MiddleNames><NCyearActual>{n % 7}</NCyearActual><Ethnicity>WBRI</Ethnicity><EnrolStatus>C</EnrolStatus></BasicDetails>"
        f"<Address><BS7666Address><PAON>{n}</PAON><Street>Long Street</Street><Town>Exampleton</Town></BS7666Address><Postcode>EX1 {n % 9}AB</Postcode></Address>"
        f"<Contacts>{contacts}</Contacts>"
        f"<Attendance><YearData><Year>2025</Year><SessionsPossible>380</SessionsPossible><SessionDetails>{sessions}</SessionDetails></YearData></Attendance>"
        f"<SENhistory><SEN><StartDate>2024-01-01</StartDate><SENprovision>K</SENprovision></SEN></SENhistory>"
        f"<SchoolHistory><School><LEA>999</LEA><Estab>2001</Estab><EntryDate>2020-09-03</EntryDate></School></SchoolHistory>"
        f"<VendorExtension><Note>kept as sent {n}</Note></VendorExtension></Pupil>"
    )


def school_file(pupils: int) -> bytes:
    body = "".join(pupil(n) for n in range(pupils))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><CTfile><Header><DocumentName>Common Transfer File</DocumentName>'
        "<CTFversion>26.0</CTFversion><DateTime>2026-07-17T10:00:00</DateTime><DocumentQualifier>full</DocumentQualifier>"
        "<SourceSchool><LEA>999</LEA><Estab>2001</Estab><SchoolName>Bench School</SchoolName><AcademicYear>2025</AcademicYear></SourceSchool>"
        f"<DestSchool><LEA>999</LEA><Estab>2003</Estab></DestSchool></Header><CTFpupilData>{body}</CTFpupilData></CTfile>"
    ).encode()


HOSTILE = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10 if i else "&a;" * 10}">'.encode()
        for i in range(9)
    )
    + b"]><CTfile>&a8;</CTfile>",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><CTfile>&e;</CTfile>',
    "100,000-deep nesting": b"<a>" * 100_000 + b"</a>" * 100_000,
    "40 MB of text": b"<CTfile><Suppinfo>" + b"x" * 40_000_000 + b"</Suppinfo></CTfile>",
}


def timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=2000)
    args = parser.parse_args()
    data = school_file(args.pupils)
    doc, read_s = timed(lambda: ctf.read_ctf(data))
    tracemalloc.start()
    ctf.read_ctf(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    written, write_s = timed(lambda: ctf.write_ctf(doc))
    again, reread_s = timed(lambda: ctf.read_ctf(written))
    rows = []
    for name, payload in HOSTILE.items():
        try:
            _, seconds = timed(lambda p=payload: ctf.read_ctf(p))
            outcome = "ACCEPTED (wrong)"
        except (XmlRejected, ctf.CtfError) as exc:
            seconds = 0.0
            start = time.perf_counter()
            try:
                ctf.read_ctf(payload)
            except (XmlRejected, ctf.CtfError):
                seconds = time.perf_counter() - start
            outcome = str(exc)[:90]
        rows.append(
            f"| {name} | {len(payload) / 1e6:.1f} MB | {seconds * 1000:.1f} ms | {outcome} |"
        )
    load = os.getloadavg()[0]
    text = "\n".join(
        [
            "# CTF reader and writer",
            "",
            f"`bench/bench_ctf.py --pupils {args.pupils}` (pure Python, stdlib expat; load average {load:.1f} on a shared 2-core machine).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| pupils | {len(doc.pupils):,} |",
            f"| file size | {len(data) / 1e6:.1f} MB ({len(data) / len(doc.pupils) / 1000:.1f} KB per pupil) |",
            f"| read (parse, check limits, build pupils) | {read_s:.2f} s ({len(doc.pupils) / read_s:,.0f} pupils/s) |",
            f"| peak Python memory while reading | {peak / 1e6:.0f} MB |",
            f"| write | {write_s:.2f} s |",
            f"| read again | {reread_s:.2f} s |",
            f"| read(write(read(file))) == read(file) | {again.pupils == doc.pupils} |",
            "",
            "Hostile files (each refused before any harm; time to refusal):",
            "",
            "| file | size | refused in | message |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )
    out = Path(__file__).resolve().parent / "results" / "ctf.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
