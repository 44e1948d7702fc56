"""A command-line progress bar for imports: redrawn in place on a terminal, plain lines
(at most one per 10 % or per stage) when the output is a file or a pipe."""

from __future__ import annotations

import time
from typing import Any


class ProgressBar:
    """A :data:`cmetrack.detection.imports.ProgressListener` writing to ``out``."""

    WIDTH = 30

    def __init__(self, out: Any, *, tty: bool | None = None) -> None:
        """``out``: a text stream (``write``, ``flush``, ``isatty``)."""
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.started = time.monotonic()
        self._stage = ""
        self._last_tenth = -1
        self._drawn = False

    def __call__(self, done: int, total: int | None, stage: str) -> None:
        percent = min(100, int(100 * done / total)) if total else None
        counts = f"{done:,} of {total:,} rows" if total else f"{done:,} rows"
        if self.tty:
            filled = (percent or 0) * self.WIDTH // 100
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            shown = f"{percent:3d}%" if percent is not None else "  ? "
            self.out.write(f"\r{stage[:28]:<28} [{bar}] {shown} {counts}\x1b[K")
            self.out.flush()
            self._drawn = True
            return
        tenth = (percent or 0) // 10
        if stage != self._stage or tenth != self._last_tenth:
            self._stage, self._last_tenth = stage, tenth
            shown = f"{percent}%" if percent is not None else "started"
            self.out.write(f"{stage}: {shown} ({counts})\n")
            self.out.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.out.write("\n")
        self.out.flush()
