"""Checks on bus endpoint strings (no ZeroMQ needed, so settings can use them)."""

from typing import Final

IPC_PATH_MAX: Final = 107  # sun_path is 108 bytes on Linux, with the terminating NUL
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]"})


def check_endpoint(endpoint: str) -> None:
    """Raise ValueError if `endpoint` is not a usable ipc:// or tcp://host:port address."""
    if endpoint.startswith("ipc://"):
        path = endpoint.removeprefix("ipc://")
        if not path:
            raise ValueError("ipc:// endpoint has no path")
        if len(path.encode()) > IPC_PATH_MAX:
            raise ValueError(
                f"ipc path is {len(path.encode())} bytes, the limit is {IPC_PATH_MAX}: "
                f"{path} (use a shorter run directory)"
            )
        return
    if endpoint.startswith("tcp://"):
        host, _, port = endpoint.removeprefix("tcp://").rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"tcp endpoint must be tcp://host:port, got {endpoint!r}")
        return
    raise ValueError(f"endpoint must start with ipc:// or tcp://, got {endpoint!r}")


def is_off_host(endpoint: str) -> bool:
    """Return True for a tcp endpoint that is not on loopback (frames then need signing)."""
    if not endpoint.startswith("tcp://"):
        return False
    host = endpoint.removeprefix("tcp://").rpartition(":")[0]
    return host not in LOOPBACK_HOSTS
