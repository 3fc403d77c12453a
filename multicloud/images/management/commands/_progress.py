"""A plain-text progress bar on stderr for the image commands (no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``[#####.....]  45%  90.0/200.0 MiB  85.3 MiB/s``, redrawn at most 10 times a second."""

    def __init__(self, total: int | None, label: str, stream=None, width: int = 30):
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self.drawn = 0.0

    def add(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.drawn >= 0.1:
            self.drawn = now
            self.draw()

    def draw(self, end: str = "") -> None:
        mib = self.done / (1 << 20)
        rate = mib / max(time.monotonic() - self.started, 1e-6)
        if self.total:
            filled = int(self.width * self.done / self.total)
            bar = "#" * filled + "." * (self.width - filled)
            line = (
                f"{self.label} [{bar}] {100 * self.done / self.total:3.0f}%  "
                f"{mib:.1f}/{self.total / (1 << 20):.1f} MiB  {rate:.1f} MiB/s"
            )
        else:
            line = f"{self.label} {mib:.1f} MiB  {rate:.1f} MiB/s"
        self.stream.write(f"\r{line}{end}")
        self.stream.flush()

    def finish(self) -> None:
        self.draw(end="\n")


class ProgressReader:
    """A file wrapper whose reads move a :class:`Progress`."""

    def __init__(self, handle, progress: Progress):
        self.handle = handle
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.progress.add(len(data))
        return data
