#!/usr/bin/env python3
"""The two quick-start commands, needing only Python 3.11+ and git.

    python3 dev.py demo   set up, migrate the SQLite database, build the demo authority
                          (once), and serve the app at http://127.0.0.1:8000
    python3 dev.py test   set up and run the whole suite: ruff, mypy, pytest
                          (uses DATABASE_URL when set, SQLite otherwise)
    python3 dev.py lock   re-resolve requirements/lock.txt from pyproject.toml

Both set up ``.venv`` from the pinned ``requirements/lock.txt`` (again only when it changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
LOCK = ROOT / "requirements" / "lock.txt"
DEMO_SEED = os.environ.get("CMETRACK_DEMO_SEED", "1")


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit("cmetrack needs Python 3.11 or newer.")
    if not PY.exists():
        print(f"Creating a virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / ".cmetrack-installed"
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-r", LOCK)
    run(PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")
    stamp.write_text(digest)


def cmetrack(*args: str, env: dict[str, str] | None = None) -> None:
    run(BIN / "cmetrack", *args, env=env)


def demo() -> None:
    setup()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "cmetrack.config.settings.dev"
    cmetrack("migrate", "--no-input", "-v", "0", env=env)
    cmetrack("demo_data", "--seed", DEMO_SEED, "--if-missing", env=env)
    cmetrack("runserver", "127.0.0.1:8000", env=env)


def test() -> None:
    setup()
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "mypy", "cmetrack", "conftest.py", "dev.py")
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    run(PY, "-m", "pytest", *sys.argv[2:], env=env)


def lock() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        venv.create(tmp, with_pip=True)
        tpy = Path(tmp) / "bin" / "python"
        run(tpy, "-m", "pip", "install", "--quiet", ".[dev]")
        frozen = subprocess.run(
            [str(tpy), "-m", "pip", "freeze", "--exclude-editable", "--exclude", "cmetrack"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    LOCK.write_text(
        "# Pinned with `python3 dev.py lock` from pyproject.toml (runtime and dev).\n" + frozen
    )
    print(f"Wrote {LOCK}")


COMMANDS = {"demo": demo, "test": test, "lock": lock, "setup": setup}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
