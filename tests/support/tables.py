"""CSV tables for tests: the rows of a runs.csv that a test keeps."""
from __future__ import annotations

import csv
from pathlib import Path


def subset(source: Path, ids: set[str], target: Path) -> Path:
    """Write the rows of `source` whose id is in `ids` to `target`, same columns, same order."""
    with source.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows, columns = [row for row in reader if row["id"] in ids], reader.fieldnames
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return target
