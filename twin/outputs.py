"""Outputs that never destroy: the one way every command writes a folder or a file.

A folder servetwin writes holds a marker, `.servetwin-output.json`, naming the command that wrote it and every entry
it wrote. `--out DIR` takes a DIR that does not exist or is empty. A DIR with anything else in it is refused, unless
its marker says the same command wrote it: a command that resumes (sweep, optimize, replay) then carries on in it;
any other command replaces it only with `--force`, and only if the folder holds nothing its marker does not list.
Nothing outside DIR is removed, ever.

A folder is built in a staging folder beside DIR and renamed into place once complete: an interrupted or failing
command leaves DIR as it was. A single file (predict's CSV) is written to a temporary file beside it and moved in
with `os.replace`. Servetwin cannot tell its own CSV from a user's, so an existing file is replaced only with
`--force`. Bad `--out` values (empty, the current folder or one above it, a file where a folder is wanted, a path
under a file, a place that cannot be written) are input errors, found before any work starts.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from twin.errors import InputError

MARKER = ".servetwin-output.json"
FLAG = "--out"


def add_arguments(parser: argparse.ArgumentParser, *, help: str, required: bool = True, default: str | None = None,
                  metavar: str = "DIR", force: bool = True) -> None:
    """`--out` (kept as typed, so an empty value can be named) and, for commands that replace, `--force`."""
    parser.add_argument(FLAG, required=required, default=default, metavar=metavar, help=help)
    if force:
        parser.add_argument("--force", action="store_true",
                            help=f"replace {metavar} if servetwin wrote it (never a folder or file of anyone else)")


# --- checks, before any work -----------------------------------------------------------------------------------
def folder(raw: str | Path, *, command: str, force: bool = False, resume: bool = False) -> Path:
    """The folder `raw` names, checked for `command`: absent, empty, or its own (see the module's rules)."""
    with _reported(raw):
        path = _usable(raw, wanted="a folder")
        if path.is_dir():
            _check_contents(path, raw, command=command, force=force, resume=resume)
            _probe(path, str(raw))
    return path


def file(raw: str | Path, *, force: bool = False, inputs: tuple[Path, ...] = ()) -> Path:
    """The file `raw` names, checked: absent, or an existing file to replace with `--force` (never one of the
    command's `inputs`)."""
    with _reported(raw):
        path = _usable(raw, wanted="a file")
        if path.is_dir():
            _refuse(raw, "a file name", "a folder")
        if any(path.exists() and Path(source).exists() and path.samefile(source) for source in inputs):
            _refuse(raw, "a file other than the command's input", "its input file")
        if path.exists() and not force:
            _refuse(raw, "a new file (--force replaces an existing one)", "an existing file")
    return path


def _usable(raw: str | Path, *, wanted: str) -> Path:
    text = str(raw)
    if not text.strip():
        _refuse("''", f"{wanted} to write", "an empty path")
    path = Path(os.path.abspath(Path(text).expanduser()))
    if path == Path(os.getcwd()) or path in Path(os.getcwd()).parents:
        _refuse(text, f"{wanted} of its own", "the current folder (or one above it)")
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and wanted == "a folder" and not path.is_dir():
        _refuse(text, "a folder", "a file")
    above = _nearest_existing(path.parent)
    if not above.is_dir():
        _refuse(text, f"{wanted} in a folder", f"a path under the file {above}")
    _probe(above, text)
    longest = os.pathconf(above, "PC_NAME_MAX")
    if any(len(part.encode()) > longest for part in path.relative_to(above).parts):
        _refuse(text, f"names of at most {longest} bytes", "a longer one")
    return path


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _probe(where: Path, text: str) -> None:
    """Can we create something here? Asked of the file system itself (a permission check says nothing for root)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".servetwin-probe-", dir=where))
    except OSError as error:
        _refuse(text, "a place servetwin can write", f"{where} not writable ({error.strerror or error})")


def _check_contents(path: Path, raw: str | Path, *, command: str, force: bool, resume: bool) -> None:
    entries = _entries(path)
    if not entries:
        return
    marker = _marker(path)
    if marker is None:
        _refuse(raw, "a new or empty folder, or one servetwin wrote",
                f"a folder holding files servetwin did not write ({_some(entries)})")
    if marker.get("command") != command:
        _refuse(raw, f"a folder of `servetwin {command}`", f"the output of `servetwin {marker.get('command')}`")
    if resume:
        return
    if not force:
        _refuse(raw, "a new or empty folder (--force replaces servetwin's own)",
                f"the output of an earlier `servetwin {command}`")
    foreign = entries - set(marker.get("entries", ())) - {MARKER}
    if foreign:
        _refuse(raw, "a folder holding only what servetwin wrote (to replace it)",
                f"files added since ({_some(foreign)})")


def _entries(path: Path) -> set[str]:
    return {p.relative_to(path).as_posix() for p in path.rglob("*")}


def _marker(path: Path) -> dict | None:
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _some(names: set[str]) -> str:
    shown = sorted(names)[:3]
    return ", ".join(shown) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _refuse(raw: str | Path, expected: str, got: str) -> None:
    raise InputError(str(raw), FLAG, expected, got)


@contextlib.contextmanager
def _reported(raw: str | Path) -> Iterator[None]:
    """What the file system refuses (permissions, a full disk) is one line about --out, not a traceback."""
    try:
        yield
    except OSError as error:
        where = f" at {error.filename}" if error.filename else ""
        _refuse(raw, "a place servetwin can write", f"{error.strerror or error}{where}")


# --- writing ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def staged_folder(raw: str | Path, *, command: str, force: bool = False) -> Iterator[Path]:
    """Yield an empty staging folder beside the target; when the block ends, it becomes the target at once."""
    path = folder(raw, command=command, force=force)
    with _reported(raw):
        staging = _beside(path, "staging")
    try:
        yield staging
        with _reported(raw):
            mark(staging, command=command)
            _swap(staging, path, raw=raw, command=command, force=force)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # ours; gone already once swapped in


def claim(raw: str | Path, *, command: str, resume: bool = True, force: bool = False) -> Path:
    """A folder a command writes into as it goes (sweep runs, live decisions): created and marked as its own.
    Without `resume`, an earlier folder of the same command is replaced (with `--force`) by a fresh one."""
    path = folder(raw, command=command, force=force, resume=resume)
    with _reported(raw):
        if not path.is_dir() or not _entries(path) - {MARKER}:
            path.mkdir(parents=True, exist_ok=True)
            mark(path, command=command)
        elif not resume:
            fresh = _beside(path, "claim")
            mark(fresh, command=command)
            _swap(fresh, path, raw=raw, command=command, force=force)
    return path


def mark(path: Path, *, command: str) -> None:
    """Say that `command` wrote `path` and everything now in it."""
    entries = sorted(_entries(path) - {MARKER})
    write_text(path / MARKER, json.dumps({"command": command, "entries": entries}, indent=1) + "\n")


def _beside(path: Path, role: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name[:64]}.servetwin-{role}-", dir=path.parent))


def _swap(new: Path, path: Path, *, raw: str | Path, command: str, force: bool) -> None:
    """Move `new` to `path`: onto nothing or an empty folder in one rename; over servetwin's own folder (checked
    again, it may have changed during a long run) by setting the old one aside, renaming, then removing it."""
    folder(raw, command=command, force=force)
    if not path.exists() or not any(path.iterdir()):
        os.replace(new, path)  # POSIX rename replaces an empty folder atomically
        return
    old = _beside(path, "old") / path.name
    os.replace(path, old)
    try:
        os.replace(new, path)
    except BaseException:
        os.replace(old, path)  # put it back: a failed swap changes nothing
        raise
    shutil.rmtree(old.parent, ignore_errors=True)


@contextlib.contextmanager
def staged_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the block ends, it replaces `path` in one step."""
    with _reported(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name[:64]}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        with _reported(path):
            os.replace(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """A whole file at once: readers see the old text or the new, never half of it."""
    with staged_file(path) as staging:
        staging.write_text(text, encoding="utf-8")
