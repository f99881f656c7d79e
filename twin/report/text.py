"""A run's summary as text for a terminal: headline numbers, then pods and nodes in kubectl-style columns, pending
pods with the scheduler's reason, the autoscalers' triggers, and the warnings last, where the eye lands.

Plain strings from the summary's JSON dict; no plotting library, so the CLI stays quick to start.
"""
from __future__ import annotations

from typing import Sequence

MAX_ROWS = 20  # pods or nodes listed before "… and N more"


def columns(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned columns three spaces apart, as kubectl prints them."""
    cells = [[str(c) for c in header], *[["-" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def mib(used: float | None, *limits: float | None) -> str:
    """`used/request/limit` in MiB, `-` where there is none."""
    return "/".join("-" if v is None else f"{v:.0f}" for v in (used, *limits))


def summary(s: dict) -> str:
    sections = [_headline(s), _pods(s), _nodes(s), _pending(s), _triggers(s), warnings(s.get("warnings", []))]
    return "\n".join(line for section in sections for line in section)


def _headline(s: dict) -> list[str]:
    latency, errors, cost, slo = s["latency_ms"], s["errors"], s["cost"], s["slo"]
    kinds = ", ".join(f"{k} {v}" for k, v in errors.items() if k != "total" and v)
    return [
        f"scenario {s['scenario']} (seed {s['seed']}): {s['simulated_s']:g} s simulated in {s['wall_s']:.2f} s",
        f"  requests     {s['requests']}  throughput {s['throughput_rps']:.1f} req/s",
        "  latency ms   " + "  ".join(f"{k} {fmt(v)}" for k, v in latency.items()),
        f"  errors       {errors['total']}" + (f" ({kinds})" if kinds else ""),
        f"  utilisation  cpu {pct(s['cpu_util'])}  gpu {pct(s['gpu_util'])}  load avg {fmt(s['load_avg'])}",
        f"  cost         ${cost['total_usd']:.4f}  (${fmt(cost['usd_per_million'])} per million inferences)",
        f"  SLO          {slo['violation_minutes']:.1f} min violated (p95 > {slo['latency_p95_ms']:g} ms or errors > "
        f"{100 * slo['max_error_ratio']:g} %)" + (f"; {s['decisions']} autoscaler decisions" if s["decisions"] else ""),
    ]


def _pods(s: dict) -> list[str]:
    pods, window = s["pods"], s["measured_s"] or 1.0
    total = sum(p["served"] for p in pods) or 1
    rows = [(p["name"], p["node"], p.get("status", p["phase"]), "1/1" if p["ready"] else "0/1", p["restarts"],
             p["workers"], fmt(p["served"] / window), pct(p["served"] / total),
             mib(p["host_memory_mib"], p.get("memory_request_mib"), p["memory_limit_mib"]), f"{p['gpu_memory_mib']:.0f}")
            for p in pods]
    header = ("NAME", "NODE", "STATUS", "READY", "RESTARTS", "WORKERS", "REQ/S", "SHARE", "MEM MiB USED/REQ/LIMIT",
              "GPU MiB")
    lines = ["pods"] + _indented(columns(header, rows[:MAX_ROWS])) + _more(rows)
    load = s.get("diagnostics", {}).get("load") or {}
    if load and load["busiest"]["pod"] != load["idlest"]["pod"]:
        busy, idle = load["busiest"], load["idlest"]
        lines.append(f"  busiest {busy['pod']} {busy['rps']:.1f} req/s, idlest {idle['pod']} {idle['rps']:.1f} req/s "
                     f"(busiest {fmt(load['busiest_over_mean'], 2)}x the mean)")
    return lines


def _nodes(s: dict) -> list[str]:
    rows = [(n["name"], n["pool"], n["pods"], pct(n["cpu_util"]), fmt(n["load_avg"], 2),
             mib(n["host_memory_mib"], n.get("memory_requested_mib"), n.get("memory_allocatable_mib")),
             "  ".join(f"{g['name'].rsplit('/', 1)[-1]} {pct(g['util'])} {g['memory_used_mib']:.0f}/"
                       f"{g['memory_capacity_mib']:.0f}" for g in n["gpus"]) or "-")
            for n in s["nodes"]]
    header = ("NAME", "POOL", "PODS", "CPU", "LOAD", "MEM MiB USED/REQ/ALLOC", "GPU UTIL MiB USED/CAP")
    return ["nodes"] + _indented(columns(header, rows[:MAX_ROWS])) + _more(rows)


def _pending(s: dict) -> list[str]:
    pending = s.get("diagnostics", {}).get("pending") or []
    rows = [(p["pod"], f"{p['since_s']:g} s", p["reason"]) for p in pending]
    return ["pending pods"] + _indented(columns(("NAME", "SINCE", "REASON"), rows[:MAX_ROWS])) + _more(rows) \
        if rows else []


def _triggers(s: dict) -> list[str]:
    triggers = s.get("diagnostics", {}).get("triggers") or []
    rows = [(f"{t['controller']} {t['name']}", f"{t['matched']}/{t['asked']}", fmt(t["peak"], 3),
             "-" if t["threshold"] is None else f"{t['threshold']:g}", "yes" if t["scaled"] else "no", t["query"])
            for t in triggers]
    header = ("TRIGGER", "MATCHED", "PEAK", "THRESHOLD", "SCALED", "QUERY")
    return ["autoscaler triggers"] + _indented(columns(header, rows)) if rows else []


def warnings(found: list[dict]) -> list[str]:
    return [f"warning: {w['message']} [{w['code']}]" for w in found]


def _indented(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]


def _more(rows: list) -> list[str]:
    return [f"  … and {len(rows) - MAX_ROWS} more"] if len(rows) > MAX_ROWS else []
