"""Streamlit widgets for `app.fields.FieldSpec`s: a selectbox for a choice, a checkbox for a flag, a number input with
the schema's bounds for a number. Keys carry the scenario's identity, so another scenario starts from its own values."""
from __future__ import annotations

from typing import Any

import streamlit as st

from app import fields


def render(spec: fields.FieldSpec, scope: str) -> Any:
    key = f"{scope}:{spec.path}"
    if spec.kind == "choice":
        return st.selectbox(spec.label, spec.choices, index=spec.choices.index(spec.value), key=key, help=spec.help)
    if spec.kind == "flag":
        return st.checkbox(spec.label, value=bool(spec.value), key=key, help=spec.help)
    low, high = fields.inclusive_bounds(spec)
    if spec.kind == "int":
        return st.number_input(spec.label, value=int(spec.value), step=1, key=key, help=spec.help,
                               min_value=None if low is None else int(low),
                               max_value=None if high is None else int(high))
    return st.number_input(spec.label, value=float(spec.value), step=float(fields.number_step(spec)), key=key,
                           help=spec.help, format="%g", min_value=None if low is None else float(low),
                           max_value=None if high is None else float(high))


def render_sections(sections: list[fields.Section], scope: str) -> dict[str, Any]:
    """Every section in an expander (the first two open); the values by dotted path."""
    values: dict[str, Any] = {}
    for index, section in enumerate(sections):
        with st.expander(section.title, expanded=index < 2):
            for spec in section.specs:
                values[spec.path] = render(spec, scope)
    return values
