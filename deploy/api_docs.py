#!/usr/bin/env python3
"""Rewrite docs/api.md's generated parts (the endpoint table from the OpenAPI document, the
kinds of problem), or with --check exit 1 if they are stale.

    .venv/bin/python deploy/api_docs.py [--check]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")

import django

django.setup()

from cmetrack.config.apidocs import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
