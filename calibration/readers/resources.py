"""Reader for `resources.csv`: readings transcribed from htop, nvtop, nvidia-smi and kubectl screenshots.

Each numeric column has a documented unit; a cell becomes a tuple of numbers in that unit when the whole cell is
numeric, and stays prose (`values is None`) otherwise. Rules, from the way the table was transcribed:
- items are `;`-separated in on-screen order (`/` for min/med/max, used/total and power/cap columns);
- an empty item is a reading hidden on screen and becomes None ("2.6;;12.6");
- `N x K` repeats a reading K times ("1868 x25", "14.7G x20");
- a parenthesised remark is a note, kept only in `raw` ("2755.9 (memoryUsage 2889723904 bytes)");
- memory as displayed: htop `K`/`M`/`G` are KiB/MiB/GiB, nvtop `Gi`, nvidia-smi `MiB`, kubectl `Ki`; all become MiB;
- CPU% is % of one core; htop TIME+ (`m:ss.cc`, `h:mm:ss`) becomes seconds.
A numeric-looking item with an unknown unit ("12T") or a negative reading is an InputError, not prose.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from calibration.readers import _csv
from twin.errors import InputError

_KIB, _MIB, _GIB = 1 / 1024, 1.0, 1024.0
_MEMORY = {"": _MIB, "K": _KIB, "Ki": _KIB, "KiB": _KIB, "M": _MIB, "Mi": _MIB, "MiB": _MIB,
           "G": _GIB, "Gi": _GIB, "GiB": _GIB}


@dataclass(frozen=True)
class _Kind:
    unit: str
    scales: Mapping[str, float]  # displayed suffix -> factor to `unit`
    separator: str = ";"


_PCT = {"": 1.0, "%": 1.0}
_MEM, _MEM_PAIR = _Kind("MiB", _MEMORY), _Kind("MiB", _MEMORY, "/")
_PCT, _PCT_TRIPLE = _Kind("%", _PCT), _Kind("%", _PCT, "/")
_NUM, _WATTS_PAIR = _Kind("", {"": 1.0}), _Kind("W", {"": 1.0, "W": 1.0}, "/")
_RATE = _Kind("MiB/s", {"KiB/s": _KIB, "MiB/s": _MIB, "GiB/s": _GIB})
_CLOCK = _Kind("s", {})  # parsed by _clock_seconds

NUMERIC_COLUMNS: Mapping[str, _Kind] = {
    "n_cpus_shown": _NUM, "cpu_per_core_pct": _PCT, "cpu_per_core_mean_pct_derived": _PCT,
    "load_avg_1_5_15": _NUM, "mem_used_total": _MEM_PAIR, "swap": _MEM_PAIR, "gpu_util_pct": _PCT,
    "gpu_mem_used": _MEM, "gpu_mem_total": _MEM, "gpu_power_w_cap": _WATTS_PAIR, "gpu_temp_c": _NUM,
    "gpu_clock_mhz": _NUM, "gpu_mem_clock_mhz": _NUM, "pcie_rx": _RATE, "pcie_tx": _RATE,
    "n_worker_procs_visible": _NUM, "worker_pids": _NUM, "worker_cpu_pct": _PCT, "worker_cpu_min_med_max": _PCT_TRIPLE,
    "worker_res_mib": _MEM, "worker_shr": _MEM, "worker_virt": _MEM, "worker_time_plus": _CLOCK,
    "worker_gpu_pct": _PCT, "worker_gpu_mem_mib": _MEM, "worker_host_mem_mib_nvtop": _MEM,
    "frontend_java_pids": _NUM, "frontend_java_res": _MEM, "frontend_java_cpu_pct": _PCT, "frontend_java_virt": _MEM,
}
TEXT_COLUMNS = (
    "file", "run_id", "assignment_basis", "tool", "screenshot_local_time", "host_or_context", "node_uptime",
    "tasks_threads_running", "gpu_name", "pcie", "worker_thread_rows_visible_cpu_range", "other_processes",
    "gpu_trace_description", "notes",
)
_SPEC = _csv.TableSpec(required=("file", "run_id", "tool"), optional=(*TEXT_COLUMNS, *NUMERIC_COLUMNS))

_ITEM = re.compile(r"(\d+(?:\.\d+)?)\s*([A-Za-z%/]*)(?:\s+x(\d+))?")
_NEGATIVE = re.compile(r"-\d")
_CLOCK_TEXT = re.compile(r"(?:(\d+):)?(\d+):(\d\d(?:\.\d+)?)(?:\s+x(\d+))?")
_REMARK = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass(frozen=True)
class Cell:
    raw: str
    values: tuple[float | None, ...] | None  # None: the cell is prose; a None item: a reading hidden on screen
    unit: str  # unit of `values`: "MiB", "%", "s", "MiB/s", "W" or "" (a count or plain number)


@dataclass(frozen=True)
class ResourceReading:
    """One screenshot (or text) tied to a run; `cells` holds every non-blank column, prose or numeric."""

    line: int
    file: str
    run_id: str  # as written, e.g. "A100-ROB-25p1w-u5" or "(setup, no run)"
    tool: str
    cells: Mapping[str, Cell]

    def values(self, column: str) -> tuple[float | None, ...] | None:
        """The numbers of a numeric column; None when the cell is blank or prose."""
        cell = self.cells.get(column)
        return None if cell is None else cell.values

    def value(self, column: str) -> float | None:
        """The single number of a one-reading cell (e.g. `gpu_util_pct`); None when blank, prose or hidden."""
        numbers = self.values(column)
        return numbers[0] if numbers is not None and len(numbers) == 1 else None


def read_resources(path: str | os.PathLike[str]) -> tuple[ResourceReading, ...]:
    return tuple(_reading(row) for row in _csv.read_rows(path, _SPEC))


def _reading(row: _csv.Row) -> ResourceReading:
    cells = {column: _cell(row, column) for column in row.cells if row.text(column) is not None}
    return ResourceReading(line=row.line, file=row.required_text("file"), run_id=row.required_text("run_id"),
                           tool=row.required_text("tool"), cells=cells)


def _cell(row: _csv.Row, column: str) -> Cell:
    raw = row.required_text(column)
    kind = NUMERIC_COLUMNS.get(column)
    if kind is None:
        return Cell(raw=raw, values=None, unit="")

    def fail(got: str) -> InputError:
        return row.error(column, expected=f"readings in {kind.unit or 'plain numbers'} ({_units(kind)})", got=got)

    return Cell(raw=raw, values=_values(raw, kind, fail=fail), unit=kind.unit)


def _units(kind: _Kind) -> str:
    if kind is _CLOCK:
        return "m:ss.cc or h:mm:ss"
    suffixes = [repr(suffix) for suffix in kind.scales if suffix]
    return "units " + ", ".join(suffixes) if suffixes else "no unit"


def _values(raw: str, kind: _Kind, *, fail: Callable[[str], Exception]) -> tuple[float | None, ...] | None:
    values: list[float | None] = []
    for item in split_items(raw, kind.separator):
        parsed = _item(_REMARK.sub("", item), kind, fail=fail)
        if parsed is None:  # one prose item makes the whole cell prose
            return None
        values.extend(parsed)
    return tuple(values)


def _item(item: str, kind: _Kind, *, fail: Callable[[str], Exception]) -> tuple[float | None, ...] | None:
    if not item:
        return (None,)
    if _NEGATIVE.match(item):
        raise fail(f"negative reading {item!r}")
    if kind is _CLOCK:
        return _clock_seconds(item)
    match = _ITEM.fullmatch(item)
    if match is None:
        return None
    number, suffix, repeat = match.groups()
    if suffix not in kind.scales:
        raise fail(f"unit {suffix!r} in {item!r}")
    return (float(number) * kind.scales[suffix],) * int(repeat or 1)


def _clock_seconds(item: str) -> tuple[float, ...] | None:
    match = _CLOCK_TEXT.fullmatch(item)
    if match is None:
        return None
    hours, minutes, seconds, repeat = match.groups()
    total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return (total,) * int(repeat or 1)


def split_items(raw: str, separator: str) -> list[str]:
    """Split on `separator` outside parentheses: "33 (container PID; worker 9000)" is one item."""
    items, depth, current = [], 0, []
    for char in raw:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == separator and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    items.append("".join(current).strip())
    return items
