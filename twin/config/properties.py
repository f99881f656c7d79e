"""TorchServe's config.properties, read verbatim (Java properties syntax, `models=` JSON included).

Fidelity ledger — upstream: pytorch/serve 0.12 docs/configuration.md, ConfigManager.java.
Modelled: job_queue_size, default_response_timeout, default_workers_per_model, and per-model minWorkers,
maxWorkers, batchSize, maxBatchDelay, responseTimeout, jobQueueSize from `models=`. Other keys are read and ignored.
The file is ISO-8859-1, as `java.util.Properties.load(InputStream)` reads it (ConfigManager loads it so); `\\uXXXX`
escapes are decoded as Java does. maxWorkers below minWorkers is refused with the management API's rule.
Not modelled: whitespace as the key/value separator.
"""
from __future__ import annotations

import math
import re
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


def read_properties(path: Path) -> dict[str, tuple[str, int]]:
    """key -> (value, line) of a Java properties file (`=` or `:` separators, `#`/`!` comments, `\\` joins)."""
    result: dict[str, tuple[str, int]] = {}
    pending, start = "", 0
    for number, raw in enumerate(reading.read_text(path, encoding="iso-8859-1").splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line[0] in "#!"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1]
            continue
        line, pending = pending + line, ""
        key, _, value = _split(line)
        result[_unescape(key)] = (_unescape(value.strip()), start)
    return result


def _split(line: str) -> tuple[str, str, str]:
    for index, char in enumerate(line):
        if char in "=:":
            return line[:index].strip(), char, line[index + 1:]
    return line, "", ""


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def model_settings(path: Path) -> tuple[dict[str, float | int], dict[tuple, int]]:
    """ModelConfig fields from a config.properties, and each field's line; per-model `models=` values win over
    server defaults."""
    props = read_properties(path)
    settings: dict[str, float | int] = {}
    lines: dict[tuple, int] = {}
    for key, field in _SERVER_KEYS.items():
        if key in props:
            settings[field], lines[(field,)] = _number(path, key, *props[key]), props[key][1]
    if "models" in props:
        from_models = _models_json(path, *props["models"])
        settings.update(from_models)
        lines.update({(field,): props["models"][1] for field in from_models})
    return settings, lines


def _number(path: Path, key: str, value: str, line: int) -> float | int:
    try:
        number = int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise InputError(str(path), key, "a finite number", repr(value), line)
    return number


def _models_json(path: Path, value: str, line: int) -> dict[str, float | int]:
    try:
        models = reading.parse_json(value, source=str(path), line=line)
        (versions,) = models.values()
        (config,) = versions.values()
        config.items()
    except (InputError, ValueError, AttributeError):
        raise InputError(str(path), "models", 'JSON {"name": {"version": {...}}} for exactly one model',
                         repr(value[:80]), line) from None
    settings = {}
    for key, field in MODEL_KEYS.items():
        if key in config:
            settings[field] = _number(path, f"models.{key}", str(config[key]), line)
    return settings
