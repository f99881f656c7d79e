"""TorchServe's config.properties, read verbatim (Java properties syntax, `models=` JSON included).

Fidelity ledger — upstream: pytorch/serve 0.12 docs/configuration.md, ConfigManager.java; java.util.Properties.load.
Modelled: job_queue_size, default_response_timeout, default_workers_per_model, and per-model minWorkers,
maxWorkers, batchSize, maxBatchDelay, responseTimeout, jobQueueSize from `models=`. Other keys are read and ignored.
The file is ISO-8859-1, as `java.util.Properties.load(InputStream)` reads it (ConfigManager loads it so); escapes
(`\\uXXXX`, `\\t`, `\\=` ...) and separators (`=`, `:` or whitespace) are Java's. These settings are ints in
TorchServe (`Integer.parseInt`, Gson's `getAsInt`), so a fraction is refused. maxWorkers below minWorkers is refused
with the management API's rule. A mistake names the file's own key (`models.maxWorkers`, `job_queue_size`) and the
line it is on, never the twin's field name.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from twin.config import reading
from twin.errors import InputError

# config.properties key (server-wide) -> ModelConfig field
_SERVER_KEYS = {"job_queue_size": "job_queue_size", "default_response_timeout": "response_timeout_s",
                "default_workers_per_model": "min_workers"}
# models={"name": {"version": {...}}} key -> ModelConfig field
MODEL_KEYS = {"minWorkers": "min_workers", "maxWorkers": "max_workers", "batchSize": "batch_size",
              "maxBatchDelay": "max_batch_delay_ms", "responseTimeout": "response_timeout_s",
              "jobQueueSize": "job_queue_size"}
_JAVA_SPACE = " \t\f"  # Properties.load's whitespace
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


@dataclass(frozen=True)
class _Entry:
    value: str
    line: int  # where the entry starts
    text: tuple[str, ...]  # its physical lines, for the line of a key inside a value continued over lines


@dataclass(frozen=True)
class FileSettings:
    """ModelConfig fields a config.properties sets, the line of each, and the key of the file that set each."""

    path: Path
    values: dict[str, float | int]
    lines: dict[tuple, int]
    keys: dict[str, str]

    def in_file_terms(self, error: InputError) -> InputError:
        """`error` about the twin's fields, told in the file's keys (`min_workers` -> `models.minWorkers`)."""
        def key(field: str) -> str:
            return self.keys.get(field) or next(k for k, f in MODEL_KEYS.items() if f == field)
        names = re.compile(r"\b(" + "|".join(sorted(set(MODEL_KEYS.values()), key=len, reverse=True)) + r")\b")
        field = key(error.field) if error.field in MODEL_KEYS.values() else error.field
        expected = names.sub(lambda match: key(match.group(1)), error.expected)
        line = self.lines.get((error.field,), error.line)
        return InputError(str(self.path), field, expected, error.got, line)


def read_properties(path: Path) -> dict[str, tuple[str, int]]:
    """key -> (value, line) of a Java properties file (`=`, `:` or whitespace separators, `#`/`!` comments,
    `\\` joins lines)."""
    return {key: (entry.value, entry.line) for key, entry in _entries(path).items()}


def _entries(path: Path) -> dict[str, _Entry]:
    result: dict[str, _Entry] = {}
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(reading.read_text(path, encoding="iso-8859-1").splitlines(), start=1):
        line = raw.lstrip(_JAVA_SPACE)
        if not pending and (not line or line[0] in "#!"):
            continue
        if not pending:
            start = number
        pending.append(raw)
        if _continues(line):
            continue
        logical = "".join(part.lstrip(_JAVA_SPACE)[:-1] for part in pending[:-1]) + line
        key, value = _split(logical)
        key = _unescape(key, path, start, "")
        result[key] = _Entry(_unescape(value.strip(), path, start, key), start, tuple(pending))
        pending = []
    return result


def _continues(line: str) -> bool:
    """An odd number of backslashes ends a line that goes on (an even number is escaped backslashes)."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split(line: str) -> tuple[str, str]:
    """Java's rule: the key ends at the first unescaped `=`, `:` or whitespace; whitespace, then one `=` or `:`,
    then whitespace, separate it from the value."""
    index, escaped = 0, False
    while index < len(line) and (escaped or line[index] not in "=:" + _JAVA_SPACE):
        escaped = line[index] == "\\" and not escaped
        index += 1
    rest = line[index:].lstrip(_JAVA_SPACE)
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(_JAVA_SPACE)
    return line[:index], rest


def _unescape(text: str, path: Path, line: int, key: str) -> str:
    def one(match: re.Match) -> str:
        if match["char"] is not None:
            return _ESCAPES.get(match["char"], match["char"])
        if not re.fullmatch(r"[0-9a-fA-F]{4}", match["hex"]):
            raise InputError(str(path), key, "a \\uXXXX escape of four hex digits (Java refuses a malformed one)",
                             repr("\\u" + match["hex"]), line)
        return chr(int(match["hex"], 16))
    return _ESCAPE.sub(one, text)


_ESCAPE = re.compile(r"\\(?:u(?P<hex>.{0,4})|(?P<char>.))", re.DOTALL)


def model_settings(path: Path) -> FileSettings:
    """ModelConfig fields from a config.properties; per-model `models=` values win over server defaults."""
    entries = _entries(path)
    values: dict[str, float | int] = {}
    lines: dict[tuple, int] = {}
    keys: dict[str, str] = {}
    for key, field in _SERVER_KEYS.items():
        if key in entries:
            values[field] = _whole(path, key, entries[key].value, entries[key].line)
            lines[(field,)], keys[field] = entries[key].line, key
    if "models" in entries:
        for key, (value, line) in _models_json(path, entries["models"]).items():
            field = MODEL_KEYS[key]
            values[field], lines[(field,)], keys[field] = value, line, f"models.{key}"
    return FileSettings(path, values, lines, keys)


def _whole(path: Path, key: str, value: str, line: int) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
        raise InputError(str(path), key, "a whole number (TorchServe reads it as an int)", repr(value), line)
    return int(value)


def _models_json(path: Path, entry: _Entry) -> dict[str, tuple[int, int]]:
    """minWorkers ... from `models=`: each with the line its key is on."""
    try:
        models = reading.parse_json(entry.value, source=str(path), line=entry.line)
        (versions,) = models.values()
        (config,) = versions.values()
        config.items()
    except (InputError, ValueError, AttributeError):
        raise InputError(str(path), "models", 'JSON {"name": {"version": {...}}} for exactly one model',
                         repr(entry.value[:80]), entry.line) from None
    found = {}
    for key in MODEL_KEYS:
        if key in config:
            line = _line_of(entry, key)
            value = config[key]
            text = value if isinstance(value, str) else json.dumps(value)
            found[key] = _whole(path, f"models.{key}", text, line), line
    return found


def _line_of(entry: _Entry, key: str) -> int:
    """The physical line of `"key"` within a `models=` value continued over several lines."""
    quoted = f'"{key}"'
    return entry.line + next((i for i, text in enumerate(entry.text) if quoted in text), 0)
