"""Shared by the reader tests: write a bad file, and check the InputError it gives names file, line and column."""
from __future__ import annotations

import pytest

from twin.errors import InputError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def raises(path, reader, *, line, field):
    with pytest.raises(InputError) as info:
        reader(path)
    error = info.value
    assert (error.source, error.line, error.field) == (str(path), line, field), str(error)
    return error
