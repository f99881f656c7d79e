"""What the tabs share: where the bundled scenarios are, and how a user's mistake is shown (one line, no
traceback)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import plotly.graph_objects as go
import streamlit as st
import yaml

from app import uploads
from twin.config import bundled
from twin.errors import InputError

T = TypeVar("T")
SCENARIOS = bundled.SCENARIOS


def _names_a_base(path: Path) -> bool:
    """Optimiser questions (and sweeps) name a `base:` scenario: they are not scenarios themselves."""
    return "base" in (yaml.safe_load(path.read_text()) or {})


def bundled_scenarios() -> list[str]:
    """The bundled scenarios (twin.config.bundled: the names `servetwin run` takes) as files under scenarios/, the
    default first."""
    return [f"{name}.yaml" for name in bundled.scenario_names() if not _names_a_base(SCENARIOS / f"{name}.yaml")]


def show_error(error: InputError) -> None:
    """The InputError's one line, with an upload's storage folder replaced by the word 'uploaded'."""
    message = str(error).replace(str(uploads.default_folder()), "uploaded")
    st.error(f"**Input error.** {message}", icon="⚠️")


def read(reader: Callable[[Path], T], path: str) -> T | None:
    """What `reader` makes of the file at `path`, or None once its input error is shown."""
    try:
        return reader(Path(path))
    except InputError as error:
        show_error(error)
        return None


def metric_row(cells: list[tuple[str, object]]) -> None:
    """One row of headline numbers, (label, value) each."""
    for column, (label, value) in zip(st.columns(len(cells)), cells):
        column.metric(label, value)


def chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, theme=None, config={"displaylogo": False})
