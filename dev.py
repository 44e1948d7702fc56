#!/usr/bin/env python3
"""The two quick-start commands, needing only Python 3.11+ and git.

    python3 dev.py demo   set up, migrate the SQLite database, build the demo authority
                          (once), and serve the app at http://127.0.0.1:8000 with one
                          background worker (imports, scheduled jobs) beside it
    python3 dev.py test   set up and run the whole suite: ruff, mypy, lint-imports, pytest
                          (uses DATABASE_URL when set, SQLite otherwise)
    python3 dev.py lock   re-resolve requirements/lock.txt from pyproject.toml
    python3 dev.py graph  write the apps' dependency graph into docs/architecture.md

Both set up ``.venv`` from the pinned ``requirements/lock.txt`` (again only when it changes).
"""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
LOCK = ROOT / "requirements" / "lock.txt"
#: The spark extra (pyspark, ~500 MB, needs Java): the test suite installs it, the demo does not.
SPARK_LOCK = ROOT / "requirements" / "spark.txt"
SPARK_PACKAGES = ("py4j", "pyspark")
DEMO_SEED = os.environ.get("CMETRACK_DEMO_SEED", "1")


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def setup(*, spark: bool = False) -> None:
    if sys.version_info < (3, 11):
        sys.exit("cmetrack needs Python 3.11 or newer.")
    if not PY.exists():
        print(f"Creating a virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".cmetrack-installed"
    if not (stamp.exists() and stamp.read_text() == digest):
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        run(PY, "-m", "pip", "install", "--quiet", "-r", LOCK)
        run(PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")
        stamp.write_text(digest)
    # The package's bytecode, as `pip install .` leaves an installation: an editable
    # install compiles nothing, and where PYTHONDONTWRITEBYTECODE is set (some CI
    # machines) every command would compile every module again (0.35 s each).
    run(PY, "-m", "compileall", "-q", "-j", "0", "cmetrack")
    if spark:
        spark_digest = hashlib.sha256(SPARK_LOCK.read_bytes()).hexdigest()
        spark_stamp = VENV / ".cmetrack-spark-installed"
        if not (spark_stamp.exists() and spark_stamp.read_text() == spark_digest):
            run(PY, "-m", "pip", "install", "--quiet", "-r", SPARK_LOCK)
            spark_stamp.write_text(spark_digest)


def cmetrack(*args: str, env: dict[str, str] | None = None) -> None:
    run(BIN / "cmetrack", *args, env=env)


def demo() -> None:
    setup()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "cmetrack.config.settings.dev"
    # The demo is the product as people see it: its own 404 and 500 pages, not Django's
    # debugging pages (set DEBUG=true to get those while developing).
    env.setdefault("DEBUG", "false")
    # The emergency route's number (a made-up one: Ofcom's drama range).
    env.setdefault("CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE", "01632 960 000")
    cmetrack("migrate", "--no-input", "-v", "0", env=env)
    cmetrack("demo_data", "--seed", DEMO_SEED, "--if-missing", env=env)
    # The search indexes before the first search (the worker keeps them current after).
    cmetrack("build_search_index", env=env)
    # The background worker (imports, scheduled jobs) beside the web server, stopped with it.
    print("+ cmetrack worker (in the background)", flush=True)
    worker = subprocess.Popen([str(BIN / "cmetrack"), "worker"], cwd=ROOT, env=env)
    try:
        cmetrack("runserver", "127.0.0.1:8000", env=env)
    except KeyboardInterrupt:
        pass
    finally:
        stop_worker(worker)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as a service manager would: the worker finishes its running tasks."""
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def test() -> None:
    setup(spark=True)
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "mypy", "cmetrack", "conftest.py", "dev.py")
    # The layers (pyproject.toml [tool.importlinter], docs/architecture.md).
    run(BIN / "lint-imports")
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run(PY, "-m", "pytest", *sys.argv[2:], env=env)


def lock() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        tpy = Path(tmp) / "bin" / "python"
        run(tpy, "-m", "pip", "install", "--quiet", ".[dev,spark]")
        frozen = subprocess.run(
            [str(tpy), "-m", "pip", "freeze", "--exclude-editable", "--exclude", "cmetrack"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines(keepends=True)
    spark = [line for line in frozen if line.split("==")[0].lower() in SPARK_PACKAGES]
    rest = [line for line in frozen if line not in spark]
    LOCK.write_text(
        "# Pinned with `python3 dev.py lock` from pyproject.toml (runtime and dev; "
        "pyspark is in spark.txt).\n" + "".join(rest)
    )
    SPARK_LOCK.write_text(
        "# The spark extra (`pip install cmetrack[spark]`), pinned with `python3 dev.py lock`.\n"
        "# `python3 dev.py test` installs it (the Spark tests are part of the suite); the demo "
        "does not.\n" + "".join(spark)
    )
    print(f"Wrote {LOCK} and {SPARK_LOCK}")


GRAPH_DOC = ROOT / "docs" / "architecture.md"
GRAPH_BEGIN = "<!-- dependency graph: generated by `python3 dev.py graph`; do not edit -->"
GRAPH_END = "<!-- end of the dependency graph -->"


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def app_imports() -> dict[str, set[str]]:
    """Which cmetrack apps each app imports, from the code: every import statement of the
    non-test modules, at module level or inside a function (relative ones resolved), but
    not those under ``if TYPE_CHECKING:`` (as the import-linter contract counts them)."""
    edges: dict[str, set[str]] = {}
    for path in sorted((ROOT / "cmetrack").rglob("*.py")):
        rel = path.relative_to(ROOT / "cmetrack").parts
        if len(rel) < 2 or "tests" in rel or "migrations" in rel:
            continue
        app = rel[0]
        module = _module_of(path)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = {id(n) for t in ast.walk(tree) if _type_checking(t) for n in ast.walk(t)}
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    names = [".".join([*base, node.module] if node.module else base)]
                elif node.module:
                    names = [node.module]
            for name in names:
                parts = name.split(".")
                if (
                    parts[0] == "cmetrack"
                    and len(parts) > 1
                    and parts[1] != app
                    and (ROOT / "cmetrack" / parts[1]).is_dir()
                ):
                    edges.setdefault(app, set()).add(parts[1])
        edges.setdefault(app, set())
    return edges


def layers() -> list[list[str]]:
    """The layers of pyproject.toml's import-linter contract, highest first."""
    import tomllib  # here: Python 3.10 has none, and this script must say "too old" first

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = config["tool"]["importlinter"]["contracts"][0]
    return [
        [name.strip().removeprefix("cmetrack.") for name in line.split("|")]
        for line in contract["layers"]
    ]


def _reduced(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The arrows no other path already implies (the transitive reduction: the graph
    reads as layers; the table lists every import)."""

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            node = todo.pop()
            for nxt in edges.get(node, ()):
                if (node, nxt) != skip and nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    return {
        app: {t for t in targets if t not in reachable(app, (app, t))}
        for app, targets in edges.items()
    }


def graph_markdown() -> str:
    """The dependency graph section of docs/architecture.md: a Mermaid flowchart of the
    layers (bottom to top) with an arrow where an app imports another (arrows another path
    already implies left out), and every app's imports as a table."""
    edges = app_imports()
    out = [GRAPH_BEGIN, "", "```mermaid", "flowchart BT"]
    for number, line in enumerate(reversed(layers()), start=1):
        out.append(f'    subgraph L{number}["layer {number}"]')
        out.extend(f"        {app}" for app in line)
        out.append("    end")
    for app, targets in sorted(_reduced(edges).items()):
        out.extend(f"    {app} --> {target}" for target in sorted(targets))
    out += ["```", "", "| app | imports |", "|---|---|"]
    for number, line in enumerate(reversed(layers()), start=1):
        for app in line:
            listed = ", ".join(f"`{t}`" for t in sorted(edges.get(app, ()))) or "nothing"
            out.append(f"| `{app}` (layer {number}) | {listed} |")
    out += ["", GRAPH_END]
    return "\n".join(out)


def graph_section(text: str) -> str:
    start, end = text.index(GRAPH_BEGIN), text.index(GRAPH_END) + len(GRAPH_END)
    return text[start:end]


def graph() -> None:
    """Write the dependency graph into docs/architecture.md (between its markers)."""
    text = GRAPH_DOC.read_text(encoding="utf-8")
    new = text.replace(graph_section(text), graph_markdown())
    GRAPH_DOC.write_text(new, encoding="utf-8")
    print(f"Wrote the dependency graph in {GRAPH_DOC.relative_to(ROOT)}")


COMMANDS: dict[str, Callable[[], None]] = {
    "demo": demo,
    "test": test,
    "lock": lock,
    "setup": setup,
    "graph": graph,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
