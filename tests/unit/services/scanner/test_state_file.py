"""The scanner's state file: a damaged one refuses the start with what to do, never a traceback
of another type (supervisord would restart it into the same file for ever either way)."""

from pathlib import Path

import pytest

from services.scanner.service import load_state


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"symbol": "BTC\xff"}', id="not-utf8"),
        pytest.param(b"{", id="not-json"),
        pytest.param(b'{"symbol": 1}', id="wrong-shape"),
    ],
)
def test_a_damaged_state_file_refuses_the_start_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "scanner-state.json"
    path.write_bytes(content)

    with pytest.raises(RuntimeError, match="move it away") as raised:
        load_state(path)

    assert str(path) in str(raised.value)


def test_no_state_file_is_no_choice_yet(tmp_path: Path) -> None:
    assert load_state(tmp_path / "scanner-state.json") is None
