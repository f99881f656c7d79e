"""What the tabs share: where the bundled scenarios are, and how a user's mistake is shown (one line, no
traceback)."""
from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import yaml

from app import uploads
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
_NOT_SCENARIOS = ("manifests", "profiles", "sweeps")


def _names_a_base(path: Path) -> bool:
    """Optimiser questions (and sweeps) name a `base:` scenario: they are not scenarios themselves."""
    return "base" in (yaml.safe_load(path.read_text()) or {})


def bundled_scenarios() -> list[str]:
    """Scenario files under scenarios/ (relative names), the default first."""
    names = sorted(str(p.relative_to(SCENARIOS)) for p in SCENARIOS.rglob("*.yaml")
                   if p.relative_to(SCENARIOS).parts[0] not in _NOT_SCENARIOS and not _names_a_base(p))
    return sorted(names, key=lambda n: n != "default.yaml")


def show_error(error: InputError) -> None:
    """The InputError's one line, with an upload's storage folder replaced by the word 'uploaded'."""
    message = str(error).replace(str(uploads.default_folder()), "uploaded")
    st.error(f"**Input error.** {message}", icon="⚠️")


def chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, theme=None, config={"displaylogo": False})
