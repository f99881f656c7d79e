"""File-level failures shared by every CSV reader: one InputError naming the file and, where there is one, the line."""
import pytest

from calibration.readers import read_jmeter_report, read_jtl, read_latency_points, read_resources, read_runs
from twin.errors import InputError

READERS = [read_runs, read_resources, read_latency_points, read_jtl, read_jmeter_report]


def _error(tmp_path, reader, content: bytes | str, name="t.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        reader(path)
    assert info.value.source == str(path)
    return info.value


@pytest.mark.parametrize("reader", READERS)
def test_empty_file(tmp_path, reader):
    error = _error(tmp_path, reader, "\n\n")
    assert error.line is None and "empty file" in str(error)


@pytest.mark.parametrize("reader", READERS)
def test_missing_file_and_directory(tmp_path, reader):
    with pytest.raises(InputError, match="no such file"):
        reader(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="a directory"):
        reader(tmp_path)


@pytest.mark.parametrize("reader", READERS)
def test_not_utf8(tmp_path, reader):
    error = _error(tmp_path, reader, b"Label,\xff\xfe\n")
    assert "UTF-8" in str(error)


def test_wrong_delimiter_is_named(tmp_path):
    error = _error(tmp_path, read_latency_points, "file;shows_run_id;point_index;bucket_label;response_ms\n")
    assert (error.line, error.field) == (1, "") and "(delimiter ';'?)" in str(error)
    error = _error(tmp_path, read_jmeter_report, "Label\t# Samples\tAverage\tMin\tMax\tError %\tThroughput\n")
    assert "(delimiter '\\t'?)" in str(error)


def test_ragged_row(tmp_path):
    text = "file,shows_run_id,point_index,bucket_label,response_ms\ng.png,R,0,15:00:00,9\ng.png,R,1,15:00:10\n"
    error = _error(tmp_path, read_latency_points, text)
    assert (error.line, error.field) == (3, "") and "got 4 cells" in str(error)


def test_repeated_column(tmp_path):
    error = _error(tmp_path, read_resources, "file,run_id,tool,tool\n")
    assert (error.line, error.field) == (1, "tool")


def test_unclosed_quote(tmp_path):
    error = _error(tmp_path, read_jtl, 'timeStamp,elapsed,label,success\n1,5,"a,true\n')
    assert error.line == 2 and "quoting" in str(error)  # the record whose quote never closes


def test_a_blank_line_keeps_line_numbers(tmp_path):
    text = "file,shows_run_id,point_index,bucket_label,response_ms\n\ng.png,R,0,15:00:00,oops\n"
    error = _error(tmp_path, read_latency_points, text)
    assert (error.line, error.field) == (3, "response_ms")


def test_bom_is_tolerated(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefffile,shows_run_id,point_index,bucket_label,response_ms\ng,R,0,15:00:00,9\n".encode())
    assert read_latency_points(path)[0].response_ms == 9.0
