"""Errors for user mistakes: one clear line naming the file, line, field, what was expected and what was got.

The CLI prints `InputError` as that one line and exits 2, never with a traceback.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """A user input (scenario, manifest, CSV, JTL, metrics text) is wrong."""

    source: str  # file name, or a description such as "<string>"
    field: str  # dotted path, column name, or "" when the whole input is wrong
    expected: str
    got: str
    line: int | None = None  # 1-based; for tables, the row's line in the file

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} expected {self.expected}, got {self.got}"


class Stalled(RuntimeError):
    """Simulated time stopped advancing: the model is livelocked (a bug of ours, never a user's mistake)."""
