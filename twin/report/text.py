"""A run's summary as text for a terminal: headline numbers, then pods and nodes in kubectl-style columns, pending
pods with the scheduler's reason, the autoscalers' triggers, and the warnings last, where the eye lands.

Plain strings from the summary's JSON dict; no plotting library, so the CLI stays quick to start.
"""
from __future__ import annotations

from typing import Sequence

from twin.report import tables
from twin.report.tables import fmt, pct

MAX_ROWS = 20  # pods or nodes listed before "… and N more"


def columns(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned columns three spaces apart, as kubectl prints them."""
    cells = [[str(c) for c in header], *[["-" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["   ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]


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
    lines = _section("pods", tables.pods(s), always=True)
    load = s.get("diagnostics", {}).get("load") or {}
    if load and load["busiest"]["pod"] != load["idlest"]["pod"]:
        busy, idle = load["busiest"], load["idlest"]
        lines.append(f"  busiest {busy['pod']} {busy['rps']:.1f} req/s, idlest {idle['pod']} {idle['rps']:.1f} req/s "
                     f"(busiest {fmt(load['busiest_over_mean'], 2)}x the mean)")
    return lines


def _nodes(s: dict) -> list[str]:
    return _section("nodes", tables.nodes(s), always=True)


def _pending(s: dict) -> list[str]:
    return _section("pending pods", tables.pending(s))


def _triggers(s: dict) -> list[str]:
    return _section("autoscaler triggers", tables.triggers(s))


def _section(title: str, table: tables.Table, *, always: bool = False) -> list[str]:
    header, rows = table
    if not rows and not always:
        return []
    more = [f"  … and {len(rows) - MAX_ROWS} more"] if len(rows) > MAX_ROWS else []
    return [title] + [f"  {line}" for line in columns(header, rows[:MAX_ROWS])] + more


def side_by_side(labels: Sequence[str], summaries: Sequence[dict]) -> str:
    """Runs in columns, for `servetwin compare`; each run's warnings below."""
    lines = columns(*tables.side_by_side(labels, summaries))
    for label, s in zip(labels, summaries):
        lines += [f"{label}: {line}" for line in warnings(s.get("warnings", []))]
    return "\n".join(lines)


def warnings(found: list[dict]) -> list[str]:
    return [f"warning: {w['message']} [{w['code']}]" for w in found]
