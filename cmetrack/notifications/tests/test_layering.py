"""notifications is a low layer: its code imports accounts, organisations, audit and jobs,
never the apps that send messages (they import it)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1]
ALLOWED = ("accounts", "organisations", "audit", "jobs", "kit", "notifications")


def test_notifications_imports_no_app_above_it() -> None:
    offenders = []
    for path in APP.rglob("*.py"):
        if "tests" in path.relative_to(APP).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "cmetrack" and len(parts) > 1 and parts[1] not in ALLOWED:
                    offenders.append(f"{path.relative_to(APP)}: {name}")
    assert offenders == []
