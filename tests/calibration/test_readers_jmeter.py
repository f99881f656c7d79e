"""JMeter JTL samples, their summary computed as JMeter does, and the saved Summary/Aggregate Report tables.

The fixture results.jtl holds 8 `predict` samples (one 503) and 2 `ping` samples, starting at t0 = 1692306000000:
predict elapsed 100,120,110,130,90,105,115,500 starting at t0+0..350; ping 5 at t0+400 and 100 at t0+900.
Every expected number below is worked out by hand from those values.
"""
from pathlib import Path

import pytest

from calibration.readers import read_jmeter_report, read_jtl, summarize, summarize_by_label
from calibration.readers.jtl import Sample
from tests.calibration.errors import raises, write

DATA = Path(__file__).parent / "data"
T0 = 1692306000000


@pytest.fixture(scope="module")
def samples():
    return read_jtl(DATA / "results.jtl")





def _sample(start, elapsed, *, label="a", count=1):
    return Sample(start_ms=start, elapsed_ms=elapsed, label=label, success=True, response_code="200",
                  thread_name=None, received_bytes=None, sent_bytes=None, all_threads=None, latency_ms=None,
                  connect_ms=None, sample_count=count, error_count=0, line=0)


def test_jtl_samples(samples):
    assert len(samples) == 10
    failed = [s for s in samples if not s.success]
    assert len(failed) == 1 and failed[0].response_code == "503" and failed[0].elapsed_ms == 500
    assert failed[0].start_ms == T0 + 250 and failed[0].end_ms == T0 + 750 and failed[0].line == 10
    assert samples[0].latency_ms == 98 and samples[0].connect_ms == 3 and samples[0].all_threads == 2


def test_headerless_jtl_reads_the_default_columns(samples):
    assert read_jtl(DATA / "results_noheader.jtl") == tuple(
        Sample(**{**{f: getattr(s, f) for f in Sample.__slots__}, "line": s.line - 1}) for s in samples)


def test_timestamp_at_sample_end(tmp_path):
    path = write(tmp_path, "end.jtl", "timeStamp,elapsed,label,success\n1000,300,a,true\n")
    (sample,) = read_jtl(path, timestamp_is_start=False)
    assert (sample.start_ms, sample.end_ms) == (700, 1000)


def test_summary_per_label_worked_by_hand(samples):
    by_label = summarize_by_label(samples)
    assert list(by_label) == ["predict", "ping", "TOTAL"]
    predict = by_label["predict"]
    assert predict.samples == 8 and predict.errors == 1 and predict.error_pct == 12.5
    assert predict.mean_ms == 1270 / 8 and (predict.min_ms, predict.max_ms) == (90, 500)
    # sorted 90,100,105,110,115,120,130,500: median = 4th, p90 = round(7.2)=7th, p95 = round(7.6)=8th
    assert (predict.median_ms, predict.p90_ms, predict.p95_ms, predict.p99_ms) == (110, 130, 500, 500)
    assert predict.window_s == 0.75 and predict.throughput_rps == pytest.approx(8 / 0.75)  # ends at t0+750
    ping = by_label["ping"]
    assert ping.throughput_rps == pytest.approx(2 / 0.6) and ping.median_ms == 5 and ping.std_dev_ms == 47.5


def test_total_summary(samples):
    total = summarize(samples)
    assert total.label == "TOTAL" and total.samples == 10 and total.error_pct == 10.0
    assert total.window_s == 1.0 and total.throughput_rps == 10.0
    assert total.received_kb_per_s == 10.0 and total.sent_kb_per_s == 5.0  # 1024 B and 512 B per sample
    assert (total.median_ms, total.p90_ms, total.p95_ms, total.p99_ms) == (105, 130, 130, 500)


def test_percentiles_use_java_float_percents():
    # 1..50 ms: 50 * 0.99f = 49.5000005 rounds to 50 (a double 0.99 would give 49)
    summary = summarize([_sample(i * 10, i) for i in range(1, 51)])
    assert (summary.median_ms, summary.p90_ms, summary.p99_ms) == (25, 45, 50)


def test_throughput_window_grows_in_file_order_as_jmeter_does():
    # The earliest start comes second: JMeter measured the first end from the first start it had seen.
    summary = summarize([_sample(100, 100), _sample(0, 50)])
    assert summary.window_s == 0.1 and summary.throughput_rps == 20.0


def test_aggregated_samples_count_each_sample():
    summary = summarize([_sample(0, 300, count=3), _sample(0, 100)])
    assert summary.samples == 4 and summary.mean_ms == 100 and summary.max_ms == 100 and summary.std_dev_ms == 0


def test_zero_length_window_has_no_throughput():
    assert summarize([_sample(5, 0)]).throughput_rps is None


@pytest.mark.parametrize(("row", "field"), [
    ("1692306000000,-5,a,true", "elapsed"),
    ("1692306000000,5,a,yes", "success"),
    ("2023/08/17 22:00:00,5,a,true", "timeStamp"),
    ("1692306000000,5.5,a,true", "elapsed"),
    ("1692306000000,,a,true", "elapsed"),
    ("1692306000000,1_000,a,true", "elapsed"),
])
def test_jtl_bad_cells(tmp_path, row, field):
    path = write(tmp_path, "r.jtl", "timeStamp,elapsed,label,success\n1692306000000,5,a,true\n" + row + "\n")
    raises(path, read_jtl, line=3, field=field)


def test_jtl_line_numbers_count_quoted_newlines(tmp_path):
    text = ('timeStamp,elapsed,label,success,failureMessage\n'
            '1,5,a,false,"line one\nline two"\n'
            '2,x,a,true,\n')
    raises(write(tmp_path, "q.jtl", text), read_jtl, line=4, field="elapsed")


def test_jtl_file_level_errors(tmp_path):
    raises(write(tmp_path, "empty.jtl", ""), read_jtl, line=None, field="")
    raises(write(tmp_path, "only.jtl", "timeStamp,elapsed,label,success\n"), read_jtl, line=None, field="")
    raises(write(tmp_path, "short.jtl", "1692306000000,5,a,200\n"), read_jtl, line=1, field="")
    raises(write(tmp_path, "nolabel.jtl", "timeStamp,elapsed,success\n1,5,true\n"), read_jtl, line=1, field="label")
    error = raises(write(tmp_path, "semi.jtl", "timeStamp;elapsed;label;success\n1;5;a;true\n"), read_jtl,
                    line=1, field="")
    assert "(delimiter ';'?)" in str(error)


def test_summary_report_matches_the_jtl(samples):
    report = {row.label: row for row in read_jmeter_report(DATA / "summary_report.csv")}
    assert list(report) == ["predict", "ping", "TOTAL"]
    for label, summary in summarize_by_label(samples).items():
        row = report[label]
        assert row.samples == summary.samples and row.average_ms == int(summary.mean_ms)
        assert row.error_pct == summary.error_pct and row.std_dev_ms == pytest.approx(summary.std_dev_ms, abs=0.005)
        assert row.throughput_rps == pytest.approx(summary.throughput_rps, abs=5e-6)
        assert row.received_kb_per_s == pytest.approx(summary.received_kb_per_s, abs=0.005)
    assert report["TOTAL"].avg_bytes == 1024.0 and report["TOTAL"].median_ms is None


def test_aggregate_report_matches_the_jtl(samples):
    report = {row.label: row for row in read_jmeter_report(DATA / "aggregate_report.csv")}
    for label, summary in summarize_by_label(samples).items():
        row = report[label]
        assert row.median_ms == summary.median_ms
        assert row.percentiles_ms == {90.0: summary.p90_ms, 95.0: summary.p95_ms, 99.0: summary.p99_ms}
        assert row.error_pct == summary.error_pct and row.std_dev_ms is None


def test_report_throughput_below_one_and_decimal_comma(tmp_path):
    text = 'Label,# Samples,Average,Min,Max,Error %,Throughput\nslow,3,1100,900,1300,"33,333%",.05000\n'
    (row,) = read_jmeter_report(write(tmp_path, "s.csv", text))
    assert row.throughput_rps == 0.05 and row.error_pct == 33.333


@pytest.mark.parametrize(("cell", "field"), [
    ("0.000", "Error %"), ("120%", "Error %"), ("abc%", "Error %"),
])
def test_report_bad_error_percent(tmp_path, cell, field):
    text = f"Label,# Samples,Average,Min,Max,Error %,Throughput\na,1,1,1,1,0.0%,1.0\nb,1,1,1,1,{cell},1.0\n"
    raises(write(tmp_path, "s.csv", text), read_jmeter_report, line=3, field=field)


def test_report_missing_column_and_bad_count(tmp_path):
    raises(write(tmp_path, "a.csv", "Label,Average,Min,Max,Error %,Throughput\n"), read_jmeter_report,
            line=1, field="# Samples")
    text = "Label,# Samples,Average,Min,Max,Error %,Throughput\na,many,1,1,1,0%,1\n"
    raises(write(tmp_path, "b.csv", text), read_jmeter_report, line=2, field="# Samples")
