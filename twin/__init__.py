"""ServeTwin: a discrete-event digital twin of TorchServe on Kubernetes (see README.md and docs/design.md)."""
from twin import compiled

__version__ = "0.1.0"  # the package's version: pyproject.toml reads it from here
compiled.install()  # before any other module of the package is imported
