"""One real TorchServe for the whole live folder: starting it costs seconds and ~0.7 GB."""

from collections.abc import Iterator

import pytest

from tests.support.torchserve import RealTorchServe


@pytest.fixture(scope="session")
def torchserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealTorchServe]:
    with RealTorchServe(workdir=tmp_path_factory.mktemp("torchserve"), sleep_ms=50.0) as server:
        yield server
