"""The report pages: a run, runs side by side, a sweep and an optimiser's answer — each one HTML document made of
the same tables as the terminal and the same figures as the dashboard."""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from twin.report import figures_compare, figures_run, figures_sweep, html, series, tables

RUN_SECTIONS = (("Pods", tables.pods), ("Nodes", tables.nodes), ("Pending pods", tables.pending),
                ("Autoscaler triggers", tables.triggers))
COMPARED_SERIES = (("latency_p95_ms", "p95 latency", "latency (ms)"),
                   ("ok", "Throughput", "responses per second (req/s)"), ("pods", "Pods", "pods"))
COMPARED_METRICS = (("throughput_rps", "Throughput", "req/s"), ("latency_ms.p95", "p95 latency", "ms"),
                    ("cost.total_usd", "Cost", "USD"), ("slo.violation_minutes", "SLO violated", "min"))


def run_figures(scenario: dict, timeseries: pd.DataFrame, events: list[dict]) -> list:
    """The Run tab's six figures."""
    capacity = series.capacity(timeseries["time_s"], events, series.pool_shapes(scenario))
    return [figures_run.latency(timeseries, scenario["slo"]["latency_p95_ms"]), figures_run.throughput(timeseries),
            figures_run.scaling(timeseries, events), figures_run.memory(timeseries, capacity),
            figures_run.utilisation(timeseries), figures_run.cost(capacity)]


def run(summary: dict, scenario: dict, timeseries: pd.DataFrame, events: list[dict]) -> str:
    sections = [("Warnings", html.warnings(summary.get("warnings", []))),
                ("Summary", html.table(*tables.side_by_side([summary["scenario"]], [summary])))]
    sections += [(title, html.table(*table(summary))) for title, table in RUN_SECTIONS]
    sections.append(("Figures", html.figures(run_figures(scenario, timeseries, events))))
    return html.page(f"servetwin run · {summary['scenario']}",
                     f"seed {summary['seed']} · {summary['simulated_s']:g} s simulated", sections)


def compare(labels: Sequence[str], summaries: Sequence[Sequence[dict]], frames: Sequence[Sequence[pd.DataFrame]]
            ) -> str:
    """Runs side by side: `summaries[i]` and `frames[i]` are configuration i's runs, one per seed (the table shows
    the first seed's)."""
    firsts = [runs[0] for runs in summaries]
    sections = [("Side by side", html.table(*tables.side_by_side(labels, firsts)))]
    sections += [(f"Warnings · {label}", html.warnings(s.get("warnings", []))) for label, s in zip(labels, firsts)]
    bands = [figures_compare.bands(dict(zip(labels, frames)), column, title=title, y=unit)
             for column, title, unit in COMPARED_SERIES]
    bars = [figures_compare.metric_bars({label: [figures_compare.summary_value(s, path) for s in runs]
                                         for label, runs in zip(labels, summaries)}, title=title, y=unit)
            for path, title, unit in COMPARED_METRICS]
    sections.append(("Figures", html.figures(bands + bars)))
    seeds = len(summaries[0])
    return html.page(f"servetwin compare · {' vs '.join(labels)}", f"{seeds} seed(s) per configuration", sections)


def sweep(points: pd.DataFrame, fields: Sequence[str], title: str) -> str:
    """Heatmaps (or lines, for one parameter) of the metrics that vary across the sweep's points."""
    figs = figures_sweep.overview(points, list(fields))
    shown = [c for c in points.columns if c in fields or c.endswith(".mean") and c in figures_sweep.KEY_METRICS]
    sections = [("Figures", html.figures(figs)),
                ("Points", html.table(shown, points[shown].round(4).itertuples(index=False)))]
    return html.page(f"servetwin sweep · {title}", f"{len(points)} points over {', '.join(fields)}", sections)


def optimize(candidates: pd.DataFrame, fields: Sequence[str], title: str, answer: str) -> str:
    """The optimiser's answer, its Pareto front of cost against SLO violation, and heatmaps of its candidates."""
    figs = [figures_sweep.pareto(candidates, list(fields))] + figures_sweep.overview(candidates, list(fields))
    shown = [c for c in candidates.columns if c in fields or c in ("feasible", "pareto")
             or c in (figures_sweep.COST, figures_sweep.VIOLATION)]
    ordered = candidates.sort_values(figures_sweep.COST)[shown].round(4)
    sections = [("Answer", html.preformatted(answer)), ("Figures", html.figures(figs)),
                ("Candidates", html.table(shown, ordered.itertuples(index=False)))]
    return html.page(f"servetwin optimize · {title}", f"{len(candidates)} candidates over {', '.join(fields)}",
                     sections)
