"""The bundled fitted profiles: traceable to the bundled data and usable by the scenario loader."""
from pathlib import Path

import yaml

from calibration.mapping import A10, A100, CPU
from calibration.parameters import DETR, ROB
from calibration.profiles import BUNDLED, load_profiles, sha256
from tests.calibration._real import DATA
from twin.config.loader import load_scenario


def test_every_model_has_a_profile_per_accelerator():
    assert set(load_profiles()) == {(m, a) for m in (ROB, DETR) for a in (A100, A10, CPU)}


def test_provenance_names_the_bundled_tables_by_hash_and_ranges_bracket_values():
    for path in BUNDLED.glob("*.yaml"):
        provenance = yaml.safe_load(path.read_text())["provenance"]
        hashes = {s["file"]: s["sha256"] for s in provenance["sources"]}
        assert hashes["runs.csv"] == sha256(DATA / "runs.csv")
        assert provenance["data"]
        for name, r in provenance["parameters_95pct"].items():
            assert r["low"] <= r["value"] <= r["high"], (path.name, name)


def test_a_scenario_file_can_use_a_bundled_profile(tmp_path: Path):
    profile = BUNDLED / "roberta-base-go_emotions-a10-4q.yaml"
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({
        "duration_s": 10, "node_pools": [{"name": "a10", "vcpus": 6, "memory_gib": 55}],
        "model": {"profile": str(profile)}, "workload": {"type": "closed", "users": 1}}))
    scenario = load_scenario(tmp_path / "s.yaml")
    assert scenario.model == load_profiles()[(ROB, A10)]
