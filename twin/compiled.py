"""Compiled builds of the hot modules, used only when built from exactly the source beside them.

The same `.py` files are the one implementation: an install with a C compiler also builds each module of `MODULES`
with Cython (setup.py), and Python runs the build in place of the source. A module's `.pxd` beside it only declares
C types for its classes' attributes and some methods' locals (Cython's augmenting declarations), which is where the
speed comes from; the arithmetic stays IEEE double in the order written, so results are bit-identical.

A build is named after the hash of the source it came from (`ps.<hash>.cpython-311-x86_64-linux-gnu.so`, beside
`ps.py`): Python's own import never loads such a name, and this finder loads it only while the hash still matches.
An edited source (an editable install not rebuilt) is therefore run as Python, with one warning, and never shadowed
by a build of older code.
`SERVETWIN_PURE_PYTHON=1` runs the source even where the builds are current.
"""
from __future__ import annotations

import hashlib
import os
import sys
import warnings
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
from pathlib import Path

# The request path (profiled: processor sharing, TorchServe, the run loop, arrivals, routing and recording)
MODULES = (
    "twin.kernel.ps", "twin.kernel.loop", "twin.kernel.timer", "twin.kernel.sketch", "twin.kernel.rng",
    "twin.kernel.request", "twin.torchserve.server", "twin.torchserve.workers", "twin.workload.open_loop",
    "twin.workload.service", "twin.workload.closed_loop", "twin.core.recorder", "twin.core.world",
)
ROOT = Path(__file__).resolve().parent.parent  # the directory holding the twin package
HASH_CHARS = 16


class StaleBuild(UserWarning):
    """A compiled module was built from another version of its source."""


def source_of(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def source_hash(source: Path) -> str:
    """The hash of a module's source and of its Cython declarations (`.pxd`, C types for its classes), if any."""
    digest = hashlib.sha256(source.read_bytes())
    declarations = source.with_suffix(".pxd")
    if declarations.is_file():
        digest.update(declarations.read_bytes())
    return digest.hexdigest()[:HASH_CHARS]


def build_name(module: str, digest: str, suffix: str) -> str:
    """The file name of a build of `module` from the source with hash `digest`."""
    return f"{module.rpartition('.')[2]}.{digest}{suffix}"


def builds(root: Path = ROOT) -> tuple[dict[str, Path], list[str]]:
    """The current build of each module that has one, and the modules whose only builds are stale."""
    current, stale = {}, []
    for module in MODULES:
        source = source_of(module, root)
        if not source.is_file():
            continue
        digest = source_hash(source)
        found = [source.with_name(build_name(module, digest, suffix)) for suffix in EXTENSION_SUFFIXES]
        found = [path for path in found if path.is_file()]
        if found:
            current[module] = found[0]
        elif any(source.parent.glob(build_name(module, "*", EXTENSION_SUFFIXES[0]))):
            stale.append(module)
    return current, stale


class CompiledFinder:
    """A meta path finder that answers for the modules with a current build, and for no other."""

    def __init__(self, current: dict[str, Path]) -> None:
        self.current = current

    def find_spec(self, name: str, path=None, target=None) -> ModuleSpec | None:
        build = self.current.get(name)
        if build is None:
            return None
        spec = ModuleSpec(name, ExtensionFileLoader(name, str(build)), origin=str(build))
        spec.has_location = True
        return spec


def install(root: Path = ROOT) -> CompiledFinder | None:
    """Put the finder first on `sys.meta_path` (before any hot module is imported); warn once about stale builds."""
    if os.environ.get("SERVETWIN_PURE_PYTHON") == "1":
        return None
    current, stale = builds(root)
    if stale:
        warnings.warn(f"compiled {', '.join(stale)} built from another version of the source: running the source "
                      f"instead (rebuild with pip install -e .)", StaleBuild, stacklevel=3)
    if not current:
        return None
    finder = CompiledFinder(current)
    sys.meta_path.insert(0, finder)
    return finder
