# ruff: noqa: E501  (markdown table lines are written whole)
"""Fit the search's probability calibration on one labelled population and check it on
another (issue 19 item 3: honest probabilities).

    # 1. labelled searches of two independent evaluation populations (different seeds,
    #    different register sizes), every candidate's weight kept:
    .venv/bin/python bench/bench_matching_eval.py --skip-link --search-size 250000 --seed 11 \\
        --dump var/bench/matching/fit-250k-s11.jsonl --out var/bench/matching/fit-250k-s11.md
    .venv/bin/python bench/bench_matching_eval.py --skip-link --search-size 1000000 --seed 7 \\
        --dump var/bench/matching/eval-1m-s7.jsonl ...
    # 2. fit on the first, report on every one given with --check, optionally save:
    .venv/bin/python bench/bench_matching_calibrate.py --fit var/bench/matching/fit-250k-s11.jsonl \\
        --check var/bench/matching/eval-1m-s7.jsonl --save

The calibration (``model.Calibration``: a monotone map of each candidate's probability,
applied after the candidates and "none of these" are normalised and keeping them
exclusive, ``probability.exclusive``) is fitted by isotonic regression
(``probability.fit_calibration``) on the first file only;
the reliability tables of the other files are on searches it never saw. ``--save`` writes
it into the shipped model (``cmetrack/matching/data/default_model.json``).

Each line of a dump is one search: ``weights`` (its candidates, best first, up to the
page's ten), ``prior``, ``right`` (which candidate was the child, or null: none of them —
the child is not on the register or was not found) and ``label`` (the kind of error).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmetrack.matching.model import DEFAULT_MODEL_PATH, Calibration  # noqa: E402
from cmetrack.matching.probability import (  # noqa: E402
    FLOOR,
    POSSIBLE,
    STRONG,
    band,
    exclusive,
    fit_calibration,
    fit_calibration_on_output,
)

BANDS = ((0.01, 0.2), (0.2, 0.5), (0.5, 0.9), (0.9, 0.99), (0.99, 0.999), (0.999, 1.0001))
Case = tuple[list[float], float, int | None]


#: The searches of a realistic stream: errors at the published rates, and children who
#: are not on the register (the other labels are one error kind each, a hundred or more
#: of every kind, so errors are far commoner in them than in real searches).
MIX_LABELS = frozenset({"published-rate mix", "not on the register"})


def read(path: Path, only_mix: bool = False) -> list[Case]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            if only_mix and d.get("label") not in MIX_LABELS:
                continue
            out.append((d["weights"], d["prior"], d["right"]))
    return out


def shown(cases: list[Case], calibration: Calibration | None) -> list[tuple[float, bool]]:
    """Every result an officer would be shown (probability at least the floor), with
    whether it was the child."""
    out = []
    for weights, prior, right in cases:
        for i, p in enumerate(exclusive(weights, prior, calibration)):
            if p >= FLOOR:
                out.append((p, i == right))
    return out


def log_loss(cases: list[Case], calibration: Calibration | None) -> float:
    """Mean negative log-likelihood (nats) of the right answer (a candidate or "none of
    these") under the exclusive probabilities."""
    import math

    total = 0.0
    for weights, prior, right in cases:
        ps = exclusive(weights, prior, calibration)
        p = ps[right] if right is not None else max(1e-300, 1.0 - sum(ps))
        total -= math.log(max(p, 1e-300))
    return total / max(len(cases), 1)


def table(rows: list[tuple[float, bool]]) -> list[str]:
    lines = [
        "| predicted | results | mean predicted | observed right |",
        "|---|---|---|---|",
    ]
    for lo, hi in BANDS:
        inside = [(p, ok) for p, ok in rows if lo <= p < hi]
        if not inside:
            lines.append(f"| {lo:g}–{min(hi, 1):g} | 0 | | |")
            continue
        mean = sum(p for p, _ in inside) / len(inside)
        right = sum(1 for _, ok in inside if ok) / len(inside)
        lines.append(f"| {lo:g}–{min(hi, 1):g} | {len(inside):,} | {mean:.3f} | {right:.3f} |")
    return lines


def compare(
    rows_old: list[tuple[float, bool]], rows_new: list[tuple[float, bool]], enough: int
) -> tuple[list[str], bool]:
    """Each band's gap between mean predicted and observed right, for the shipped map and
    the new one side by side; whether the new one's gap is no larger in every band with
    at least ``enough`` results under both."""
    lines = [
        "| predicted | shipped: results, mean predicted, observed, gap | new: results, mean predicted, observed, gap | new better? |",
        "|---|---|---|---|",
    ]
    better = True

    def stats(rows: list[tuple[float, bool]], lo: float, hi: float) -> tuple[int, float, float]:
        inside = [(p, ok) for p, ok in rows if lo <= p < hi]
        if not inside:
            return 0, 0.0, 0.0
        return (
            len(inside),
            sum(p for p, _ in inside) / len(inside),
            sum(1 for _, ok in inside if ok) / len(inside),
        )

    for lo, hi in BANDS:
        n0, m0, o0 = stats(rows_old, lo, hi)
        n1, m1, o1 = stats(rows_new, lo, hi)
        g0, g1 = abs(m0 - o0), abs(m1 - o1)
        if n0 >= enough and n1 >= enough:
            verdict = "yes" if g1 <= g0 else "**no**"
            better = better and g1 <= g0
        else:
            verdict = f"(fewer than {enough})"
        lines.append(
            f"| {lo:g}–{min(hi, 1):g} | {n0:,}, {m0:.3f}, {o0:.3f}, {g0:.3f} | {n1:,}, {m1:.3f}, {o1:.3f}, {g1:.3f} | {verdict} |"
        )
    return lines, better


def officer_bands(rows: list[tuple[float, bool]]) -> list[str]:
    lines = ["| band shown | results | observed right |", "|---|---|---|"]
    for name, label in (
        ("unlikely", f"Unlikely ({FLOOR:g}–{POSSIBLE:g})"),
        ("possible", f"Possible — check ({POSSIBLE:g}–{STRONG:g})"),
        ("strong", f"Strong match (≥ {STRONG:g})"),
    ):
        inside = [ok for p, ok in rows if band(p) == name]
        rate = f"{sum(inside) / len(inside):.3f}" if inside else ""
        lines.append(f"| {label} | {len(inside):,} | {rate} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fit", type=Path, nargs="+", required=True, help="labelled searches to fit on"
    )
    parser.add_argument("--check", type=Path, nargs="*", default=[])
    parser.add_argument("--save", action="store_true", help="write it into the shipped model")
    parser.add_argument(
        "--compare-shipped",
        action="store_true",
        help="also report the calibration the shipped model carries now, on every file",
    )
    parser.add_argument(
        "--min-block",
        type=int,
        default=1,
        help="pool isotonic blocks of fewer results with a neighbour (probability.fit_calibration)",
    )
    parser.add_argument(
        "--centred",
        action="store_true",
        help="one knot at each block's mean (centred isotonic regression) rather than flat blocks",
    )
    parser.add_argument(
        "--on-output",
        action="store_true",
        help="fit on the probabilities shown (after normalisation; probability.fit_calibration_on_output)",
    )
    parser.add_argument(
        "--mix",
        choices=("fit", "check", "both"),
        help="fit on, check on, or both, only the published-rate mix and the children not on the register",
    )
    parser.add_argument("--rounds", type=int, default=4, help="refinements with --on-output")
    parser.add_argument(
        "--enough", type=int, default=30, help="results a band needs to be compared"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "matching-calibration.md"
    )
    args = parser.parse_args()
    mix_fit, mix_check = args.mix in ("fit", "both"), args.mix in ("check", "both")
    fit_cases = [case for path in args.fit for case in read(path, mix_fit)]
    names = " and ".join(path.stem for path in args.fit)
    how = (
        ("centred isotonic" if args.centred else "isotonic")
        + (", published-rate mix and absent children only" if mix_fit else "")
        + (f", blocks of at least {args.min_block}" if args.min_block > 1 else "")
        + (
            f", refitted {args.rounds} times on the normalised probabilities"
            if args.on_output
            else ""
        )
    )
    started, cpu = time.perf_counter(), time.process_time()
    source = f"fitted on {len(fit_cases):,} labelled searches of {names} ({how}; bench/bench_matching_calibrate.py)"
    if args.on_output:
        calibration = fit_calibration_on_output(
            fit_cases,
            source=source,
            rounds=args.rounds,
            min_block=args.min_block,
            centred=args.centred,
        )
    else:
        calibration = fit_calibration(
            fit_cases, source=source, min_block=args.min_block, centred=args.centred
        )
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    lines = [
        "# Calibrating the search's probabilities (issue 19)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: `.venv/bin/python bench/bench_matching_calibrate.py "
        + " ".join(sys.argv[1:])
        + f"` (load average {os.getloadavg()[0]:.1f}).",
        "",
        f"Fitted on {', '.join(f'`{path.name}`' for path in args.fit)} ({len(fit_cases):,} searches) in {seconds:.2f} s ({cpu_seconds:.2f} s CPU): "
        f"{len(calibration.knots)} knots ({how} regression of whether each candidate was the child on its "
        "probability as the weights give it; `probability.fit_calibration`). Knots, log2 odds before → after: "
        + ", ".join(f"{x:+.1f} → {y:+.1f}" for x, y in calibration.knots)
        + ". Each candidate's probability is mapped through them and the mapped probabilities, as odds against "
        "'none of these', are normalised together (`probability.exclusive`). The other files are "
        "searches of populations it never saw.",
        "",
    ]
    shipped = None
    if args.compare_shipped:
        shipped = Calibration.from_json(
            json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8")).get("calibration")
        )
    verdicts = []
    for path in [*args.fit, *args.check]:
        role = "fitted on" if path in args.fit else "held out"
        cases = read(path, mix_fit if role == "fitted on" else mix_check)
        if role == "held out" and mix_check:
            role += ", published-rate mix and absent children only"
        if shipped is not None:
            side, better = compare(shown(cases, shipped), shown(cases, calibration), args.enough)
            if role.startswith("held out"):
                verdicts.append((path.name, better))
            lines += [
                f"## `{path.name}` ({role}): the shipped map against this one, by band",
                "",
                f"Log-loss: shipped {log_loss(cases, shipped):.4f}, this one {log_loss(cases, calibration):.4f}.",
                "",
                *side,
                "",
            ]
            lines += [
                f"## `{path.name}` with the shipped calibration ({len(shipped.knots)} knots; {shipped.source})",
                "",
                f"Mean log-loss of the right answer: {log_loss(cases, shipped):.4f}.",
                "",
                *table(shown(cases, shipped)),
                "",
                *officer_bands(shown(cases, shipped)),
                "",
            ]
        lines += [
            f"## `{path.name}` ({role}, {len(cases):,} searches)",
            "",
            f"Mean log-loss of the right answer (a candidate or 'none of these'): {log_loss(cases, None):.4f} "
            f"before, {log_loss(cases, calibration):.4f} after.",
            "",
            "Before (the weights' own probabilities):",
            "",
            *table(shown(cases, None)),
            "",
            "After:",
            "",
            *table(shown(cases, calibration)),
            "",
            "What officers see after, by band:",
            "",
            *officer_bands(shown(cases, calibration)),
            "",
        ]
    if verdicts:
        lines += [
            "Better than the shipped map in every band with enough results on every held-out "
            "file: "
            + ("**yes**" if all(ok for _n, ok in verdicts) else "**no**")
            + " ("
            + ", ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in verdicts)
            + ").",
            "",
        ]
    if args.save:
        data = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
        data["calibration"] = calibration.to_json()
        DEFAULT_MODEL_PATH.write_text(
            json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        lines += [f"Saved into `{DEFAULT_MODEL_PATH.relative_to(ROOT)}`.", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
