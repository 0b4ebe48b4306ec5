"""A one-line progress bar for people: drawn on stderr only when it is a terminal, redrawn in place,
cleared when done (scripts, pipes and CI logs see nothing of it)."""

from __future__ import annotations

import sys
import time


class Bar:
    """``label [#########           ] 12/40``; :meth:`update` with the count done, :meth:`close` at the end."""

    def __init__(self, label: str, total: int, *, unit: str = "", enabled: bool | None = None, rate: bool = False):
        self.label, self.total, self.unit, self.rate = label, max(1, int(total)), unit, rate
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.shown = False
        self.start = time.monotonic()

    def update(self, done: int, *_ignored) -> None:
        if not self.enabled:
            return
        frac = min(1.0, max(0.0, done / self.total))
        count = f"{int(100 * frac):3d}%" if self.unit == "%" else f"{done}/{self.total}{self.unit}"
        if self.rate:
            count += f" {done / max(1e-9, time.monotonic() - self.start):6.1f}/s"
        sys.stderr.write(f"\r{self.label} [{'#' * int(30 * frac):<30}] {count}")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False
