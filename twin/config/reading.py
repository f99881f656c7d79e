"""The one reading boundary: every user file is read here, as its owner reads it, or refused with one clear line.

A file is a regular file of bounded size; its bytes decode in the stated encoding (UTF-8 for YAML, CSV and JSON;
ISO-8859-1 for a Java .properties file, as `java.util.Properties.load(InputStream)` reads it). YAML is loaded with
duplicate keys refused (YAML 1.2 requires unique keys; PyYAML silently keeps the last), nesting bounded (no
RecursionError), and aliases bounded in their expanded size (no "billion laughs"). JSON refuses NaN and Infinity,
which are not JSON (RFC 8259) although Python's `json` accepts them, and a name twice in one object.
"""
from __future__ import annotations

import codecs
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml

from twin.errors import InputError

Lines = dict[tuple, int]
MAX_BYTES = 256 * 2**20  # a scenario, manifest or table is kilobytes; a JTL of a long test may be a few hundred MiB
MAX_DEPTH = 64  # nesting of YAML or JSON; real manifests nest about 10 deep
MAX_NODES = 1_000_000  # YAML nodes after expanding aliases
_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32", codecs.BOM_UTF16_LE: "UTF-16",
         codecs.BOM_UTF16_BE: "UTF-16"}


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes; a missing file, a folder, a pipe or device, an unreadable or oversized file is refused."""
    source = os.fspath(path)
    size = _regular_file_size(source)
    if size > max_bytes:
        raise InputError(source, "", f"a file of at most {max_bytes // 2**20} MiB", f"{size // 2**20} MiB")
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise InputError(source, "", "a readable file", _reason(error)) from None


def _regular_file_size(source: str) -> int:
    """A pipe or a device would be read for ever (or until memory runs out): only regular files are read."""
    if not source:
        raise InputError("<empty path>", "", "a file name", "an empty string")
    try:
        status = os.stat(source)
    except OSError as error:
        raise InputError(source, "", "an existing file", _reason(error)) from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(source, "", "a file", "a directory")
    if not stat.S_ISREG(status.st_mode):
        raise InputError(source, "", "a regular file", "a pipe, socket or device")
    return status.st_size


def read_text(path: str | os.PathLike[str], *, encoding: str = "utf-8", max_bytes: int = MAX_BYTES) -> str:
    """The file decoded as `encoding` (a UTF-8 byte-order mark is dropped); binary or mis-encoded text is refused."""
    return decode(read_bytes(path, max_bytes=max_bytes), source=os.fspath(path), encoding=encoding)


def decode(data: bytes, *, source: str, encoding: str = "utf-8") -> str:
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise InputError(source, "", f"{_label(encoding)} text", f"{name} (byte-order mark); save it as UTF-8")
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(source, "", f"{_label(encoding)} text", "binary data (a NUL byte)",
                         data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(source, "", f"{_label(encoding)} text",
                         f"byte 0x{data[error.start]:02x}, not {_label(encoding)} (Latin-1 or another encoding?)",
                         line) from None


def _label(encoding: str) -> str:
    return {"utf-8": "UTF-8", "iso-8859-1": "ISO-8859-1"}.get(encoding, encoding)


def _reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def read_yaml(path: str | os.PathLike[str]) -> tuple[Any, Lines]:
    """The YAML document in `path` and a map from field path to its 1-based line."""
    return parse_yaml(read_text(path), source=os.fspath(path))


def parse_yaml(text: str, *, source: str) -> tuple[Any, Lines]:
    try:
        _check_depth(text, source)
        loader = _UniqueKeyLoader(text)
        loader.source = source
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_size(node, source)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise _yaml_error(error, source) from None
    lines: Lines = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return data, lines


def read_documents(path: str | os.PathLike[str]) -> list[Any]:
    """Every document of a YAML stream (`helm template` output, manifests joined by `---`), with the same checks."""
    return [document for document, _ in read_documents_with_lines(path)]


def read_documents_with_lines(path: str | os.PathLike[str]) -> list[tuple[Any, Lines]]:
    """Every document of a YAML stream, each with its map from field path to line."""
    source = os.fspath(path)
    text = read_text(path)
    try:
        _check_depth(text, source)
        loader = _UniqueKeyLoader(text)
        loader.source = source
        try:
            documents = []
            while loader.check_node():
                node = loader.get_node()
                _check_size(node, source)
                lines: Lines = {}
                _collect_lines(node, (), lines)
                documents.append((loader.construct_document(node), lines))
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise _yaml_error(error, source) from None
    return documents


def line_of(field: str, lines: Lines, prefix: tuple = ()) -> int | None:
    """The line of a dotted field (`spec.triggers[0].metadata` or `spec.triggers.0.metadata`), or of the nearest
    field above it that the document writes."""
    path = prefix + tuple(int(p) if p.isdigit() else p for p in field.replace("[", ".").replace("]", "").split(".")
                          if p)
    return next((lines[path[:end]] for end in range(len(path), -1, -1) if path[:end] in lines), None)


def _yaml_error(error: yaml.YAMLError, source: str) -> InputError:
    mark = getattr(error, "problem_mark", None)
    return InputError(source, "", "valid YAML", str(getattr(error, "problem", None) or error),
                      mark.line + 1 if mark else None)


class _UniqueKeyLoader(yaml.SafeLoader):
    source = "<yaml>"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise InputError(self.source, str(key), f"each key once (first at line {seen[key]})",
                                     "the key again", key_node.start_mark.line + 1)
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


# YAML 1.2's core schema reads 1e9 as a number; PyYAML's YAML 1.1 resolver wants a dot (1.0e9) and returns text
_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                       re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+$"),
                                       list("-+.0123456789"))


def _check_depth(text: str, source: str) -> None:
    """The parser walks events without recursion; the composer recurses, so nesting is bounded before it runs."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(source, "", f"YAML nested at most {MAX_DEPTH} levels deep",
                                 "deeper nesting", event.start_mark.line + 1)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _check_size(root: yaml.Node, source: str) -> None:
    """Aliases share nodes: measure the data as a reader sees it (aliases expanded), refusing cycles, blow-ups and
    nesting that aliases make deeper than the text shows."""
    measured: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def measure(node: yaml.Node) -> tuple[int, int]:
        if id(node) in measured:
            return measured[id(node)]
        line = node.start_mark.line + 1
        if id(node) in open_nodes:
            raise InputError(source, "", "aliases that do not contain themselves", "a recursive alias", line)
        open_nodes.add(id(node))
        parts = [measure(child) for child in _children(node)]
        open_nodes.discard(id(node))
        size, depth = 1 + sum(s for s, _ in parts), 1 + max((d for _, d in parts), default=0)
        if size > MAX_NODES:
            raise InputError(source, "", f"at most {MAX_NODES:,} values once aliases are expanded",
                             "more (aliases nested in aliases)", line)
        if depth > MAX_DEPTH:
            raise InputError(source, "", f"YAML nested at most {MAX_DEPTH} levels deep once aliases are expanded",
                             "deeper nesting", line)
        measured[id(node)] = size, depth
        return size, depth

    measure(root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _collect_lines(node: yaml.Node, prefix: tuple, lines: Lines) -> None:
    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else key.start_mark.line + 1
            _collect_lines(value, prefix + (name,), lines)
            lines[prefix + (name,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, prefix + (index,), lines)


def parse_json(text: str, *, source: str, line: int | None = None, expected: str = "valid JSON") -> Any:
    """A JSON value; NaN, Infinity and nesting deeper than Python's recursion allows are refused with the line."""
    try:
        return json.loads(text, parse_constant=_not_json, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise InputError(source, "", expected, f"{error.msg} at column {error.colno}",
                         (line or 1) + error.lineno - 1) from None
    except ValueError as error:
        raise InputError(source, "", expected, str(error), line) from None
    except RecursionError:
        raise InputError(source, "", "JSON nested within Python's recursion limit", "deeper nesting",
                         line) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's names once each (RFC 8259 says they SHOULD be unique; Python's json keeps the last silently)."""
    found = dict(pairs)
    if len(found) < len(pairs):
        names = [name for name, _ in pairs]
        raise ValueError(f"the name {next(n for n in names if names.count(n) > 1)!r} twice in one object")
    return found


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} (not a JSON number)")
