"""The written docs agree with the code: the scenario reference is the schema's, every field says what it means,
and the README's links lead somewhere."""
from __future__ import annotations

import re
from pathlib import Path

from twin.config import reference
from twin.config.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]


def test_the_scenario_reference_is_the_schemas():
    written = (ROOT / "docs/scenario.md").read_text()
    assert written == reference.markdown(), "regenerate: python -m twin.config.reference > docs/scenario.md"


def test_every_field_has_a_meaning_and_a_section():
    models = list(reference._models(Scenario, "scenario"))
    undocumented = [f"{model.__name__}.{name}" for _, model, _ in models
                    for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []
    text = reference.markdown()
    assert "## `workload` with `type: closed`" in text and "## `deployment.torchserve.model`" in text
    assert "| `max_batch_delay_ms` | number (≥ 0) | ms | `100.0` | maxBatchDelay:" in text


def test_readme_links_lead_to_files():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#:]+)\)", readme)
    assert "docs/design.md" in links and "docs/scenario.md" in links
    assert [link for link in links if not (ROOT / link).exists()] == []
