"""Scalar parsing and quantity rounding exactly as the KEDA operator (Go) does them.

Fidelity ledger — upstream kedacore/keda v2.20 (main after v2.20.1):
- `pkg/scalers/scalersconfig/typed_config.go`: metadata values are trimmed, an empty value counts as missing;
  float64 fields go through `json.Unmarshal` (JSON number grammar: no "500m", no "Inf", no leading "+");
  bool fields through Go `strconv.ParseBool`; `time.Duration` fields take a Go duration or integer milliseconds,
  never negative.
- `pkg/scalers/scaler.go` `quantityFromFloat64`: metric values and targets are formatted "%.3f" (so rounded to
  milli units), and NaN, ±Inf or negative become 0.
- `k8s.io/apimachinery` `resource.Quantity` canonical DecimalSI strings ("500m", "100", "2k") for what we emit.
Not modelled: quantities beyond int64 milli range, BinarySI canonical forms (we emit DecimalSI only).
"""
from __future__ import annotations

import math
import re
from decimal import Decimal

_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DECIMAL_SUFFIXES = ("", "k", "M", "G", "T", "P", "E")


def go_bool(text: str) -> bool | None:
    """Go `strconv.ParseBool`; None when the text is not one of its accepted spellings."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    return None


def json_number(text: str) -> float | None:
    """A float64 as Go's `json.Unmarshal` reads it; None when the text is not a JSON number."""
    if not _JSON_NUMBER.fullmatch(text):
        return None
    return float(text)


def go_duration_seconds(text: str) -> float | None:
    """A typed-config duration: Go `time.ParseDuration`, else integer milliseconds; None if invalid or negative."""
    if re.fullmatch(r"[+-]?\d+", text):
        millis = int(text)
        return millis / 1000.0 if millis >= 0 else None
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.removeprefix("+"))
    if body == "0":
        return 0.0
    parts = _GO_DURATION_PART.findall(body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        return None
    scale = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    seconds = sign * sum(float(number) * scale[unit] for number, unit in parts)
    return seconds if seconds >= 0 else None


def milli(value: float) -> int:
    """`quantityFromFloat64(value)` in milli units: "%.3f" rounding, NaN/±Inf/negative → 0."""
    if math.isnan(value) or math.isinf(value) or value < 0:
        return 0
    return int(Decimal(f"{value:.3f}") * 1000)


def served(value: float) -> float:
    """The float the HPA reads back from `quantityFromFloat64(value)`."""
    return milli(value) / 1000.0


def milli_string(millis: int) -> str:
    """Canonical DecimalSI string of a quantity given in milli units (1500 → "1500m", 2000000 → "2k")."""
    if millis % 1000:
        return f"{millis}m"
    whole, exponent = millis // 1000, 0
    while whole and whole % 1000 == 0 and exponent < len(_DECIMAL_SUFFIXES) - 1:
        whole, exponent = whole // 1000, exponent + 1
    return f"{whole}{_DECIMAL_SUFFIXES[exponent]}"
