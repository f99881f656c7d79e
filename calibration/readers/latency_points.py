"""Reader for `latency_points.csv`: JMeter Response Time Graph points (mean latency per 10-s bucket), read off images.

`shows_run_id` is the run whose data the picture really shows (some images were copies of other runs' graphs).
"""
from __future__ import annotations

import datetime
import os
from collections import defaultdict
from dataclasses import dataclass

from calibration.readers import _csv

_SPEC = _csv.TableSpec(required=("file", "shows_run_id", "point_index", "bucket_label", "response_ms"))


@dataclass(frozen=True)
class LatencyPoint:
    file: str
    shows_run_id: str
    point_index: int  # 0-based position on the graph's time axis
    bucket: datetime.time  # the graph's x-axis label (local wall-clock time of the bucket)
    response_ms: float
    line: int


def read_latency_points(path: str | os.PathLike[str]) -> tuple[LatencyPoint, ...]:
    """Every point, in file order; (file, point_index) pairs must be unique."""
    points = []
    seen: set[tuple[str, int]] = set()
    for row in _csv.read_rows(path, _SPEC):
        point = _point(row)
        key = (point.file, point.point_index)
        if key in seen:
            raise row.error("point_index", expected="one point per index and file",
                            got=f"index {point.point_index} again")
        seen.add(key)
        points.append(point)
    return tuple(points)


def series_by_run(points: tuple[LatencyPoint, ...]) -> dict[str, tuple[LatencyPoint, ...]]:
    """The points of each run (by `shows_run_id`), ordered by graph position."""
    runs: dict[str, list[LatencyPoint]] = defaultdict(list)
    for point in points:
        runs[point.shows_run_id].append(point)
    return {run: tuple(sorted(series, key=lambda p: (p.file, p.point_index))) for run, series in runs.items()}


def _point(row: _csv.Row) -> LatencyPoint:
    label = row.required_text("bucket_label")
    try:
        bucket = datetime.time.fromisoformat(label)
    except ValueError:
        raise row.error("bucket_label", expected="a time HH:MM:SS", got=repr(label)) from None
    return LatencyPoint(
        file=row.required_text("file"),
        shows_run_id=row.required_text("shows_run_id"),
        point_index=int(row.number("point_index", minimum=0, integer=True, required=True)),
        bucket=bucket,
        response_ms=float(row.number("response_ms", minimum=0, required=True)),
        line=row.line,
    )
