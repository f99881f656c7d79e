"""Kubernetes resource quantities ("500m", "1Gi", "2k", "1e3"): exact, and as plain numbers.

Fidelity ledger — upstream: kubernetes/apimachinery `pkg/api/resource/quantity.go` (`ParseQuantity`,
`MilliValue`). Modelled: sign, decimal number with optional fraction, decimal SI suffixes (n u m "" k M G T P E),
binary suffixes (Ki Mi Gi Ti Pi Ei), decimal exponents (e3, E-2); `MilliValue` rounds up like `ScaledValue`.
Not modelled: canonical re-serialisation and the int64 overflow limits; instead a spelling longer than 64 characters
or a decimal exponent beyond ±64 is refused (such a number is no resource any node has, and computing it exactly would
take unbounded time and memory).
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_PATTERN = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$")


def exact_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity; raises ValueError when `text` is not one."""
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise ValueError(f"not a quantity: {text!r}")
        return Fraction(str(text))  # YAML floats: use their decimal spelling, not the binary value
    match = _PATTERN.match(str(text).strip()) if len(str(text)) <= 64 else None
    if match is None:
        raise ValueError(f"not a quantity: {text!r}")
    sign, number, exponent, suffix = match.groups()
    if exponent is not None and abs(int(exponent[1:])) > 64:
        raise ValueError(f"not a quantity (exponent beyond 64): {text!r}")
    value = Fraction(number)
    if exponent is not None:
        value *= Fraction(10) ** int(exponent[1:])
    elif suffix in _BINARY:
        value *= 2 ** _BINARY[suffix]
    else:
        value *= Fraction(10) ** _DECIMAL[suffix or ""]
    return -value if sign == "-" else value


def milli_value(value: Fraction | float) -> int:
    """`Quantity.MilliValue()`: the value in thousandths, rounded up."""
    if isinstance(value, float):
        value = Fraction(repr(value))
    return math.ceil(value * 1000)


def parse_quantity(text: str | int | float) -> float:
    """The quantity in base units (cores, bytes, devices) as a float; raises ValueError when malformed."""
    return float(exact_quantity(text))
