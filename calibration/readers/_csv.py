"""Shared row machinery for the CSV readers: header checks, row line numbers, typed cells, one error shape.

Every problem becomes `twin.errors.InputError` naming the file, the 1-based line where the row starts (quoted
cells may span lines), the column, what was expected and what was found.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from twin.config import reading
from twin.errors import InputError

_OTHER_DELIMITERS = (";", "\t", "|")
_FLOAT = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
# A number, then optionally whitespace and free text kept as a note: "1 (docker compose)".
_NUMBER_WITH_NOTE = re.compile(r"\s*([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)(?:\s+(.*?))?\s*$", re.DOTALL)


def file_error(source: str, *, expected: str, got: str) -> InputError:
    return InputError(source=source, field="", expected=expected, got=got)


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text (UTF-8, BOM tolerated) through the one reading boundary: a missing, binary or mis-encoded
    file is an InputError, not an OSError. A JTL of a long load test may be large: up to 4 GiB."""
    return reading.read_text(path, max_bytes=4 * 2**30)


def parse_float(text: str) -> float | None:
    """A finite decimal number, or None; accepts a decimal comma (JMeter writes locale decimals) and Java's `1.5E8`.

    Stricter than `float()`: no "nan", "inf" or "1_000".
    """
    text = text.strip()
    if "." not in text:
        text = text.replace(",", ".", 1)
    if not _FLOAT.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Row:
    """One data row: its cells by column name, and where it sits in the file."""

    source: str
    line: int
    cells: Mapping[str, str]

    def error(self, column: str, *, expected: str, got: str) -> InputError:
        return InputError(source=self.source, line=self.line, field=column, expected=expected, got=got)

    def text(self, column: str) -> str | None:
        """The stripped cell; None when the column is absent or the cell blank ("not stated")."""
        value = self.cells.get(column, "").strip()
        return value or None

    def required_text(self, column: str) -> str:
        value = self.text(column)
        if value is None:
            raise self.error(column, expected="a value", got="an empty cell")
        return value

    def number(
        self, column: str, *, minimum: float | None = None, integer: bool = False, required: bool = False
    ) -> float | None:
        """The cell as a number (None when blank and not required); `integer` demands a whole number."""
        value, note = self.number_with_note(column, minimum=minimum, integer=integer, required=required)
        if note is not None:
            raise self.error(column, expected=_describe(integer, minimum), got=repr(self.cells[column]))
        return value

    def number_with_note(
        self, column: str, *, minimum: float | None = None, maximum: float | None = None, integer: bool = False,
        required: bool = False
    ) -> tuple[float | None, str | None]:
        """A leading number and the free text after it, e.g. "1 (docker compose)" -> (1, "(docker compose)")."""
        raw = self.text(column)
        if raw is None:
            if required:
                raise self.error(column, expected=_describe(integer, minimum), got="an empty cell")
            return None, None
        match = _NUMBER_WITH_NOTE.fullmatch(raw)
        value = parse_float(match.group(1)) if match else None
        if value is None or (integer and not value.is_integer()):
            raise self.error(column, expected=_describe(integer, minimum), got=repr(raw))
        if minimum is not None and value < minimum:
            raise self.error(column, expected=_describe(integer, minimum), got=repr(raw))
        if maximum is not None and value > maximum:
            raise self.error(column, expected=f"{_describe(integer, minimum)} and <= {maximum:g}", got=repr(raw))
        return (int(value) if integer else value), match.group(2) or None


def _describe(integer: bool, minimum: float | None) -> str:
    kind = "a whole number" if integer else "a number"
    if minimum is None:
        return kind
    return f"{kind} >= {minimum:g}"


@dataclass(frozen=True)
class TableSpec:
    """What a table must look like. `headerless` is the column order assumed when line 1 is data, not a header."""

    required: Sequence[str]
    optional: Sequence[str] = ()
    allow_unknown: bool = False
    headerless: Sequence[str] | None = None
    delimiter: str = ","


def read_rows(path: str | os.PathLike[str], spec: TableSpec) -> list[Row]:
    """Every data row of the file, checked against `spec`; blank lines are skipped."""
    source = os.fspath(path)
    return parse_rows(read_text(path), spec, source=source)


def parse_rows(text: str, spec: TableSpec, *, source: str) -> list[Row]:
    records = list(_records(text, spec.delimiter, source=source))
    if not records:
        raise file_error(source, expected=f"a header line with {', '.join(spec.required)}", got="an empty file")
    header = _header(records[0][1], spec, source=source)
    if header is None:
        header, body, shape = list(spec.headerless or ()), records, "the default column order (no header line)"
    else:
        body, shape = records[1:], "the header"
    rows = []
    for line, cells in body:
        if len(cells) != len(header):
            raise InputError(source=source, line=line, field="", expected=f"{len(header)} cells, as in {shape}",
                             got=f"{len(cells)} cells")
        rows.append(Row(source=source, line=line, cells=dict(zip(header, cells))))
    if not rows:  # a header alone would give an empty table, and every command on it would do nothing
        raise file_error(source, expected="at least one data row after the header", got="a header only")
    return rows


def _records(text: str, delimiter: str, *, source: str) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, cells) for each non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(source=source, line=start, field="", expected="well-formed CSV quoting",
                         got=str(exc)) from None


def _header(first: list[str], spec: TableSpec, *, source: str) -> list[str] | None:
    """The header's column names, or None when the first record is data of a headerless file."""
    known = set(spec.required) | set(spec.optional)
    names = [cell.strip() for cell in first]
    if len(names) == 1 and len(spec.required) > 1:
        guess = next((d for d in _OTHER_DELIMITERS if d in names[0]), None)
        hint = f" (delimiter {guess!r}?)" if guess else ""
        raise InputError(source=source, line=1, field="", expected=f"cells separated by {spec.delimiter!r}",
                         got=f"one cell {names[0][:60]!r}{hint}")
    if spec.headerless is not None and names[0] not in known:
        return None
    for name in names:
        if names.count(name) > 1:
            raise InputError(source=source, line=1, field=name, expected="each column once", got="a repeat")
        if not spec.allow_unknown and name not in known:
            raise InputError(source=source, line=1, field=name, expected=f"one of {', '.join(sorted(known))}",
                             got=f"unknown column {name!r}")
    for name in spec.required:
        if name not in names:
            raise InputError(source=source, line=1, field=name, expected=f"a column named {name!r}",
                             got=f"columns {', '.join(names)}")
    return names
