"""The layers hold (docs/architecture.md, "Layers and registries"; ADR 0015).

- At most :data:`MAX_IN_FUNCTION` imports of cmetrack modules inside functions in the code
  (relative ones and those in ``AppConfig.ready()`` count), each with a comment saying why
  on the line above it or on its own line.
- The dependency graph in docs/architecture.md is the one ``python3 dev.py graph`` makes
  from the code now.

``lint-imports`` (the import-linter contract in pyproject.toml) checks the layers
themselves in ``python3 dev.py test``.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "cmetrack"
MAX_IN_FUNCTION = 10

sys.path.insert(0, str(ROOT))
import dev  # noqa: E402  (the repository's dev.py: the graph's one generator)


@dataclass(frozen=True)
class InFunctionImport:
    path: str
    line: int
    statement: str
    reason: str


def _is_cmetrack(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").startswith("cmetrack") or node.level > 0
    if isinstance(node, ast.Import):
        return any(alias.name.startswith("cmetrack") for alias in node.names)
    return False


def _reason(lines: list[str], node: ast.stmt) -> str:
    """The comment on the import's own line, or the comment lines just above it."""
    own = lines[node.lineno - 1]
    if "#" in own:
        return own.split("#", 1)[1].strip()
    above: list[str] = []
    number = node.lineno - 2
    while number >= 0 and lines[number].strip().startswith("#"):
        above.insert(0, lines[number].strip().lstrip("#").strip())
        number -= 1
    return " ".join(above)


def in_function_imports(root: Path = PACKAGE) -> list[InFunctionImport]:
    found: dict[tuple[str, int], InFunctionImport] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if "tests" in parts or "migrations" in parts:
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for function in ast.walk(ast.parse(text, filename=str(path))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom) and _is_cmetrack(node):
                    where = str(path.relative_to(root.parent))
                    found[(where, node.lineno)] = InFunctionImport(
                        where, node.lineno, ast.unparse(node), _reason(lines, node)
                    )
    return sorted(found.values(), key=lambda i: (i.path, i.line))


def test_the_counter_sees_relative_imports_and_imports_in_ready(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "apps.py").write_text(
        "class Config:\n"
        "    def ready(self):\n"
        "        from . import signals\n"
        "        # the reason\n"
        "        from cmetrack.jobs.registry import register_schedule\n"
        "import cmetrack.kit.dates\n"
    )
    found = in_function_imports(tmp_path)
    assert [(i.statement, i.reason) for i in found] == [
        ("from . import signals", ""),
        ("from cmetrack.jobs.registry import register_schedule", "the reason"),
    ]


def test_at_most_ten_imports_inside_functions_each_with_its_reason() -> None:
    found = in_function_imports()
    listing = "\n".join(f"{i.path}:{i.line}: {i.statement}  # {i.reason}" for i in found)
    print(listing)  # shown with -s, and on a failure
    assert len(found) <= MAX_IN_FUNCTION, (
        f"{len(found)} imports of cmetrack modules inside functions (at most "
        f"{MAX_IN_FUNCTION}): import at module level, or offer a registry in the lower "
        f"app and fill it from the higher app's extensions module.\n{listing}"
    )
    unexplained = [i for i in found if not i.reason]
    assert unexplained == [], "say why each import is inside its function:\n" + listing


def test_the_dependency_graph_in_the_docs_is_the_one_the_code_makes() -> None:
    committed = dev.graph_section(dev.GRAPH_DOC.read_text(encoding="utf-8"))
    assert committed == dev.graph_markdown(), (
        "docs/architecture.md's dependency graph is stale: run `python3 dev.py graph`"
    )


def test_every_app_is_in_a_layer() -> None:
    apps = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    layered = {app for line in dev.layers() for app in line}
    assert apps == layered
