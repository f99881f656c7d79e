"""Readers for the calibration inputs users have: the shared calibration tables, JMeter results, TorchServe answers.

Each reader returns frozen dataclasses and raises `twin.errors.InputError` (file, line, field, expected, got) on a
bad input, never a bare KeyError or ValueError.
"""
from calibration.readers.jmeter_reports import ReportRow, read_jmeter_report
from calibration.readers.jtl import Sample, read_jtl
from calibration.readers.jtl_summary import JtlSummary, summarize, summarize_by_label
from calibration.readers.latency_points import LatencyPoint, read_latency_points, series_by_run
from calibration.readers.resources import Cell, ResourceReading, read_resources
from calibration.readers.runs import Run, RunConfig, RunResult, read_runs
from calibration.readers.torchserve_describe import ModelDescription, WorkerInfo, parse_describe, read_describe
from calibration.readers.torchserve_metrics import Exposition, MetricSample, parse_metrics, read_metrics

__all__ = [
    "Cell", "Exposition", "JtlSummary", "LatencyPoint", "MetricSample", "ModelDescription", "ReportRow",
    "ResourceReading", "Run", "RunConfig", "RunResult", "Sample", "WorkerInfo",
    "parse_describe", "parse_metrics", "read_describe", "read_jmeter_report", "read_jtl", "read_latency_points",
    "read_metrics", "read_resources", "read_runs", "series_by_run", "summarize", "summarize_by_label",
]
