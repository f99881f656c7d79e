"""The layers of DESIGN.md, enforced: top imports bottom, never the reverse; pure code has no simpy and no clock."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (group, rank) by module prefix; the longest prefix wins. A module may import a lower rank, or its own group.
LAYERS = {
    "app": ("surface", 5), "calibration": ("surface", 5), "twin.cli": ("surface", 5),
    "twin.__main__": ("surface", 5),
    "twin.live": ("orchestration", 4), "twin.sweep": ("orchestration", 4),
    "twin.core": ("assembly", 3),
    "twin.workload": ("components", 2), "twin.torchserve": ("components", 2), "twin.gpu": ("components", 2),
    "twin.k8s": ("components", 2), "twin.metrics": ("components", 2),
    "twin.control": ("control", 2),
    "twin.kernel": ("kernel", 1), "twin.progress": ("terminal", 1), "twin.report": ("reports", 1),
    "twin.policies": ("pure", 0), "twin.config": ("pure", 0), "twin.metrics.promql": ("pure", 0),
    "twin.metrics.tsdb": ("pure", 0), "twin.ports": ("pure", 0), "twin.errors": ("pure", 0),
    "twin.theory": ("pure", 0), "twin.importer": ("pure", 0), "twin": ("pure", 0),
}
WALL_CLOCK_ALLOWED = ("twin.live", "twin.sweep", "twin.cli", "twin.progress", "calibration", "app")


def layer(module: str) -> tuple[str, int]:
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".") or module.startswith(p + "_")]
    return LAYERS[max(matches, key=len)]


def modules():
    for package in ("twin", "calibration", "app"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield name, ast.parse(path.read_text())


def imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


ALL = list(modules())


@pytest.mark.parametrize("name, tree", ALL, ids=[name for name, _ in ALL])
def test_imports_go_down_the_layers(name, tree):
    group, rank = layer(name)
    for target in imported(tree):
        if target.split(".")[0] not in ("twin", "calibration", "app"):
            continue
        if (ROOT / target.replace(".", "/")).is_dir():
            continue  # a package's __init__ holds only its docstring: `from pkg import module` is judged by module
        target_group, target_rank = layer(target)
        assert target_group == group or target_rank < rank, f"{name} ({group}) imports {target} ({target_group})"


@pytest.mark.parametrize("name, tree", ALL, ids=[name for name, _ in ALL])
def test_pure_code_has_no_simulation_or_clock(name, tree):
    group, _ = layer(name)
    names = imported(tree)
    if group in ("pure", "control"):
        assert not any(n == "simpy" or n.startswith("simpy.") for n in names), f"{name} imports simpy"
    if not name.startswith(WALL_CLOCK_ALLOWED):
        clock_calls = {"time.time", "time.perf_counter", "time.monotonic", "datetime.now", "time.sleep"}
        used = {f"{n.value.id}.{n.attr}" for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
        assert not used & clock_calls, f"{name} reads the wall clock: {used & clock_calls}"


def test_package_inits_hold_no_imports():
    """`from twin.x import module` is judged by the module alone only because package inits import nothing; the
    root's imports only the finder of compiled modules (standard library only), which must precede every module."""
    for init in (ROOT / "twin").rglob("__init__.py"):
        allowed = {"twin", "twin.compiled"} if init.parent == ROOT / "twin" else set()
        assert imported(ast.parse(init.read_text())) <= allowed, init
    finder = imported(ast.parse((ROOT / "twin/compiled.py").read_text()))
    assert {name.partition(".")[0] for name in finder} <= set(sys.stdlib_module_names)
