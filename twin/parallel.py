"""Work spread over local processes, which a Ctrl-C stops at once and without a traceback from any of them.

The workers ignore SIGINT (a terminal sends it to the whole process group): only the parent sees the
KeyboardInterrupt, and leaving the pool terminates the workers instead of waiting for the runs they hold.
"""
from __future__ import annotations

import multiprocessing
import signal
from typing import Any, Callable, Iterable, Iterator


def unordered(function: Callable[..., Any], calls: Iterable[tuple], *, processes: int) -> Iterator[tuple[int, Any]]:
    """(index of the call, `function(*call)`) for every call, as each finishes."""
    jobs = [(index, function, call) for index, call in enumerate(calls)]
    with multiprocessing.Pool(processes, initializer=_ignore_interrupts) as pool:
        yield from pool.imap_unordered(_call, jobs)


def ordered(function: Callable[..., Any], calls: Iterable[tuple], *, processes: int) -> list[Any]:
    """`function(*call)` for every call, in the order of the calls."""
    done = dict(unordered(function, calls, processes=processes))
    return [done[index] for index in range(len(done))]


def _call(job: tuple[int, Callable[..., Any], tuple]) -> tuple[int, Any]:
    index, function, call = job
    return index, function(*call)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
