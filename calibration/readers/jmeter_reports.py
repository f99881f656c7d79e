"""Reader for the CSV tables JMeter's Summary Report and Aggregate Report listeners save ("Save Table Data").

Fidelity ledger (upstream: apache/jmeter 5.6, `visualizers.SummaryReport`, `StatGraphVisualizer`,
`messages.properties`):
- Summary Report columns: Label, # Samples, Average, Min, Max, Std. Dev., Error %, Throughput, Received KB/sec,
  Sent KB/sec, Avg. Bytes. Aggregate Report: Label, # Samples, Average, Median, 90% Line, 95% Line, 99% Line, Min,
  Max, Error %, Throughput, Received KB/sec, Sent KB/sec (the three percentiles follow `aggregate_rpt_pct1..3`, so any
  "N% Line" column is read). JMeter before 3.1 wrote "KB/sec" for received bytes; it is read too.
- values as saved: Average and percentiles are whole ms, Error % a percentage with its sign ("0.000%"), Throughput
  per second ("#.00000", so ".50000"), KB/sec with two decimals; a locale decimal comma is accepted.
- the TOTAL row is kept (label "TOTAL"); a table saved without its header cannot be told apart and is refused.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from calibration.readers import _csv

_REQUIRED = ("Label", "# Samples", "Average", "Min", "Max", "Error %", "Throughput")
_OPTIONAL = ("Median", "Std. Dev.", "Received KB/sec", "KB/sec", "Sent KB/sec", "Avg. Bytes")
_SPEC = _csv.TableSpec(required=_REQUIRED, optional=_OPTIONAL, allow_unknown=True)
_PERCENT_LINE = re.compile(r"(\d+(?:\.\d+)?)% Line")
_PERCENT = re.compile(r"\s*(.+?)\s*%\s*")


@dataclass(frozen=True)
class ReportRow:
    """One label's row; times in ms, throughput in samples per second, rates in KiB per second."""

    label: str
    samples: int
    average_ms: float
    min_ms: float
    max_ms: float
    error_pct: float
    throughput_rps: float
    median_ms: float | None  # Aggregate Report only
    percentiles_ms: Mapping[float, float]  # e.g. {90.0: 120, 95.0: 130, 99.0: 180}; Aggregate Report only
    std_dev_ms: float | None  # Summary Report only
    received_kb_per_s: float | None
    sent_kb_per_s: float | None
    avg_bytes: float | None  # Summary Report only
    line: int


def read_jmeter_report(path: str | os.PathLike[str]) -> tuple[ReportRow, ...]:
    return tuple(_report_row(row) for row in _csv.read_rows(path, _SPEC))


def _report_row(row: _csv.Row) -> ReportRow:
    def number(column: str) -> float | None:
        return row.number(column, minimum=0)

    def required(column: str) -> float:
        return float(row.number(column, minimum=0, required=True))

    received = "Received KB/sec" if "Received KB/sec" in row.cells else "KB/sec"
    return ReportRow(
        label=row.cells["Label"],
        samples=int(row.number("# Samples", minimum=0, integer=True, required=True)),
        average_ms=required("Average"), min_ms=required("Min"), max_ms=required("Max"),
        error_pct=_error_pct(row), throughput_rps=required("Throughput"),
        median_ms=number("Median"), percentiles_ms=_percentiles(row), std_dev_ms=number("Std. Dev."),
        received_kb_per_s=number(received), sent_kb_per_s=number("Sent KB/sec"), avg_bytes=number("Avg. Bytes"),
        line=row.line,
    )


def _percentiles(row: _csv.Row) -> dict[float, float]:
    lines = {}
    for column in row.cells:
        match = _PERCENT_LINE.fullmatch(column.strip())
        if match:
            lines[float(match.group(1))] = float(row.number(column, minimum=0, required=True))
    return lines


def _error_pct(row: _csv.Row) -> float:
    raw = row.cells["Error %"]
    match = _PERCENT.fullmatch(raw)
    value = _csv.parse_float(match.group(1)) if match else None
    if value is None or not 0 <= value <= 100:
        raise row.error("Error %", expected='a percentage such as "0.00%"', got=repr(raw))
    return value
