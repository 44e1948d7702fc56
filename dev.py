#!/usr/bin/env python3
"""The two quick-start commands, needing only Python 3.11+ and git.

    python3 dev.py demo   set up, migrate the SQLite database, build the demo authority
                          (once), and serve the app at http://127.0.0.1:8000 with one
                          background worker (imports, scheduled jobs) beside it
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


COMMANDS: dict[str, Callable[[], None]] = {
    "demo": demo,
    "test": test,
    "lock": lock,
    "setup": setup,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
