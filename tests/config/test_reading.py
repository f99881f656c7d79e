"""The reading boundary and the shared value checks, unit by unit."""
from __future__ import annotations

import os

import pytest

from twin.config import reading, values
from twin.errors import InputError


def test_a_utf8_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert reading.read_yaml(path)[0] == {"a": 1}


def test_a_pipe_is_refused_instead_of_read_for_ever(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="expected a regular file, got a pipe"):
        reading.read_text(tmp_path / "fifo")


def test_a_file_above_the_size_limit_is_refused_with_the_limit(tmp_path):
    (tmp_path / "big.csv").write_bytes(b"x" * (2 * 2**20 + 1))
    with pytest.raises(InputError, match="at most 2 MiB"):
        reading.read_text(tmp_path / "big.csv", max_bytes=2 * 2**20)


def test_an_empty_path_is_named(tmp_path):
    with pytest.raises(InputError, match="expected a file name"):
        reading.read_text("")


def test_the_undecodable_byte_and_its_line_are_named(tmp_path):
    (tmp_path / "t.csv").write_bytes(b"a\nb\nc\xe9\n")
    with pytest.raises(InputError) as caught:
        reading.read_text(tmp_path / "t.csv")
    assert caught.value.line == 3 and "0xe9" in caught.value.got


def test_iso_8859_1_decodes_every_byte_but_not_binary(tmp_path):
    (tmp_path / "c.properties").write_bytes(b"k=caf\xe9\n")
    assert reading.read_text(tmp_path / "c.properties", encoding="iso-8859-1") == "k=caf\u00e9\n"
    (tmp_path / "c.properties").write_bytes(b"k=\x00")
    with pytest.raises(InputError, match="ISO-8859-1 text, got binary"):
        reading.read_text(tmp_path / "c.properties", encoding="iso-8859-1")


def test_shared_aliases_within_the_bound_load_and_keep_their_lines():
    data, lines = reading.parse_yaml("base: &b {x: 1}\nother: *b\nlist:\n  - 2\n", source="<t>")
    assert data == {"base": {"x": 1}, "other": {"x": 1}, "list": [2]}
    assert lines[("other",)] == 2 and lines[("list", 0)] == 4


def test_nesting_deepened_by_aliases_is_bounded():
    text = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [[[[[[[[[[*a{i - 1}]]]]]]]]]]\n" for i in range(1, 10))
    with pytest.raises(InputError, match="once aliases are expanded"):
        reading.parse_yaml(text, source="<t>")


def test_duplicate_keys_deep_in_a_document_are_refused_with_both_lines():
    with pytest.raises(InputError) as caught:
        reading.parse_yaml("a:\n  b: 1\n  c: 2\n  b: 3\n", source="<t>")
    assert (caught.value.field, caught.value.line) == ("b", 4) and "first at line 2" in caught.value.expected


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}'])
def test_json_constants_that_are_not_json_are_refused(text):
    with pytest.raises(InputError, match="not a JSON number"):
        reading.parse_json(text, source="<t>", line=7)


@pytest.mark.parametrize("url", ["http://h", "https://h:8443/p", "http://[::1]:9090", "http://10.0.0.1:65535"])
def test_good_urls_pass(url):
    assert values.http_url(url) == url


@pytest.mark.parametrize("url", ["h:8080", "file:///etc/passwd", "http://h:0", "http://h:65536", "http://:80", ""])
def test_bad_urls_are_refused(url):
    with pytest.raises(ValueError, match="expected"):
        values.http_url(url)


@pytest.mark.parametrize("address", ["tcp://s:8786", "s:8786", "tls://10.0.0.2:8786", "inproc://x/1/2"])
def test_dask_addresses_with_a_port_pass(address):
    assert values.dask_address(address) == address


@pytest.mark.parametrize("address", ["tcp://s", "s", "udp://s:8786", "tcp://s:0", "tcp://:8786"])
def test_dask_addresses_without_a_port_are_refused(address):
    with pytest.raises(ValueError, match="with a port"):
        values.dask_address(address)


def test_numbers_state_their_range():
    assert values.number("3", low=1, high=5, whole=True) == 3
    with pytest.raises(ValueError, match="above 0 up to 10, got '0'"):
        values.number("0", low=0, high=10, low_open=True)
    with pytest.raises(ValueError, match="from 1 to 5"):
        values.number("2.5", low=1, high=5, whole=True)
