"""Dashboard changes as `load_scenario` overrides.

The loader sets dotted paths into mappings only; a path through a list (`node_pools.0.count`, `workload.0.users`)
becomes an override of the whole list, copied from the scenario's YAML and edited. A single workload mapping counts
as a list of one, as the schema reads it.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Mapping

from twin.config import loader


def loader_overrides(document: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` (dotted paths, list items by index) as overrides `load_scenario` applies to `document`."""
    overrides: dict[str, Any] = {}
    for dotted, value in changes.items():
        keys = dotted.split(".")
        index = next((i for i, key in enumerate(keys) if key.isdigit()), None)
        if index is None:
            overrides[dotted] = value
            continue
        head = ".".join(keys[:index])
        if head not in overrides:
            overrides[head] = _as_list(copy.deepcopy(_get(document, keys[:index])))
        item = overrides[head][int(keys[index])]
        _set(item, keys[index + 1:], value)
    return overrides


def scenario_document(path: str | Path) -> dict[str, Any]:
    """The scenario file as written (before references are resolved)."""
    document, _ = loader.read_yaml(Path(path))
    return document if isinstance(document, dict) else {}


def canonical(overrides: Mapping[str, Any]) -> str:
    """One spelling of a set of overrides: the cache key and the saved form of a variant."""
    return json.dumps(overrides, sort_keys=True, default=str)


def _get(document: Mapping[str, Any], keys: list[str]) -> Any:
    value: Any = document
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _as_list(value: Any) -> list:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _set(target: dict, keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value
