"""Parser for the Prometheus text exposition TorchServe serves on its metrics port (`GET :8082/metrics`).

Fidelity ledger (upstream: Prometheus text format 0.0.4; TorchServe 0.12 in `metrics_mode=prometheus`, which writes
through the Prometheus Java simpleclient):
- modelled: `# HELP` (with `\\\\` and `\\n` escapes) and `# TYPE` lines, other comments, blank lines; samples
  `name{label="value",...} value [timestamp_ms]` with `\\\\`, `\\"`, `\\n` escapes in label values and the trailing
  comma simpleclient writes (`{model_name="m",model_version="default",}`); values in Go notation (`NaN`, `+Inf`) and
  in Java notation (`4.519728166580011E8`, `Infinity`); a negative counter is refused.
- not modelled: OpenMetrics (`# EOF`, exemplars, `_created`); histogram/summary bucket consistency.
TorchServe 0.12 names: counters `ts_inference_requests_total`, `ts_inference_latency_microseconds`,
`ts_queue_latency_microseconds`, `Requests2XX/4XX/5XX`; gauges `QueueTime`, `WorkerThreadTime`, `WorkerLoadTime`,
`PredictionTime`, `HandlerTime`, `CPUUtilization`, `MemoryUsed`, `GPUMemoryUsed`, ... (last value only).
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from calibration.readers import _csv
from twin.errors import InputError

TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf,
            "Infinity": math.inf, "+Infinity": math.inf, "-Infinity": -math.inf}
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
_LABEL_ESCAPES = '\\"n'


@dataclass(frozen=True)
class MetricSample:
    name: str
    labels: Mapping[str, str]
    value: float
    timestamp_ms: int | None
    line: int


@dataclass(frozen=True)
class Exposition:
    samples: tuple[MetricSample, ...]
    types: Mapping[str, str] = field(default_factory=dict)  # metric name -> counter | gauge | ...
    helps: Mapping[str, str] = field(default_factory=dict)

    def select(self, name: str, **labels: str) -> tuple[MetricSample, ...]:
        """The samples of `name` whose labels include every given label."""
        return tuple(s for s in self.samples
                     if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def read_metrics(path: str | os.PathLike[str]) -> Exposition:
    return parse_metrics(_csv.read_text(path), source=os.fspath(path))


def parse_metrics(text: str, *, source: str = "<metrics>") -> Exposition:
    samples, types, helps = [], {}, {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if line.startswith("#"):
            _comment(line, types, helps, at=_At(source, number))
        elif line:
            samples.append(_sample(line, at=_At(source, number)))
    if not samples and not types:
        raise _csv.file_error(source, expected="Prometheus text exposition", got="no metrics")
    for sample in samples:
        if types.get(sample.name) == "counter" and sample.value < 0:
            raise InputError(source=source, line=sample.line, field=sample.name, expected="a counter >= 0",
                             got=repr(sample.value))
    return Exposition(samples=tuple(samples), types=types, helps=helps)


@dataclass(frozen=True)
class _At:
    source: str
    line: int

    def error(self, field_name: str, *, expected: str, got: str) -> InputError:
        return InputError(source=self.source, line=self.line, field=field_name, expected=expected, got=got)


def _comment(line: str, types: dict[str, str], helps: dict[str, str], *, at: _At) -> None:
    parts = line[1:].strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in ("HELP", "TYPE"):
        return  # a plain comment
    keyword, name, rest = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    if not _NAME.fullmatch(name):
        raise at.error("", expected="a metric name", got=repr(name))
    if keyword == "HELP":
        helps[name] = _unescape(rest, allowed="\\n", at=None)
    elif rest not in TYPES:
        raise at.error(name, expected=f"a type among {', '.join(TYPES)}", got=repr(rest))
    else:
        types[name] = rest


def _sample(line: str, *, at: _At) -> MetricSample:
    match = _NAME.match(line)
    if match is None:
        raise at.error("", expected="a metric name", got=repr(line[:40]))
    name, position, labels = match.group(), match.end(), {}
    if line.startswith("{", position):
        labels, position = _labels(line, position + 1, name=name, at=at)
    tokens = line[position:].split()
    if not tokens or len(tokens) > 2 or (position < len(line) and not line[position].isspace()):
        raise at.error(name, expected="a value and an optional timestamp after the name and labels",
                       got=repr(line[position:].strip() or "nothing"))
    value = _SPECIAL.get(tokens[0])
    if value is None and "," not in tokens[0]:  # no locale decimals in this format
        value = _csv.parse_float(tokens[0])
    if value is None:
        raise at.error(name, expected="a float value", got=repr(tokens[0]))
    timestamp = None
    if len(tokens) == 2:
        if not re.fullmatch(r"-?\d+", tokens[1]):
            raise at.error(name, expected="a timestamp in whole ms", got=repr(tokens[1]))
        timestamp = int(tokens[1])
    return MetricSample(name=name, labels=labels, value=value, timestamp_ms=timestamp, line=at.line)


def _labels(line: str, position: int, *, name: str, at: _At) -> tuple[dict[str, str], int]:
    """Labels from just after `{` to just after `}`; a trailing comma before `}` is allowed."""
    labels: dict[str, str] = {}
    while True:
        position = _skip_spaces(line, position)
        if line.startswith("}", position):
            return labels, position + 1
        match = _LABEL_NAME.match(line, position)
        if match is None or not line.startswith('="', match.end()):
            raise at.error(name, expected='labels like key="value"', got=repr(line[position:position + 40]))
        value, position = _quoted(line, match.end() + 2, at=at, name=name)
        labels[match.group()] = value
        position = _skip_spaces(line, position)
        if line.startswith(",", position):
            position += 1
        elif not line.startswith("}", position):
            raise at.error(name, expected="',' or '}' after a label", got=repr(line[position:position + 20]))


def _quoted(line: str, position: int, *, at: _At, name: str) -> tuple[str, int]:
    """The label value starting after its opening quote, and the position after its closing quote."""
    end = position
    while end < len(line):
        if line[end] == "\\":
            end += 2
        elif line[end] == '"':
            return _unescape(line[position:end], allowed=_LABEL_ESCAPES, at=at), end + 1
        else:
            end += 1
    raise at.error(name, expected="a closing quote for a label value", got="end of line")


def _unescape(text: str, *, allowed: str, at: _At | None) -> str:
    """Resolve the escapes in `allowed`; another escape is an error when `at` is given, else kept verbatim."""
    out, chars = [], iter(text)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        following = next(chars, "")
        if following in allowed and following:
            out.append(_ESCAPES[following])
        elif at is not None:
            raise at.error("", expected="an escape among \\\\, \\\", \\n", got=repr("\\" + following))
        else:
            out.append(char + following)
    return "".join(out)


def _skip_spaces(line: str, position: int) -> int:
    while position < len(line) and line[position] in " \t":
        position += 1
    return position
