"""Search results as the find-a-child page and the API show them."""

from __future__ import annotations

from dataclasses import dataclass

from .services import MatchResult


@dataclass(frozen=True)
class ResultRow:
    name: str
    href: str
    dob: str
    where: str
    register: str
    postcode: str
    upn: str
    likelihood: str
    explanation: str
    strong: bool
    band: str  # "strong", "possible" or "unlikely"
    band_label: str  # "Strong match", "Possible — check", "Unlikely"
    warning: str  # "Two records match equally well: …" or ""


@dataclass(frozen=True)
class FindChildPresenter:
    results: list[MatchResult]
    searched: bool
    not_ready: bool = False  # a register's index is being prepared: nothing was searched

    @property
    def rows(self) -> list[ResultRow]:
        rows = []
        for r in self.results:
            d = r.details
            rows.append(
                ResultRow(
                    name=d.name,
                    href=d.href,
                    dob=d.dob,
                    where=d.where,
                    register=r.register_label,
                    postcode=d.postcode,
                    upn=d.upn,
                    likelihood=r.percent,
                    explanation=r.explanation,
                    strong=r.band == "strong",
                    band=r.band,
                    band_label=r.band_label,
                    warning=r.warning,
                )
            )
        return rows

    @property
    def heading(self) -> str:
        n = len(self.rows)
        if n == 0:
            return "No possible matches found"
        return "1 possible match" if n == 1 else f"{n} possible matches"
