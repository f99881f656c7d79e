"""TorchServe 0.12 `/metrics` text and management-API describe JSON."""
import datetime
import json
import math
from pathlib import Path

import pytest

from calibration.readers import parse_describe, parse_metrics, read_describe, read_metrics
from twin.errors import InputError

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def exposition():
    return read_metrics(DATA / "metrics.txt")


def _metrics_error(text, *, line, field):
    with pytest.raises(InputError) as info:
        parse_metrics(text, source="scrape.txt")
    assert (info.value.source, info.value.line, info.value.field) == ("scrape.txt", line, field), str(info.value)
    return info.value


# --- /metrics -------------------------------------------------------------------------------------------------

def test_counters_in_java_notation(exposition):
    (latency,) = exposition.select("ts_inference_latency_microseconds", model_name="roberta")
    assert latency.value == 451972816.6580011 and latency.line == 6
    assert latency.labels == {"model_name": "roberta", "model_version": "default",
                              "hostname": "torchserve-7d9f8b6c4-x2x9q"}  # simpleclient's trailing comma dropped
    (requests,) = exposition.select("ts_inference_requests_total")
    assert requests.value == 14523.0
    assert latency.value / requests.value == pytest.approx(31121.17, abs=0.01)  # mean µs per request
    assert exposition.types["ts_queue_latency_microseconds"] == "counter"
    assert exposition.helps["ts_inference_requests_total"] == "Total number of inference requests."


def test_gauges_per_worker(exposition):
    loads = exposition.select("WorkerLoadTime")
    assert [s.labels["WorkerName"] for s in loads] == ["W-9000-roberta_1.0", "W-9001-roberta_1.0"]
    assert [s.value for s in loads] == [8841.0, 9120.0]
    assert exposition.types["WorkerLoadTime"] == "gauge" and exposition.select("WorkerLoadTime", WorkerName="x") == ()


def test_label_escapes_and_timestamp(exposition):
    (custom,) = exposition.select("custom_prompt_total")
    assert custom.labels == {"prompt": 'say "hi"\\n', "path": "C:\\models"}
    assert custom.timestamp_ms == 1692306000000 and custom.value == 2.0


def test_special_values_and_escaped_help():
    text = ('# HELP g a\\nb\n# TYPE g gauge\ng NaN\ng{a="1"} +Inf\ng{a="2"} -Infinity\ng{a="3"} 1e-3\n'
            'g{a="line\\nbreak"} 2\n')
    parsed = parse_metrics(text)
    values = [s.value for s in parsed.samples]
    assert math.isnan(values[0]) and values[1:4] == [math.inf, -math.inf, 0.001]
    assert parsed.helps["g"] == "a\nb" and parsed.samples[4].labels == {"a": "line\nbreak"}


@pytest.mark.parametrize(("text", "line", "field"), [
    ('# TYPE c counter\nc{a="1"} 1.0\nc{a="2"} -1.0\n', 3, "c"),
    ("# TYPE c countr\n", 1, "c"),
    ('m{a="1"} one\n', 1, "m"),
    ('\nm{a="1",} 1.0\nm{a="1} 1.0\n', 3, "m"),
    ('m{a=1} 1.0\n', 1, "m"),
    ('m{a="1" b="2"} 1.0\n', 1, "m"),
    ("m 1.0 12.5\n", 1, "m"),
    ("m 1.0 2 3\n", 1, "m"),
    ("m\n", 1, "m"),
    ("9m 1\n", 1, ""),
    ('m{a="\\t"} 1\n', 1, ""),
    ("m 1,5\n", 1, "m"),
    ("m 1_0\n", 1, "m"),
    ("m nan\n", 1, "m"),
])
def test_bad_exposition_lines(text, line, field):
    _metrics_error(text, line=line, field=field)


def test_empty_exposition():
    with pytest.raises(InputError, match="no metrics"):
        parse_metrics("# just a comment\n", source="scrape.txt")


# --- describe -------------------------------------------------------------------------------------------------

def test_describe_model_and_workers():
    (model,) = read_describe(DATA / "describe.json")
    assert (model.model_name, model.model_version) == ("SamLowe_roberta-base-go_emotions", "1.0")
    assert (model.min_workers, model.max_workers, model.batch_size) == (1, 10, 1)
    assert model.max_batch_delay_ms == 100 and model.response_timeout_s == 120
    assert (model.queue_remaining_capacity, model.queue_pending_requests) == (98, 2)
    ready, starting = model.workers
    assert ready.id == "9000" and ready.status == "READY" and ready.pid == 33 and ready.gpu
    assert ready.memory_usage_bytes == 2889723904
    assert ready.start_time == datetime.datetime(2023, 8, 15, 12, 59, 3, 64000, tzinfo=datetime.timezone.utc)
    assert ready.gpu_usage["utilization.gpu [%]"] == "21 %" and ready.gpu_memory_used_mib == 1644.0
    assert starting.status == "UNLOADING" and starting.pid is None and starting.gpu_usage == {}
    assert starting.gpu_memory_used_mib is None


def _describe_with(change) -> str:
    document = json.loads((DATA / "describe.json").read_text(encoding="utf-8"))
    change(document[0])
    return json.dumps(document)


@pytest.mark.parametrize(("change", "field"), [
    (lambda m: m.pop("modelName"), "[0].modelName"),
    (lambda m: m.update(batchSize=0), "[0].batchSize"),
    (lambda m: m.update(maxWorkers="10"), "[0].maxWorkers"),
    (lambda m: m.update(workers={}), "[0].workers"),
    (lambda m: m["workers"][1].update(pid=-7), "[0].workers[1].pid"),
    (lambda m: m["workers"][0].update(gpu="yes"), "[0].workers[0].gpu"),
    (lambda m: m["workers"][0].update(startTime="yesterday"), "[0].workers[0].startTime"),
    (lambda m: m["jobQueueStatus"].pop("pendingRequests"), "[0].jobQueueStatus.pendingRequests"),
    (lambda m: m["workers"][0].update(memoryUsage=True), "[0].workers[0].memoryUsage"),
])
def test_describe_bad_fields_are_named_by_path(change, field):
    with pytest.raises(InputError) as info:
        parse_describe(_describe_with(change), source="describe.json")
    assert (info.value.source, info.value.field) == ("describe.json", field), str(info.value)


def test_describe_syntax_error_has_a_line_and_single_object_is_accepted():
    with pytest.raises(InputError) as info:
        parse_describe('[\n  {"modelName": "m",\n  }\n]', source="d.json")
    assert info.value.line == 3
    (model,) = parse_describe(_describe_with(lambda m: m.pop("jobQueueStatus"))[1:-1])
    assert model.queue_pending_requests is None
    with pytest.raises(InputError, match="at least one model"):
        parse_describe("[]")
