"""The ``cmetrack`` console command: Django's management commands with our settings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from cmetrack.cli import main

REPO_ROOT = Path(__file__).resolve().parents[3]


def run_main(argv):
    """Run ``main`` and return its exit code (0 when it returns normally)."""
    try:
        main(argv)
    except SystemExit as exc:
        return exc.code or 0
    return 0


def run_fresh(args, tmp_path):
    """Run ``args`` in a new process with the development settings' defaults (no settings
    module, database or secret from this test run) and a var folder under ``tmp_path``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "SECRET_KEY"}
    }
    env["CMETRACK_VAR_DIR"] = str(tmp_path / "var")
    # This checkout's code, whichever copy the console script was installed from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(  # noqa: S603  (our own command or interpreter, fixed arguments)
        args,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_check_runs_cleanly(capsys):
    assert run_main(["check"]) == 0
    assert "System check identified no issues" in capsys.readouterr().out


def test_main_reads_sys_argv_when_given_nothing(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["cmetrack", "check"])
    assert run_main(None) == 0
    assert "System check identified no issues" in capsys.readouterr().out


def test_help_lists_our_commands(capsys):
    assert run_main(["help"]) == 0
    out = capsys.readouterr().out
    assert "Type 'cmetrack help <subcommand>'" in out
    for command in ("demo_data", "issue_api_token", "migrate"):
        assert command in out


def test_unknown_command_fails(capsys):
    assert run_main(["no_such_command"]) == 1
    assert "Unknown command: 'no_such_command'" in capsys.readouterr().err


def test_main_keeps_the_settings_module_it_is_given(monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")
    assert run_main(["check"]) == 0
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "cmetrack.config.settings.test"


def test_console_script_is_declared_in_pyproject():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {"cmetrack": "cmetrack.cli:main"}
    module, _, attribute = pyproject["project"]["scripts"]["cmetrack"].partition(":")
    assert (module, attribute) == ("cmetrack.cli", "main")


def test_console_script_is_installed():
    (entry_point,) = metadata.entry_points(group="console_scripts", name="cmetrack")
    assert entry_point.value == "cmetrack.cli:main"
    assert entry_point.load() is main


def test_console_script_defaults_to_the_development_settings(tmp_path):
    script = shutil.which("cmetrack", path=str(Path(sys.executable).parent))
    assert script is not None, "the cmetrack console script is not installed next to python"
    out = run_fresh(
        [
            script,
            "shell",
            "-c",
            "from django.conf import settings; "
            "print(settings.SETTINGS_MODULE, settings.DATABASES['default']['NAME'])",
        ],
        tmp_path,
    )
    module, database = out.strip().splitlines()[-1].split()
    assert module == "cmetrack.config.settings.dev"
    assert database == str((tmp_path / "var" / "cmetrack.sqlite3").resolve())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "--tag", "no-such-tag"], "no-such-tag"),
        (["check", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_arguments_fail(capsys, argv, message):
    assert run_main(argv) != 0
    assert message in capsys.readouterr().err


def test_the_start_up_heap_is_frozen_and_the_rest_at_exit(tmp_path):
    """Django's objects are frozen once every app is ready (``OpsConfig.ready``), and what
    the command made on top of them when the process ends, after its connections are
    closed (``cli._at_exit``): the interpreter's collections at exit have nothing to walk."""
    code = (
        "import atexit, gc\n"
        "def after():\n"  # registered before main's handler, so it runs after it
        "    from django.db import connection\n"
        "    print('exit', gc.get_freeze_count(), connection.connection is None)\n"
        "atexit.register(after)\n"
        "from cmetrack.cli import main\n"
        "main(['shell', '-c', 'import builtins, gc; from django.db import connection; "
        "connection.ensure_connection(); builtins.kept = [[i] for i in range(20000)]; "
        'print("during", gc.get_freeze_count(), connection.connection is None)\'])\n'
    )
    out = run_fresh([sys.executable, "-c", code], tmp_path)
    lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    during_frozen, during_closed = lines["during"].split()
    exit_frozen, exit_closed = lines["exit"].split()
    assert int(during_frozen) > 50_000  # Django's apps and models, frozen at start-up
    assert during_closed == "False"
    assert int(exit_frozen) >= int(during_frozen) + 20_000  # the command's lists too
    assert exit_closed == "True"


def test_the_module_runs_as_a_script(tmp_path):
    """``python -m cmetrack.cli`` (how the worker's tests and some service files start it)."""
    out = run_fresh([sys.executable, "-m", "cmetrack.cli", "help"], tmp_path)
    assert "Type 'cmetrack help <subcommand>'" in out
