"""A one-line progress bar on standard error: rows/s and tokens/s, and how far through the input. Silent when
standard error is not a terminal (logs of batch jobs stay clean)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


class Progress:
    def __init__(self, total_bytes: int, *, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total_bytes = total_bytes
        self.started = time.perf_counter()
        self.last_drawn = 0.0
        self.rows = 0
        self.tokens = 0

    def update(self, rows: int, tokens: int, bytes_done: int) -> None:
        self.rows += rows
        self.tokens += tokens
        now = time.perf_counter()
        if self.enabled and now - self.last_drawn >= 0.1:
            self.last_drawn = now
            self._draw(bytes_done, now)

    def _draw(self, bytes_done: int, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        share = min(bytes_done / self.total_bytes, 1.0) if self.total_bytes else 0.0
        bar = "#" * int(share * 24)
        line = (
            f"\r[{bar:<24}] {share:4.0%}  {self.rows:,} rows  {_si(self.rows / elapsed)} rows/s  "
            f"{_si(self.tokens / elapsed)} tok/s  {elapsed:.0f}s"
        )
        self.stream.write(line)
        self.stream.flush()

    def close(self, bytes_done: int) -> None:
        if self.enabled:
            self._draw(bytes_done, time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started
