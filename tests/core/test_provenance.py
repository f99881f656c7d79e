"""The bundled profiles' provenance: every fitted run has its leave-one-out errors in the table kept beside them."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from twin.core.provenance import held_out_errors

PROFILES = sorted((Path(__file__).resolve().parents[2] / "calibration" / "profiles").glob("*.yaml"))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_every_fitted_run_of_a_bundled_profile_has_its_held_out_errors(path):
    provenance = yaml.safe_load(path.read_text())["provenance"]
    fitted = provenance["fit_quality"]["runs_of_this_profile"]
    errors = held_out_errors(path, provenance)
    assert set(errors) == set(fitted)
    assert all(abs(e["throughput_rps"]) < 1 and abs(e["avg_response_ms"]) < 1 for e in errors.values())
