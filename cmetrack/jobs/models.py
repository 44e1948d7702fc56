from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerBeat(models.Model):
    """A running ``cmetrack worker`` says it is alive, about every ten seconds.

    One row a worker process (``host:pid``); the row goes when the worker stops cleanly.
    A row not refreshed for :data:`cmetrack.jobs.status.ALIVE_WITHIN` is a dead worker.
    """

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=100, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "worker heartbeat"

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%H:%M:%S}"
