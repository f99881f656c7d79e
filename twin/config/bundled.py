"""The scenarios and calibrated profiles that ship with ServeTwin, usable by name.

`servetwin run default`, `servetwin sweep sweeps/pods-by-workers`, `model: {profile: detr-resnet-50-a10-4q}`: a name
that is not an existing file is looked up among the bundled files. Those sit beside the `twin` package, in a
checkout as in site-packages (pyproject ships `scenarios/` and `calibration/profiles/` as data), so relative
references between them hold in both.
"""
from __future__ import annotations

from pathlib import Path

from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
PROFILES = ROOT / "calibration" / "profiles"
_NOT_SCENARIOS = ("manifests", "profiles")  # folders of files that scenarios reference


def scenario_file(text: str) -> Path:
    """`text` if it names something on disk (the reader says what is wrong with a folder or a device), else the
    bundled scenario (or sweep, or question) of that name."""
    path = Path(text)
    if text and path.exists():
        return path
    name = text.removeprefix("scenarios/")  # the README's paths work from any folder
    named = SCENARIOS / (name if name.endswith(".yaml") else f"{name}.yaml")
    if named.is_file():
        return named
    raise InputError(text or "<empty path>", "", f"a scenario file or a bundled scenario: "
                     f"{', '.join(scenario_names())}", "no such file")


def profile_file(text: str) -> Path | None:
    """The bundled profile whose file stem is `text`, or None."""
    path = PROFILES / f"{text}.yaml"
    return path if "/" not in text and path.is_file() else None


def scenario_names() -> list[str]:
    """Bundled scenario names (relative to scenarios/, without .yaml), the default first."""
    names = sorted(str(p.relative_to(SCENARIOS).with_suffix("")) for p in SCENARIOS.rglob("*.yaml")
                   if p.relative_to(SCENARIOS).parts[0] not in _NOT_SCENARIOS)
    return sorted(names, key=lambda name: name != "default")


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES.glob("*.yaml"))
