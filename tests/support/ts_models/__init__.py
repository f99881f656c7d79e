"""Handler sources and a builder for the small models the real-TorchServe fixture serves."""

from __future__ import annotations

import hashlib
import importlib.metadata
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MODELS_SOURCE = Path(__file__).resolve().parent
QUIET_LOG_CONFIG = MODELS_SOURCE / "quiet-log4j2.xml"
SLEEPY = "sleepy"
TINY_ENCODER = "tiny_encoder"
ENCODER4 = "encoder4"  # four layers, ~20 ms per request on one thread: a CPU-bound model for fidelity checks
ALL_MODELS = (SLEEPY, TINY_ENCODER)  # served by default
BUILT = (*ALL_MODELS, ENCODER4)


def build_models(cache_root: Path | None = None) -> Path:
    """Build the .mar files once per source version (cached across sessions); return the model store."""
    digest = hashlib.sha256(importlib.metadata.version("torch").encode())
    for source in sorted(MODELS_SOURCE.glob("*.py")):
        digest.update(source.read_bytes())
    root = cache_root or Path(tempfile.gettempdir())
    store = root / f"servetwin-ts-models-{digest.hexdigest()[:16]}"
    if all((store / f"{name}.mar").is_file() for name in BUILT):
        return store
    staging = Path(tempfile.mkdtemp(prefix=store.name + "-", dir=root))
    subprocess.run([sys.executable, str(MODELS_SOURCE / "build.py"), str(staging)], check=True,
                   capture_output=True, cwd=MODELS_SOURCE)
    try:
        staging.replace(store)  # atomic: a concurrent builder's identical result may already be there
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return store
