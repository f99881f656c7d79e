"""Fitted profiles as YAML files `{provenance: {...}, profile: {...}}`, one per (model, accelerator).

The provenance says where every number came from: the source tables and their sha256, the date, the runs fitted,
how well the twin then reproduces each of them, the 95 % range of each fitted parameter, which fields were read,
transferred from another profile or estimated, and where the data is thin. The scenario loader reads these files
directly (it unwraps the top-level `profile:` key).
"""
from __future__ import annotations

import datetime
import hashlib
from pathlib import Path
from typing import Mapping

import yaml

from calibration import intervals
from calibration import parameters as P
from calibration.fit import Fit, Observation
from calibration.mapping import A10, A100, CPU
from calibration.predict import Prediction
from calibration.readings import Readings
from twin.config import loader, reading
from twin.config.schema import ModelProfile
from twin.errors import InputError

BUNDLED = Path(__file__).parent / "profiles"
THIN = {
    (P.ROB, A100): "3 runs, all at 5 users; cpu/gpu split from htop and nvtop readings (utilisation law)",
    (P.ROB, A10): "7 runs (1-10 users, one time-sliced); the A10-4Q's timeslice_efficiency rests on the one "
                  "GPUSHARE run, whose pods/workers were not stated (2 pods x 1 worker assumed); its kernel time "
                  "against the A100's has a prior from both devices' specs (without A10 runs it predicts them)",
    (P.ROB, CPU): "2 runs; cpu_threads torch's default (one per core), so cpu_oversubscription_penalty rests on "
                  "the one 5-pod run, which began with 1 of its 5 pods up (mapping.READY_AT_START): its first "
                  "minute pins cpu_ms like the 1-pod run, its second the penalty",
    (P.DETR, A100): "2 runs of one worker (1 and 5 users); the cpu/gpu split is only identified through the A10 run "
                    "and roberta's A10/A100 GPU ratio",
    (P.DETR, A10): "1 run (1 user): gpu_ms = A100 gpu_ms x roberta's A10/A100 ratio; frontend_ms derived "
                   "(parameters.py); multi-user behaviour untested",
    (P.DETR, CPU): "1 run (1 user of 6 workers): cpu_ms from that run; the oversubscription penalty is the "
                   "runtime's spin per barrier (fitted on roberta) times DETR's barriers per ms (a count of its "
                   "convolutions and linears); multi-user behaviour untested. Without that run the fit falls "
                   "back on the geometric mean of roberta's CPU time scaled by multiply-accumulates (86 G vs 1 G, "
                   "overshoots) and DETR's A10-node time scaled by roberta's CPU/A10 ratio (undershoots): "
                   "leave-one-out +28 % throughput, -21 % latency",
}


FIXED_STUDY = "cpu_threads (1 for roberta on GPU nodes; torch's default, one per core, on CPU and for DETR), " \
              "demand lognormal cv 0.2, load_time_s default (not measured)"
NO_MEMORY = "no readings: memory fields and load time are the schema's defaults"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_name(key: tuple[str, str]) -> str:
    return f"{key[0]}-{key[1]}.yaml"


def write_profiles(fit: Fit, readings: Readings, *, sources: list[Path], out_dir: Path,
                   in_sample: Mapping[str, tuple[Observation, Prediction]]) -> list[Path]:
    """One YAML file per profile in `out_dir`; `in_sample` maps run id → (the run, the twin's prediction)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key in fit.space.demands(fit.theta):
        profile = fit.space.profile(key, fit.theta, readings.memory)
        document = {"provenance": {**_provenance(key, fit, readings, sources, in_sample),
                                   "assumed": list(profile.assumed)},
                    "profile": _rounded(profile.model_dump(mode="json", exclude_defaults=False))}
        path = out_dir / file_name(key)
        path.write_text(yaml.safe_dump(document, sort_keys=False, width=118))
        written.append(path)
    return written


def _provenance(key, fit: Fit, readings: Readings, sources: list[Path], in_sample) -> dict:
    _, memory_notes, _ = P.measured_fields(key, readings.memory)
    runs = {rid: _errors(obs, pred) for rid, (obs, pred) in in_sample.items() if obs.setup.profile_key == key}
    return {
        "model": key[0], "accelerator": key[1],
        "sources": [{"file": p.name, "sha256": sha256(p)} for p in sources],
        "date": datetime.date.today().isoformat(),
        "method": "least squares on log throughput and log mean latency of every run ("
                  + ("shared physical parameters, calibration/parameters.py" if key in P.STUDY_KEYS else
                     "this profile's own service and outside-the-worker times, calibration/space.py")
                  + "), resource readings as utilisation-law constraints, surrogate search confirmed by the twin "
                    "(space mapping)",
        "uncertainty": "parameters_95pct: linearised (Laplace) covariance of the log-parameters at the optimum, "
                       "scaled by the misfit; derived fields by the delta method. prediction_spread: the covariance "
                       "of the fitted fields' logs and the fit's misfit, from which `predict` draws its 90 % "
                       "intervals (calibration/intervals.py)",
        "fit_quality": {"rms_log_error_all_runs": round(fit.rms_log_error, 4), "runs_of_this_profile": runs},
        "parameters_95pct": {name: _range(value, low, high) for name, (value, low, high)
                             in fit.field_ranges(key).items()},
        "prediction_spread": intervals.spread_of(fit, key).as_dict(),
        "fixed": FIXED_STUDY if key in P.STUDY_KEYS else "; ".join(
            [*fit.space.assumed(key), "demand lognormal", "load_time_s default unless observed"]),
        "memory": memory_notes or [NO_MEMORY],
        "data": THIN.get(key) or f"{len(runs)} runs of this model on {key[1]}",
    }


def _range(value: float, low: float | None, high: float | None) -> dict:
    if low is None:
        return {"value": _r(value), "note": "not identified by the runs fitted (prior or initial value)"}
    return {"value": _r(value), "low": _r(low), "high": _r(high)}


def _errors(obs: Observation, pred: Prediction) -> dict:
    result = obs.run.result
    return {"throughput_rps": [result.throughput_rps, _r(pred.throughput_rps)],
            "avg_response_ms": [result.avg_response_ms, _r(pred.avg_response_ms)]}


def _r(value: float) -> float:
    return float(f"{value:.4g}")


def _rounded(fields: dict) -> dict:
    return {k: _r(v) if isinstance(v, float) else v for k, v in fields.items()}


def load_profiles(directory: Path = BUNDLED) -> dict[tuple[str, str], ModelProfile]:
    """Every profile file in `directory`, keyed by (model, accelerator) from its provenance; a folder that is
    missing, a file, or holds no profile is a user error, not an empty table."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(str(directory), "", "a folder of profile YAML files",
                         "a file" if directory.exists() else "no such folder")
    profiles = dict(_profile(path) for path in sorted(directory.glob("*.yaml")))
    if not profiles:
        raise InputError(str(directory), "", "at least one profile YAML file (*.yaml)", "none")
    return profiles


def _profile(path: Path) -> tuple[tuple[str, str], ModelProfile]:
    document, lines = reading.read_yaml(path)
    provenance = document.get("provenance") if isinstance(document, dict) else None
    keys = provenance and (provenance.get("model"), provenance.get("accelerator"))
    if not keys or not all(isinstance(key, str) for key in keys):
        raise InputError(str(path), "provenance", "a mapping with model and accelerator names",
                         repr(provenance)[:60], lines.get(("provenance",)))
    profile_lines = {key[1:]: line for key, line in lines.items() if key[:1] == ("profile",)}
    return keys, loader.validate(ModelProfile, document.get("profile"), source=str(path), lines=profile_lines)


def load_spreads(directory: Path = BUNDLED) -> dict[tuple[str, str], intervals.Spread]:
    """The fit's uncertainty of every profile in `directory` that records one (intervals.of_provenance)."""
    out = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        provenance = yaml.safe_load(path.read_text())["provenance"]
        spread = intervals.of_provenance(provenance)
        if spread is not None:
            out[(provenance["model"], provenance["accelerator"])] = spread
    return out
