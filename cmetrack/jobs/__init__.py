"""Background work on django-q2 (docs/adr/0011-background-jobs-django-q2.md).

A low layer: it imports Django, django_q, and at most cmetrack.audit and
cmetrack.organisations. Other apps import it (never the reverse):

* :mod:`cmetrack.jobs.registry`: apps register their schedules in their ``jobs`` module;
  :func:`~cmetrack.jobs.registry.sync_schedules` makes django-q2's ``Schedule`` rows match;
* :mod:`cmetrack.jobs.services`: :func:`~cmetrack.jobs.services.enqueue` a task;
* :mod:`cmetrack.jobs.status`: is a worker alive, how deep is the queue (health, metrics);
* ``cmetrack worker``: the one worker command (the cluster and its heartbeat).
"""
