"""ops sits at the top: it may import any app, and only the settings and URLs import it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_app_below_imports_ops() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in {"ops", "config"}
        and any(
            name == "cmetrack.ops" or name.startswith("cmetrack.ops.") for name in _imports(path)
        )
    ]
    assert offenders == []


def test_the_logging_module_the_settings_import_needs_no_app() -> None:
    imported = _imports(PACKAGE / "ops" / "logs.py")
    assert not [name for name in imported if name.startswith("cmetrack")]
