"""The ``cmetrack`` console command: Django's management commands with our settings.

``cmetrack migrate``, ``cmetrack runserver``, ``cmetrack demo_data --seed 1`` and so on.
The settings module defaults to the development settings (embedded SQLite under ``var/``);
operators set ``DJANGO_SETTINGS_MODULE=cmetrack.config.settings.production``.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cmetrack", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    main()
