"""The rows of a summary's tables — pods, nodes, pending pods, triggers, and runs side by side — as plain cells,
for the terminal (twin.report.text) and the HTML report alike. Columns follow `kubectl get` where one exists."""
from __future__ import annotations

from typing import Sequence

Table = tuple[tuple[str, ...], list[tuple]]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def mib(used: float | None, *limits: float | None) -> str:
    """`used/request/limit` in MiB, `-` where there is none."""
    return "/".join("-" if v is None else f"{v:.0f}" for v in (used, *limits))


def pods(s: dict) -> Table:
    window = s["measured_s"] or 1.0
    total = sum(p["served"] for p in s["pods"]) or 1
    rows = [(p["name"], p["node"], p.get("status", p["phase"]), "1/1" if p["ready"] else "0/1", p["restarts"],
             p["workers"], fmt(p["served"] / window), pct(p["served"] / total),
             mib(p["host_memory_mib"], p.get("memory_request_mib"), p["memory_limit_mib"]),
             f"{p['gpu_memory_mib']:.0f}") for p in s["pods"]]
    return ("NAME", "NODE", "STATUS", "READY", "RESTARTS", "WORKERS", "REQ/S", "SHARE", "MEM MiB USED/REQ/LIMIT",
            "GPU MiB"), rows


def nodes(s: dict) -> Table:
    rows = [(n["name"], n["pool"], n["pods"], pct(n["cpu_util"]), fmt(n["load_avg"], 2),
             mib(n["host_memory_mib"], n.get("memory_requested_mib"), n.get("memory_allocatable_mib")),
             "  ".join(f"{g['name'].rsplit('/', 1)[-1]} {pct(g['util'])} {g['memory_used_mib']:.0f}/"
                       f"{g['memory_capacity_mib']:.0f}" for g in n["gpus"]) or "-")
            for n in s["nodes"]]
    return ("NAME", "POOL", "PODS", "CPU", "LOAD", "MEM MiB USED/REQ/ALLOC", "GPU UTIL MiB USED/CAP"), rows


def pending(s: dict) -> Table:
    rows = [(p["pod"], f"{p['since_s']:g} s", p["reason"]) for p in s.get("diagnostics", {}).get("pending") or []]
    return ("NAME", "SINCE", "REASON"), rows


def triggers(s: dict) -> Table:
    rows = [(f"{t['controller']} {t['name']}", f"{t['matched']}/{t['asked']}", fmt(t["peak"], 3),
             "-" if t["threshold"] is None else f"{t['threshold']:g}", "yes" if t["scaled"] else "no", t["query"])
            for t in s.get("diagnostics", {}).get("triggers") or []]
    return ("TRIGGER", "MATCHED", "PEAK", "THRESHOLD", "SCALED", "QUERY"), rows


# what a side-by-side comparison shows: (row name, how to read it from a summary)
COMPARED = (
    ("throughput (req/s)", lambda s: fmt(s["throughput_rps"])),
    ("latency p50 (ms)", lambda s: fmt(s["latency_ms"]["p50"])),
    ("latency p95 (ms)", lambda s: fmt(s["latency_ms"]["p95"])),
    ("latency p99 (ms)", lambda s: fmt(s["latency_ms"]["p99"])),
    ("errors", lambda s: s["errors"]["total"]),
    ("SLO violated (min)", lambda s: fmt(s["slo"]["violation_minutes"])),
    ("cost (USD)", lambda s: f"{s['cost']['total_usd']:.4f}"),
    ("USD per million", lambda s: fmt(s["cost"]["usd_per_million"], 2)),
    ("pods at the end", lambda s: len(s["pods"])),
    ("workers at the end", lambda s: sum(p["workers"] for p in s["pods"])),
    ("nodes at the end", lambda s: len(s["nodes"])),
    ("cpu / gpu busy", lambda s: f"{pct(s['cpu_util'])} / {pct(s['gpu_util'])}"),
    ("pending at the end", lambda s: len(s.get("diagnostics", {}).get("pending") or [])),
    ("OOM kills", lambda s: s.get("diagnostics", {}).get("oom_kills", {}).get("count", 0)),
    ("memory wasted (GiB h)", lambda s: fmt(s.get("memory", {}).get("wasted_gib_hours"))),
    ("short of memory (min)", lambda s: fmt(s.get("memory", {}).get("short_minutes"))),
    ("restarts", lambda s: s.get("diagnostics", {}).get("restarts", 0)),
    ("autoscaler decisions", lambda s: s["decisions"]),
    ("warnings", lambda s: len(s.get("warnings", []))),
)


def side_by_side(labels: Sequence[str], summaries: Sequence[dict]) -> Table:
    """One row per compared quantity, one column per run."""
    return ("METRIC", *labels), [(name, *(read(s) for s in summaries)) for name, read in COMPARED]
