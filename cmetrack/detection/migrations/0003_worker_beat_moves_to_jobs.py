"""The import worker's heartbeat moves to the jobs app (``jobs.WorkerBeat``, written by
``cmetrack worker``). A heartbeat is only worth its last ten seconds, so none is copied.

Runs the old ``import_worker`` left behind stay sane without a data step: a ``queued`` run
is given a task by the worker's watchdog (``imports-watchdog``, every minute); a
``running`` one, whose old worker no longer beats, is failed by the stale-import check
within a minute, saying that nothing was imported.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("detection", "0002_import_jobs"),
        ("jobs", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="ImportWorkerBeat"),
    ]
