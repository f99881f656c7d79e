"""Reader for JMeter JTL results in CSV form, as JMeter 5.6 writes them with `-l results.jtl`.

Fidelity ledger (upstream: apache/jmeter 5.6, `CSVSaveService`, `bin/jmeter.properties`):
- modelled: the header line JMeter prints (`jmeter.save.saveservice.print_field_names=true`) with any subset of its
  columns in any order, extra columns (sample variables) ignored; files without a header, read in the default
  5.6 column order `DEFAULT_COLUMNS`; CSV quoting of messages; `timeStamp` in milliseconds since the epoch, the
  sample's start (`sampleresult.timestamp.start=true` in the shipped jmeter.properties; pass
  `timestamp_is_start=False` for files written with it false); `SampleCount`/`ErrorCount` of aggregated samples.
- not modelled: XML JTL; `timestamp_format` other than `ms`; delimiters other than the one passed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from calibration.readers import _csv

DEFAULT_COLUMNS = (
    "timeStamp", "elapsed", "label", "responseCode", "responseMessage", "threadName", "dataType", "success",
    "failureMessage", "bytes", "sentBytes", "grpThreads", "allThreads", "URL", "Latency", "IdleTime", "Connect",
)
_REQUIRED = ("timeStamp", "elapsed", "label", "success")
_OPTIONAL = (*(c for c in DEFAULT_COLUMNS if c not in _REQUIRED), "SampleCount", "ErrorCount")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class Sample:
    """One JTL line. Times in ms; `start_ms`/`end_ms` are epoch ms whatever the timestamp convention."""

    start_ms: int
    elapsed_ms: int
    label: str
    success: bool
    response_code: str | None
    thread_name: str | None
    received_bytes: int | None
    sent_bytes: int | None
    all_threads: int | None
    latency_ms: int | None  # time to first byte
    connect_ms: int | None
    sample_count: int  # > 1 for an aggregated (e.g. transaction) sample
    error_count: int
    line: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.elapsed_ms


def read_jtl(
    path: str | os.PathLike[str], *, timestamp_is_start: bool = True, delimiter: str = ","
) -> tuple[Sample, ...]:
    """Every sample of a CSV JTL, in file order (JMeter writes them as they complete)."""
    spec = _csv.TableSpec(required=_REQUIRED, optional=_OPTIONAL,
                          allow_unknown=True, headerless=DEFAULT_COLUMNS, delimiter=delimiter)
    return tuple(_sample(row, timestamp_is_start=timestamp_is_start) for row in _csv.read_rows(path, spec))


def _sample(row: _csv.Row, *, timestamp_is_start: bool) -> Sample:
    stamp_text = row.text("timeStamp") or ""
    if not (stamp_text.isascii() and stamp_text.isdigit()):
        raise row.error("timeStamp", expected="milliseconds since the epoch (timestamp_format=ms)",
                        got=repr(stamp_text))
    stamp = int(stamp_text)
    elapsed = _int(row, "elapsed", required=True)
    success = _BOOLEANS.get((row.text("success") or "").lower())
    if success is None:
        raise row.error("success", expected="true or false", got=repr(row.cells.get("success", "")))
    count = _int(row, "SampleCount") or 1
    errors = _int(row, "ErrorCount")
    return Sample(
        start_ms=stamp if timestamp_is_start else stamp - elapsed,
        elapsed_ms=elapsed,
        label=row.cells["label"],
        success=success,
        response_code=row.text("responseCode"),
        thread_name=row.text("threadName"),
        received_bytes=_int(row, "bytes"),
        sent_bytes=_int(row, "sentBytes"),
        all_threads=_int(row, "allThreads"),
        latency_ms=_int(row, "Latency"),
        connect_ms=_int(row, "Connect"),
        sample_count=count,
        error_count=errors if errors is not None else (0 if success else count),
        line=row.line,
    )


def _int(row: _csv.Row, column: str, *, required: bool = False) -> int | None:
    text = row.cells.get(column, "")
    if text.isascii() and text.isdigit():  # the common case, kept fast: JTLs run to millions of lines
        return int(text)
    if not text and not required:
        return None
    value = row.number(column, minimum=0, integer=True, required=required)
    return None if value is None else int(value)
