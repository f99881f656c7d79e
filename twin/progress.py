"""Progress on stderr for commands that take more than a moment: `[#####     ] 3/16 folds  1m05s, about 4m left`.

One line redrawn in place, shown only on a terminal, only once the work has taken more than a moment, never with
`--quiet`; it ends with a newline when the work ends. stdout, which carries the answer, is never touched.

    with Progress(len(folds), "folds", quiet=args.quiet) as progress:
        for fold in folds:
            ...
            progress.advance()
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
CLEAR_TO_END = "\x1b[K"  # a shorter line must not leave the tail of a longer one behind


class Progress:
    """`done` of `total` units; `note` adds what the caller knows (failures, speed)."""

    def __init__(self, total: float, unit: str, *, quiet: bool = False, stream: TextIO | None = None,
                 after_s: float = 1.0) -> None:
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.after_s = after_s
        self.started = time.perf_counter()
        self.done = 0.0
        self.shown = False

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def update(self, done: float, note: str = "") -> None:
        self.done = done
        elapsed = self.elapsed_s
        if not self.enabled or elapsed < self.after_s:
            return
        self.shown = True
        self.stream.write("\r" + line(done, self.total, self.unit, elapsed, note) + CLEAR_TO_END)
        self.stream.flush()

    def step(self, done: float, total: float, note: str = "") -> None:
        """`update` for work that reports (done, total) callbacks, its total known as it goes."""
        self.total = total
        self.update(done, note)

    def advance(self, amount: float = 1, note: str = "") -> None:
        self.update(self.done + amount, note)

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def line(done: float, total: float, unit: str, elapsed_s: float, note: str = "") -> str:
    """The bar, the count, the time taken and, while work remains, the time left at the pace so far."""
    fraction = min(done / total, 1.0) if total > 0 else 1.0
    left = f", about {duration(elapsed_s * (1 - fraction) / fraction)} left" if 0 < fraction < 1 else ""
    bar = "#" * int(WIDTH * fraction)
    extra = f"  {note}" if note else ""
    return f"[{bar:<{WIDTH}}] {done:,.0f}/{total:,.0f} {unit}{extra}  {duration(elapsed_s)}{left}"


def duration(seconds: float) -> str:
    """4s, 1m05s, 2h03m: as precise as a glance needs."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
