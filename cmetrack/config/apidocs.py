"""docs/api.md's generated parts, from the code: the endpoint table from the OpenAPI
document and the table of problem kinds from ``kit.problems.KINDS``.

    python deploy/api_docs.py           # rewrite docs/api.md's generated parts
    python deploy/api_docs.py --check   # exit 1 if they are stale (the tests check it too)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from django.test import Client

from cmetrack.kit.problems import KINDS, TYPE_BASE

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def endpoint_table(schema: dict[str, Any]) -> str:
    rows = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            if method not in METHODS:
                continue
            area = (op.get("tags") or ["-"])[0]
            what = " ".join(str(op.get("summary", "")).split()).replace("|", "\\|")
            errors = sorted(s for s in op.get("responses", {}) if 400 <= int(s) < 600)
            rows.append((area, path, METHODS.index(method), method.upper(), what, errors))
    rows.sort()
    lines = [
        "| area | method | path | what | errors (problem documents) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {area} | {method} | `{path}` | {what} | {', '.join(str(e) for e in errors)} |"
        for area, path, _, method, what, errors in rows
    ]
    return "\n".join(lines)


def kinds_table() -> str:
    lines = ["| status | code (`type` is `" + TYPE_BASE + "<code>`) | title | when |"]
    lines.append("|---|---|---|---|")
    for kind in sorted(KINDS.values(), key=lambda k: (k.status, k.code)):
        lines.append(f"| {kind.status} | `{kind.code}` | {kind.title} | {kind.description} |")
    return "\n".join(lines)


def _replace(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}: generated -->", f"<!-- {name}: end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"docs/api.md has no {start} … {end} markers")
    return pattern.sub(lambda _m: f"{start}\n{body}\n{end}", text)


def render(text: str, schema: dict[str, Any]) -> str:
    text = _replace(text, "problem kinds", kinds_table())
    return _replace(text, "endpoints", endpoint_table(schema))


def openapi() -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    return json.loads(response.content)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/api.md is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current, openapi())
    if args.check:
        if wanted != current:
            print("docs/api.md is stale: run python deploy/api_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0
