"""Checks for the values every entry point shares (URLs, addresses, counts, seconds), and their command-line form.

Each check returns the value or raises ValueError whose text says what was expected and what was got; `flag` turns
one into an argparse `type=`, so a bad flag stops the command with one line before any work starts.
"""
from __future__ import annotations

import argparse
import math
import urllib.parse
from functools import partial
from typing import Callable, TypeVar

from twin.config import limits

T = TypeVar("T")
MAX_SEED = 2**64 - 1  # numpy's SeedSequence takes any non-negative integer; a 64-bit one is plenty


def number(text: str, *, low: float, high: float, whole: bool = False, low_open: bool = False,
           what: str = "a number") -> float | int:
    """`text` as a finite number in [low, high] (or (low, high] when `low_open`), an integer when `whole`."""
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = math.nan
    bound = f"{'above' if low_open else 'from'} {_show(low)} {'up ' if low_open else ''}to {_show(high)}"
    if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
        raise ValueError(f"expected {what} {bound}, got {text!r}")
    return value


def _show(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def http_url(text: str) -> str:
    """An http(s) URL with a host and, when given, a port from 1 to 65535."""
    parts = urllib.parse.urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL such as http://host:8080, got {text!r}")
    if port == 0:
        raise ValueError(f"expected a port from 1 to 65535 in the URL, got {text!r}")
    return text


def dask_address(text: str) -> str:
    """A Dask scheduler address, `tcp://host:8786` (or tls://, ws://, wss://, inproc:// or plain `host:port`)."""
    scheme, _, rest = text.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme == "inproc":
        return text
    if scheme not in ("", "tcp", "tls", "ws", "wss") or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected a scheduler address with a port, such as tcp://host:8786, got {text!r}")
    return text


def name(text: str) -> str:
    """A name (a model, a VM type): not empty, no spaces or control characters, at most 253 characters (a DNS name,
    the longest name Kubernetes takes)."""
    if not text or len(text) > 253 or any(char.isspace() or not char.isprintable() for char in text):
        raise ValueError(f"expected a name without spaces, of 1 to 253 characters, got {text!r}")
    return text


def text(value: str) -> str:
    """A line of text (a GPU's name, a description): not empty, printable, at most 1,000 characters."""
    if not value.strip() or len(value) > 1000 or not value.isprintable():
        raise ValueError(f"expected one line of printable text, of 1 to 1,000 characters, got {value!r}")
    return value


def counts(text: str, *, low: int, high: int) -> tuple[int, ...]:
    """Whole numbers separated by commas, each in [low, high]."""
    return tuple(int(number(part, low=low, high=high, whole=True, what="whole numbers separated by commas"))
                 for part in text.split(","))


def flag(check: Callable[[str], T], name: str) -> Callable[[str], T]:
    """`check` as an argparse type: its ValueError becomes argparse's one-line error naming the flag."""
    def parse(text: str) -> T:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = name
    return parse


# The flags the commands share, each with its range.
seed = flag(partial(number, low=0, high=MAX_SEED, whole=True, what="a seed"), "seed")
duration = flag(partial(number, low=0, high=limits.MAX_DURATION_S, low_open=True, what="a number of seconds"),
                "duration")
seconds = flag(partial(number, low=0, high=limits.MAX_DURATION_S, what="a number of seconds"), "seconds")
replications = flag(partial(number, low=1, high=1000, whole=True, what="a number of replications"), "replications")
processes = flag(partial(number, low=1, high=1024, whole=True, what="a number of processes"), "processes")
speed = flag(partial(number, low=0, high=1e6, low_open=True, what="a time compression"), "speed")
url = flag(http_url, "url")
label = flag(name, "name")
line = flag(text, "text")
scheduler = flag(dask_address, "scheduler")


def whole(low: int, high: int, what: str) -> Callable[[str], int]:
    return flag(partial(number, low=low, high=high, whole=True, what=what), "whole")


def positive(high: float, what: str) -> Callable[[str], float]:
    return flag(partial(number, low=0, high=high, low_open=True, what=what), "positive")


def whole_list(low: int, high: int) -> Callable[[str], tuple[int, ...]]:
    return flag(partial(counts, low=low, high=high), "counts")
