"""Optional compiled builds of the hot modules (twin/compiled.py says which and how they are loaded).

Each module is compiled from its own `.py` by Cython and a C compiler. Without Cython, or where a module does not
compile (no compiler, no Python headers), the install goes on with a warning and that module runs as Python.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
# twin/compiled.py uses the standard library only, so it loads without the package's dependencies
_spec = importlib.util.spec_from_file_location("_twin_compiled", HERE / "twin" / "compiled.py")
compiled = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compiled)

BY_LAST_PART = {module.rpartition(".")[2]: module for module in compiled.MODULES}
assert len(BY_LAST_PART) == len(compiled.MODULES), "two compiled modules share a name"
# Python semantics kept exactly: annotations do not become C types, and no FMA contraction of float arithmetic
DIRECTIVES = {"language_level": 3, "annotation_typing": False}
C_FLAGS = ["-ffp-contract=off"]


class BuildCompiled(build_ext):
    """Cythonizes each module alone (one that fails is left to run as Python) and names each build after the hash
    of its source, removing builds of older sources."""

    def finalize_options(self) -> None:
        """C sources for the modules, before setuptools prepares the extensions (only when building them)."""
        try:
            from Cython.Build import cythonize
        except ImportError:
            self.warn("Cython is not installed: the twin runs as pure Python")
            cythonize = None
        dist = self.distribution
        dist.ext_modules = [ext for module in dist.ext_modules for ext in self._cythonize(cythonize, module)]
        super().finalize_options()

    def _cythonize(self, cythonize, ext: Extension) -> list[Extension]:
        if cythonize is None:
            return []
        try:
            built = cythonize([ext], build_dir="build/cython", compiler_directives=DIRECTIVES, quiet=True)
        except Exception as error:  # a Cython compile error: that module stays Python
            self.warn(f"{ext.name} not compiled ({error}): it runs as Python")
            return []
        for each in built:
            each.optional = True  # a C compile that fails leaves the module to run as Python
        return built

    def get_ext_filename(self, name: str) -> str:
        """`name` is a module's full name, or its last part (distutils asks both ways; the last parts are unique)."""
        default = Path(super().get_ext_filename(name))
        module = BY_LAST_PART[name.rpartition(".")[2]]
        suffix = default.name[len(module.rpartition(".")[2]):]
        digest = compiled.source_hash(compiled.source_of(module, HERE))
        return str(default.with_name(compiled.build_name(module, digest, suffix)))

    def build_extension(self, ext: Extension) -> None:
        _remove_older(Path(self.get_ext_fullpath(ext.name)))
        super().build_extension(ext)

    def copy_extensions_to_source(self) -> None:
        super().copy_extensions_to_source()
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:  # where setuptools copied each build: its package's directory
            package = build_py.get_package_dir(ext.name.rpartition(".")[0])
            _remove_older(Path(package) / Path(self.get_ext_filename(ext.name)).name)


def _remove_older(build: Path) -> None:
    """Builds of the same module from other sources, beside `build` (which stays, if it is there)."""
    stem, _, suffix = build.name.partition(".")
    suffix = suffix.partition(".")[2]
    for other in build.parent.glob(f"{stem}.*.{suffix}"):
        if other != build and os.path.isfile(other):
            other.unlink()


setup(
    ext_modules=[Extension(module, [str(compiled.source_of(module, Path(".")))], extra_compile_args=C_FLAGS)
                 for module in compiled.MODULES],
    cmdclass={"build_ext": BuildCompiled},
)
