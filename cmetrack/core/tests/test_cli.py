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
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "SECRET_KEY"}
    }
    env["CMETRACK_VAR_DIR"] = str(tmp_path / "var")
    # This checkout's code, whichever copy the console script was installed from.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(  # noqa: S603  (the installed console script, fixed arguments)
        [
            script,
            "shell",
            "-c",
            "from django.conf import settings; "
            "print(settings.SETTINGS_MODULE, settings.DATABASES['default']['NAME'])",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    module, database = result.stdout.strip().splitlines()[-1].split()
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
