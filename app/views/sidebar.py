"""The sidebar: pick a scenario, upload real manifests and a JMeter result, change what the what-if question changes.

The widgets come from the schema (`app.fields`) with the resolved scenario's values as defaults, so an uploaded
Deployment's replicas or a config.properties' batch size is what the widgets start from.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app import fields, measured, overrides, uploads, widgets
from app.runs import Setup
from app.views import common
from twin.config.schema import Scenario
from twin.errors import InputError


@dataclass
class Current:
    """The configuration the sidebar describes."""

    setup: Setup
    scenario: Scenario | None  # None when the changes do not validate (the error is shown)
    seed: int
    base_overrides: dict[str, Any] = field(default_factory=dict)  # from the uploads
    changes: dict[str, Any] = field(default_factory=dict)  # from the widgets
    jtl: measured.Measured | None = None  # the uploaded JMeter result

    def with_changes(self, extra: dict[str, Any]) -> Setup:
        """This configuration with more changes (dotted paths, list items by index)."""
        return compose(self.setup.label, self.setup.path, self.base_overrides, {**self.changes, **extra})


def compose(label: str, path: str, base_overrides: dict[str, Any], changes: dict[str, Any]) -> Setup:
    document = overrides.scenario_document(path)
    return Setup(label, path, {**base_overrides, **overrides.loader_overrides(document, changes)})


def render() -> Current | None:
    with st.sidebar:
        st.header("Scenario")
        name = st.selectbox("Scenario file", common.bundled_scenarios(), key="scenario",
                            help="Files under scenarios/; the schema is twin/config/schema.py")
        own = st.text_input("…or a scenario file", key="scenario_file", placeholder="snapshot/scenario.yaml",
                            help="Any scenario on this machine, e.g. the cluster as it is: the scenario.yaml that "
                                 "`servetwin live SETTINGS --snapshot DIR` wrote").strip()
        seed = int(st.number_input("Seed", value=1, min_value=0, step=1, key="seed",
                                   help="Same scenario and seed, same result (runs are cached)"))
        name, path = (own, own) if own else (name, str(common.SCENARIOS / name))
        manifest_files, jtl_file = _upload_widgets()
        base_overrides = _manifest_overrides(path, manifest_files)
        base = _load(Setup(name, path, base_overrides))
        if base is None and base_overrides:  # the uploads do not fit: go on with the scenario's own files
            base_overrides = {}
            base = _load(Setup(name, path, base_overrides))
        if base is None:
            return None
        if base.description:
            st.caption(base.description)
        st.header("What if…")
        sections = fields.sections(base)
        scope = hashlib.sha256(f"{path}|{overrides.canonical(base_overrides)}".encode()).hexdigest()[:12]
        values = widgets.render_sections(sections, scope)
        changes = fields.changes([s for section in sections for s in section.specs], values)
        setup = compose(name, path, base_overrides, changes)
        return Current(setup, _load(setup), seed, base_overrides, changes, _read_jtl(jtl_file))


def _load(setup: Setup) -> Scenario | None:
    try:
        return setup.scenario()
    except InputError as error:
        common.show_error(error)
        return None


def _upload_widgets():
    with st.expander("Upload real manifests and a JMeter result"):
        manifest_files = st.file_uploader(
            "Deployment, HPA or KEDA ScaledObject (YAML), TorchServe config.properties",
            type=["yaml", "yml", "properties"], accept_multiple_files=True, key="manifests",
            help="They replace the scenario's own references")
        jtl_file = st.file_uploader("JMeter result (.jtl or .csv)", type=["jtl", "csv"], key="jtl",
                                    help="Compared with the twin in the Calibration tab")
    return manifest_files or [], jtl_file


def _manifest_overrides(path: str, files) -> dict[str, Any]:
    if not files:
        return {}
    try:
        return uploads.manifest_overrides(overrides.scenario_document(path),
                                          [uploads.Upload(f.name, f.getvalue()) for f in files],
                                          uploads.default_folder())
    except InputError as error:
        common.show_error(error)
        return {}


def _read_jtl(file) -> measured.Measured | None:
    if file is None:
        return None
    try:
        return measured.read_measured(uploads.store(uploads.Upload(file.name, file.getvalue()),
                                                    uploads.default_folder()))
    except InputError as error:
        common.show_error(error)
        return None
