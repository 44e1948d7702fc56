"""Start-up stays cheap: ``django.setup()`` (every ``cmetrack`` command, the web server,
the worker) does not import the heavy libraries that only detection, the importers and the
search index use. They are imported where they are used (``cmetrack/kit/lazy.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = "import json, sys, django\ndjango.setup()\nprint(json.dumps(sorted(sys.modules)))\n"


def _modules_after_setup() -> set[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cmetrack.config.settings.dev"}
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    return _modules_after_setup()


def test_setup_does_not_import_duckdb_or_the_detection_engine(loaded: set[str]) -> None:
    assert "duckdb" not in loaded
    assert "cmetrack.detection.spark" not in loaded


@pytest.mark.parametrize("library", ["numpy", "pyarrow"])
def test_setup_does_not_import_numpy_or_pyarrow(loaded: set[str], library: str) -> None:
    assert library not in loaded


def test_the_lazy_module_imports_on_first_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c",
         "import sys\n"
         "from cmetrack.kit import lazy\n"
         "m = lazy.module('wave')\n"
         "before = 'wave' in sys.modules\n"
         "m.WAVE_FORMAT_PCM\n"
         "print(before, 'wave' in sys.modules, repr(m).endswith('loaded>'))\n"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.split() == ["False", "True", "True"]
