"""Fixtures shared by every layer: short ipc directories and bus nodes wired to them."""

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shared.bus import BusNode, Signer
from shared.runtime import LiveClock
from shared.settings import BusSettings, Endpoints


@pytest.fixture
def ipc_dir() -> Iterator[Path]:
    """A private directory with a short path (ipc paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="bus-", dir="/tmp"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def endpoints_in(directory: Path) -> Endpoints:
    names = Endpoints.__struct_fields__
    return Endpoints(**{name: f"ipc://{directory}/{name}" for name in names})


@pytest.fixture
def make_node(ipc_dir: Path) -> Iterator[Callable[..., BusNode]]:
    """Return a factory of BusNodes on `ipc_dir`; every node is closed after the test."""
    nodes: list[BusNode] = []

    def factory(name: str, *, key: bytes | None = None, **bus_overrides: int) -> BusNode:
        settings = BusSettings(endpoints=endpoints_in(ipc_dir), **bus_overrides)
        node = BusNode(name, settings, signer=Signer(key), clock=LiveClock())
        nodes.append(node)
        return node

    yield factory
    for node in nodes:
        node.close()
