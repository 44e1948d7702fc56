"""Common Transfer Files and the lost-pupil area."""

from __future__ import annotations

from django.db import models  # noqa: F401
