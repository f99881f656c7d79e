"""TorchServe's config.properties, read verbatim (Java properties syntax, `models=` JSON included).

Fidelity ledger — upstream: pytorch/serve 0.12 docs/configuration.md, ConfigManager.java.
Modelled: job_queue_size, default_response_timeout, default_workers_per_model, and per-model minWorkers,
maxWorkers, batchSize, maxBatchDelay, responseTimeout, jobQueueSize from `models=`. Other keys are read and ignored.
"""
from __future__ import annotations

import json
from pathlib import Path

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
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
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
        result[key] = (value.strip(), start)
    return result


def _split(line: str) -> tuple[str, str, str]:
    for index, char in enumerate(line):
        if char in "=:":
            return line[:index].strip(), char, line[index + 1:]
    return line, "", ""


def model_settings(path: Path) -> dict[str, float | int]:
    """ModelConfig fields from a config.properties; per-model `models=` values win over server defaults."""
    props = read_properties(path)
    settings: dict[str, float | int] = {}
    for key, field in _SERVER_KEYS.items():
        if key in props:
            settings[field] = _number(path, key, *props[key])
    if "models" in props:
        settings.update(_models_json(path, *props["models"]))
    return settings


def _number(path: Path, key: str, value: str, line: int) -> float | int:
    try:
        return int(value) if value.lstrip("-").isdigit() else float(value)
    except ValueError:
        raise InputError(str(path), key, "a number", repr(value), line) from None


def _models_json(path: Path, value: str, line: int) -> dict[str, float | int]:
    try:
        models = json.loads(value)
        (versions,) = models.values()
        (config,) = versions.values()
    except (json.JSONDecodeError, ValueError, AttributeError):
        raise InputError(str(path), "models", 'JSON {"name": {"version": {...}}} for exactly one model',
                         repr(value[:80]), line) from None
    settings = {}
    for key, field in MODEL_KEYS.items():
        if key in config:
            settings[field] = _number(path, f"models.{key}", str(config[key]), line)
    return settings
