"""The write journal: an append-only JSON-lines file, flushed and fsynced before a write is sent.

Each write leaves an `intent` line (with its key and target state) before it goes out and an outcome line after
(`applied`, `failed`, `unchanged`, `refused`, `dry-run`, `halted`). After a crash the lines with an intent and no
outcome are the writes that may or may not have reached the cluster. Nothing is sent again blindly: a resumed replay
re-offers such a write to the gate, which sends it only if the cluster does not already hold its target state.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.config import reading
from twin.errors import InputError


@dataclass(frozen=True)
class Entry:
    seq: int
    key: str  # what identifies the action across restarts: a replay's decision index, or the write's target
    event: str  # intent | applied | failed | unchanged | refused | dry-run | halted
    record: dict[str, Any]


class Journal:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: list[Entry] = _read(path) if path is not None and path.exists() else []
        self._stream = None  # opened at the first line: a run that writes nothing leaves no file

    def log(self, key: str, event: str, **record: Any) -> int:
        seq = len(self.entries)
        entry = Entry(seq, key, event, record)
        self.entries.append(entry)
        if self.path is not None:
            if self._stream is None:
                self._stream = self.path.open("a", encoding="utf-8")
            self._stream.write(json.dumps({"seq": seq, "key": key, "event": event, **record}) + "\n")
            self._stream.flush()
            os.fsync(self._stream.fileno())
        return seq

    def unsettled(self) -> list[Entry]:
        """Intents whose outcome was never written: a crash came between sending and recording."""
        last: dict[str, Entry] = {}
        for entry in self.entries:
            last[entry.key] = entry
        return [entry for entry in last.values() if entry.event == "intent"]

    def done(self) -> set[str]:
        """Keys whose last line says the cluster holds (or held) their target state."""
        last: dict[str, str] = {}
        for entry in self.entries:
            last[entry.key] = entry.event
        return {key for key, event in last.items() if event in ("applied", "unchanged")}

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


def _read(path: Path) -> list[Entry]:
    entries = []
    lines = reading.read_text(path).splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entries.append(Entry(int(data.pop("seq")), str(data.pop("key")), str(data.pop("event")), data))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            if number == len(lines):
                break  # a line torn by a crash mid-write: the write it began was never sent
            raise InputError(str(path), "", "a ServeTwin write journal (JSON lines)", line[:60].strip(),
                             number) from None
    return entries
