from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def attendance_dir(settings: Any, tmp_path: Path) -> Path:
    """Each test reads and writes its own attendance Parquet files."""
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    return tmp_path / "attendance"
