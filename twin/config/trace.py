"""Request timestamps for trace replay, read from a CSV file (one column of seconds; a header names it)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from twin.errors import InputError


def read_timestamps(path: Path, column: str = "timestamp", *,
                    referenced_from: tuple[str, int | None] | None = None) -> np.ndarray:
    """Sorted timestamps relative to the first one, in seconds."""
    if not path.is_file():
        source, line = referenced_from or (str(path), None)
        raise InputError(source, "workload.path", "an existing CSV trace file", repr(str(path)), line)
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None or column not in header:
            raise InputError(str(path), column, f"a header row with a {column!r} column",
                             repr(header) if header else "an empty file", 1)
        index = header.index(column)
        values = [_seconds(path, column, row, index, number) for number, row in enumerate(rows, start=2) if row]
    if not values:
        raise InputError(str(path), column, "at least one timestamp", "none", 2)
    times = np.sort(np.asarray(values, dtype=float))
    return times - times[0]


def _seconds(path: Path, column: str, row: list[str], index: int, line: int) -> float:
    try:
        value = float(row[index])
    except (ValueError, IndexError):
        raise InputError(str(path), column, "a number of seconds",
                         repr(row[index]) if index < len(row) else "a short row", line) from None
    if not np.isfinite(value):
        raise InputError(str(path), column, "a finite number of seconds", repr(row[index]), line)
    return value
