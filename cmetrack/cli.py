"""The ``cmetrack`` console command: Django's management commands with our settings.

``cmetrack migrate``, ``cmetrack runserver``, ``cmetrack demo_data --seed 1`` and so on.
The settings module defaults to the development settings (embedded SQLite under ``var/``);
operators set ``DJANGO_SETTINGS_MODULE=cmetrack.config.settings.production``.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.dev")
    from django.core.management import execute_from_command_line

    atexit.unregister(_at_exit)  # once, however often main runs in one process
    atexit.register(_at_exit)
    execute_from_command_line(["cmetrack", *(sys.argv[1:] if argv is None else argv)])


def _at_exit() -> None:
    """When the process ends: close this thread's database connections (SQLite folds its
    write-ahead log into the database here, in the open), then freeze the garbage
    collector's objects.

    A command leaves a large heap behind it (Django's apps and models, the command's own
    data), and the interpreter's collections while it shuts down walk all of it several
    times: 0.3-0.5 s of every command's wall time at full size (``cmetrack detect``,
    ``cmetrack import_data``; ADR 0009), to find nothing that matters once the process
    ends. Frozen, the objects are still released; only objects in reference cycles are
    left to the operating system with the rest of the process's memory. Files and
    connections are closed by the code that opened them (and the connections here)."""
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
    gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()
