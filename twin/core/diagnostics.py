"""What went wrong in a run, in the words a platform engineer uses: pods as `kubectl get pods` shows them, the
busiest and idlest pod, memory against requests and limits, pods left Pending and why, OOM kills, restarts and
CrashLoopBackOff, autoscaler triggers that matched nothing or never fired — and a warning for each of these.

Read from the world at the end of a run and from its event log; plain dicts out, for the JSON summary.
"""
from __future__ import annotations

from collections import Counter

from twin.core import catalogue
from twin.k8s.pod import PENDING, RUNNING, TERMINATING

MIB = 2**20
SCALERS = {"keda": ("keda", "keda-hpa"), "hpa": ("hpa",)}  # a trigger's controller -> decision makers


def warning(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def pod_status(pod) -> str:
    """The STATUS column of `kubectl get pods`."""
    if pod.phase == PENDING:
        return "Pending" if pod.node is None else "ContainerCreating"
    if pod.phase == RUNNING and pod.waiting_reason:
        return pod.waiting_reason
    return "Terminating" if pod.phase == TERMINATING else pod.phase


def pod_memory(pod) -> dict:
    request = pod.requests.get("memory")
    return {"status": pod_status(pod), "memory_request_mib": request / MIB if request else None}


def node_memory(node) -> dict:
    return {"memory_requested_mib": node.requested("memory") / MIB,
            "memory_allocatable_mib": node.allocatable["memory"] / MIB}


def diagnose(world, pods: list[dict], window_s: float) -> tuple[dict, list[dict]]:
    """The diagnostics section of a summary, and its warnings."""
    events = world.events
    found = {
        "load": _load(pods, window_s),
        "pending": _pending(world),
        "unschedulable": _counted(events, "pod_unschedulable", "reason"),
        "oom_kills": _counted(events, "pod_oom_killed", "reason"),
        "gpu_oom": _counted(events, "worker_gpu_oom", "device"),
        "restarts": sum(p["restarts"] for p in pods),
        "crash_loop": [p["name"] for p in pods if p["status"] == "CrashLoopBackOff"],
        "triggers": _triggers(world),
    }
    return found, _warnings(world.scenario, found)


def _load(pods: list[dict], window_s: float) -> dict:
    """Requests each running pod served per second, and the spread between the busiest and the idlest."""
    serving = sorted((p for p in pods if p["status"] == "Running"), key=lambda p: p["served"])
    if not serving:
        return {}
    total = sum(p["served"] for p in serving) or 1
    mean = total / len(serving)

    def entry(pod: dict) -> dict:
        return {"pod": pod["name"], "rps": pod["served"] / window_s, "share": pod["served"] / total}

    return {"busiest": entry(serving[-1]), "idlest": entry(serving[0]),
            "busiest_over_mean": serving[-1]["served"] / mean if mean else None}


def _pending(world) -> list[dict]:
    cluster = world.cluster
    return [{"pod": pod.name, "since_s": pod.created_at, "reason": cluster.why_unschedulable(pod)}
            for pod in cluster.pending_pods]


def _counted(events: list[dict], kind: str, key: str) -> dict:
    """How many events of `kind`, on how many pods, and how many for each value of `key` (a list, so that a sweep's
    flat table gains counts, not one column per message)."""
    chosen = [e for e in events if e["event"] == kind]
    by = Counter(str(e.get(key)) for e in chosen)
    return {"count": len(chosen), "pods": len({e.get("pod") for e in chosen}),
            f"by_{key}": [{key: value, "count": count} for value, count in sorted(by.items())]}


def _triggers(world) -> list[dict]:
    tallies = world.control.ports.metrics.tallies
    decided = {d.controller for d in world.control.decisions if d.action == "scale_deployment"}
    rows = []
    for trigger in catalogue.triggers(world.scenario):
        tally = tallies.get(trigger.query)
        rows.append({"controller": trigger.controller, "name": trigger.name, "query": trigger.query,
                     "asked": tally.asked if tally else 0, "matched": tally.matched if tally else 0,
                     "peak": tally.peak if tally else None, "threshold": trigger.threshold,
                     "activation": trigger.activation,
                     "scaled": bool(decided & set(SCALERS[trigger.controller]))})
    return rows


def _warnings(scenario, found: dict) -> list[dict]:
    return [*query_warnings(scenario), *_trigger_warnings(found["triggers"]), *_pod_warnings(found)]


def query_warnings(scenario) -> list[dict]:
    """Before any run: trigger selectors that select none of the series the twin will produce."""
    return [warning("label_names_no_model" if miss.names_no_model else "query_selects_nothing",
                    f"{miss.trigger.controller} trigger {miss.trigger.name}: {miss.selector} in "
                    f"{miss.trigger.query!r} selects no series: {miss.reason}")
            for miss in catalogue.misses(scenario)]


def _trigger_warnings(rows: list[dict]) -> list[dict]:
    found = []
    for row in rows:
        where = f"{row['controller']} trigger {row['name']} ({row['query']!r})"
        if row["asked"] and not row["matched"]:
            found.append(warning("trigger_no_series", f"{where} matched no series in any of its {row['asked']} "
                                 "evaluations: the autoscaler saw no value and never scaled on it"))
        elif row["asked"] and not row["scaled"]:
            limit = f" against threshold {row['threshold']:g}" if row["threshold"] is not None else ""
            peak = "no number" if row["peak"] is None else f"{row['peak']:.4g}"
            found.append(warning("trigger_never_fired", f"{where} never fired: it peaked at {peak}{limit} and "
                                 "the autoscaler made no scaling decision in the run"))
    return found


def _pod_warnings(found: dict) -> list[dict]:
    unschedulable, oom, gpu_oom = found["unschedulable"], found["oom_kills"], found["gpu_oom"]
    warnings = []
    if unschedulable["count"]:
        reasons = "; ".join(entry["reason"] for entry in unschedulable["by_reason"])
        still = f", {len(found['pending'])} still Pending at the end" if found["pending"] else ""
        warnings.append(warning("unschedulable", f"{unschedulable['pods']} pod(s) could not be scheduled{still}: "
                                f"{reasons}"))
    if oom["count"]:
        reasons = ", ".join(f"{entry['reason']}: {entry['count']}" for entry in oom["by_reason"])
        warnings.append(warning("oom_killed", f"{oom['count']} OOM kill(s) on {oom['pods']} pod(s) ({reasons}); "
                                f"{found['restarts']} restart(s)"))
    if found["crash_loop"]:
        warnings.append(warning("crash_loop", f"in CrashLoopBackOff at the end: {', '.join(found['crash_loop'])}"))
    if gpu_oom["count"]:
        warnings.append(warning("gpu_oom", f"{gpu_oom['count']} worker(s) did not fit in GPU memory (CUDA OOM at "
                                f"load) on {', '.join(e['device'] for e in gpu_oom['by_device'])}"))
    return warnings
