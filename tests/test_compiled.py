"""Compiled builds of the hot modules: loaded only when built from the source beside them, and equal to it.

The finder's choice is tested on a package tree of its own (a build's file name carries its source's hash, so no
compiler is needed to test it). The equality test runs a seeded scenario compiled and as source, building the
modules first where the tree has no current builds (a tree run from a checkout without an install).
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader
from pathlib import Path

import pytest

from twin import compiled

ROOT = Path(__file__).resolve().parents[1]
MODULE = "twin.kernel.ps"


def tree_with(tmp_path: Path, digest: str | None = None) -> Path:
    """A package tree holding ps.py (and its .pxd) and, when `digest` is given, a build named for a source of that
    hash."""
    source = compiled.source_of(MODULE, tmp_path)
    source.parent.mkdir(parents=True)
    for suffix in (".py", ".pxd"):
        shutil.copy(compiled.source_of(MODULE).with_suffix(suffix), source.with_suffix(suffix))
    if digest is not None:
        source.with_name(compiled.build_name(MODULE, digest, EXTENSION_SUFFIXES[0])).write_bytes(b"")
    return source


def test_a_build_of_this_source_is_what_the_finder_loads(tmp_path):
    source = tree_with(tmp_path, compiled.source_hash(compiled.source_of(MODULE)))
    current, stale = compiled.builds(tmp_path)
    assert stale == [] and list(current) == [MODULE]
    spec = compiled.CompiledFinder(current).find_spec(MODULE)
    assert isinstance(spec.loader, ExtensionFileLoader) and Path(spec.origin) == current[MODULE]
    assert Path(spec.origin).parent == source.parent
    assert compiled.CompiledFinder(current).find_spec("twin.kernel.timer") is None


@pytest.mark.parametrize("edited", [".py", ".pxd"])
def test_an_edited_source_runs_as_python_with_one_warning(edited, tmp_path, monkeypatch):
    source = tree_with(tmp_path, compiled.source_hash(compiled.source_of(MODULE))).with_suffix(edited)
    source.write_text(source.read_text() + "\n# edited after the build\n")
    monkeypatch.delenv("SERVETWIN_PURE_PYTHON", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert compiled.install(tmp_path) is None  # no current build: nothing goes on sys.meta_path
    assert [str(w.message).split(" built")[0] for w in caught] == [f"compiled {MODULE}"]
    assert caught[0].category is compiled.StaleBuild


def test_no_build_is_silent_and_pure_python_can_be_asked_for(tmp_path, monkeypatch):
    tree_with(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compiled.builds(tmp_path) == ({}, [])
    tree_with(tmp_path / "built", compiled.source_hash(compiled.source_of(MODULE)))
    monkeypatch.setenv("SERVETWIN_PURE_PYTHON", "1")
    assert compiled.install(tmp_path / "built") is None


PROBE = """
import hashlib, json, sys
from twin import compiled
from twin.config.loader import load_scenario
from twin.core.run import simulate
result = simulate(load_scenario(sys.argv[1]), duration_s=float(sys.argv[2]))
digest = hashlib.sha256()
for part in (repr(result.summary), result.timeseries.to_csv(), json.dumps(result.events, default=str),
             repr(result.decisions)):
    digest.update(part.encode())
built = sorted(m for m in compiled.MODULES if not sys.modules[m].__file__.endswith(".py"))
print(json.dumps({"compiled": built, "hash": digest.hexdigest()}))
"""


def build_copy(where: Path, **env: str) -> tuple[Path, subprocess.CompletedProcess]:
    """A copy of the tree without builds, and setup.py's build of it in place."""
    copy = where / "tree"
    skip = shutil.ignore_patterns("*.so", "__pycache__")
    for part in ("twin", "scenarios", "calibration"):
        shutil.copytree(ROOT / part, copy / part, ignore=skip)
    for part in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, copy / part)
    done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=copy,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=1200)
    return copy, done


def test_without_a_c_compiler_the_build_succeeds_and_the_source_runs(tmp_path):
    copy, done = build_copy(tmp_path, CC="false")  # a compiler that fails every compile
    assert done.returncode == 0, done.stderr[-2000:]
    assert 'building extension "twin.kernel.ps" failed' in done.stderr
    assert compiled.builds(copy) == ({}, [])


@pytest.fixture(scope="module")
def built_tree(tmp_path_factory) -> Path:
    """This tree if every hot module has a current build (an install), else a copy with the modules built."""
    current, _ = compiled.builds(ROOT)
    if len(current) == len(compiled.MODULES):
        return ROOT
    copy, done = build_copy(tmp_path_factory.mktemp("built"))
    assert done.returncode == 0, done.stderr[-2000:]
    built, _ = compiled.builds(copy)
    assert sorted(built) == sorted(compiled.MODULES), done.stderr[-2000:]  # the test extra brings Cython
    return copy


@pytest.mark.parametrize("scenario, duration_s", [("scenarios/benchmark-reference-control.yaml", 40),
                                                  ("scenarios/default.yaml", 60)])
def test_compiled_and_source_give_identical_results(scenario, duration_s, built_tree):
    tree = built_tree
    runs = {}
    for pure in ("0", "1"):
        env = {**os.environ, "PYTHONPATH": str(tree), "SERVETWIN_PURE_PYTHON": pure}
        done = subprocess.run([sys.executable, "-c", PROBE, scenario, str(duration_s)], cwd=tree, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        runs[pure] = json.loads(done.stdout.splitlines()[-1])
    assert runs["0"]["compiled"] == sorted(compiled.MODULES) and runs["1"]["compiled"] == []
    assert runs["0"]["hash"] == runs["1"]["hash"]


def declared(pxd: Path) -> dict[str, set[str]]:
    """The attributes each `cdef class` of a .pxd declares."""
    classes, current = {}, None
    for line in pxd.read_text().splitlines():
        if match := re.match(r"cdef class (\w+)", line):
            current = classes.setdefault(match[1], set())
        elif current is not None and (match := re.match(r"\s+cdef public \w+ (.+)", line)):
            current |= {name.strip() for name in match[1].split(",")}
    return classes


def assigned(source: Path) -> dict[str, set[str]]:
    """The attributes each class of a module assigns on `self`, and those its __slots__ name."""
    classes = {}
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.ClassDef):
            names = classes.setdefault(node.name, set())
            for child in ast.walk(node):
                targets = child.targets if isinstance(child, ast.Assign) else [getattr(child, "target", None)]
                names |= {t.attr for t in targets if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                          and t.value.id == "self"}
                if isinstance(child, ast.Assign) and any(getattr(t, "id", "") == "__slots__" for t in child.targets):
                    names |= set(ast.literal_eval(child.value))
    return classes


@pytest.mark.parametrize("module", [m for m in compiled.MODULES if compiled.source_of(m).with_suffix(".pxd").is_file()])
def test_a_compiled_class_declares_every_attribute_its_source_sets(module):
    """A compiled class has exactly the attributes its .pxd declares: one the source sets beyond them would fail
    only when compiled (AttributeError), so the two lists are kept equal here."""
    source = compiled.source_of(module)
    classes = assigned(source)
    for name, attributes in declared(source.with_suffix(".pxd")).items():
        missing, extra = sorted(classes[name] - attributes), sorted(attributes - classes[name])
        assert not missing and not extra, f"{source.stem}.pxd {name}: declare {missing}, drop {extra}"
