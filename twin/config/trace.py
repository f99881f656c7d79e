"""Request timestamps for trace replay, read from a CSV file (one column of seconds; a header names it)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from twin.config import reading
from twin.errors import InputError


def read_timestamps(path: Path, column: str = "timestamp", *,
                    referenced_from: tuple[str, int | None] | None = None) -> np.ndarray:
    """Sorted timestamps relative to the first one, in seconds."""
    if not path.is_file():
        source, line = referenced_from or (str(path), None)
        raise InputError(source, "workload.path", "an existing CSV trace file", repr(str(path)), line)
    rows = csv.reader(io.StringIO(reading.read_text(path), newline=""), strict=True)
    try:
        header = next(rows, None)
        if header is None or column not in header:
            raise InputError(str(path), column, f"a header row with a {column!r} column",
                             repr(header) if header else "an empty file", 1)
        index = header.index(column)
        values = [_seconds(path, column, row, index, rows.line_num) for row in rows if row]
    except csv.Error as error:
        raise InputError(str(path), "", "well-formed CSV", str(error), rows.line_num) from None
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
