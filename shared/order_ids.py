"""Client order ids (the venue's orderLinkId) derived from an intent: strategy, epoch, seq.

Format: `<strategy_id>-<epoch base36>-<seq base36>`, e.g. `mom1-3-h` for ("mom1", 3, 17).
Bybit allows at most 36 characters from `[0-9A-Za-z_-]`. The strategy id may use
`[0-9A-Za-z_]` (no "-": the dash is the separator, which makes the id parseable and the
mapping injective) and at most 16 characters; the epoch is below 36**6 (about 2.2e9) and
the seq below 36**12 (about 4.7e18, so a nanosecond timestamp fits as a seq that stays
unique across restarts). Digits are lowercase base36 without leading zeros, so every
triple has exactly one id and `parse_client_order_id` is its inverse.
"""

import re
from typing import Final, NamedTuple

from shared.schema import ClientOrderId

MAX_ID_LEN: Final = 36
MAX_STRATEGY_ID_LEN: Final = 16
MAX_EPOCH: Final = 36**6 - 1
MAX_SEQ: Final = 36**12 - 1

_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_STRATEGY_RE: Final = re.compile(r"[0-9A-Za-z_]{1,16}")
_NUMBER: Final = r"(0|[1-9a-z][0-9a-z]*)"  # canonical base36: no leading zeros
_ID_RE: Final = re.compile(rf"([0-9A-Za-z_]{{1,16}})-{_NUMBER}-{_NUMBER}")


class OrderIdParts(NamedTuple):
    strategy_id: str
    epoch: int
    seq: int


def client_order_id(strategy_id: str, epoch: int, seq: int) -> ClientOrderId:
    """Return the orderLinkId of intent (strategy_id, epoch, seq).

    Raises ValueError for a strategy id outside `[0-9A-Za-z_]{1,16}` or an epoch or seq
    out of range (see the module docstring).
    """
    if not _STRATEGY_RE.fullmatch(strategy_id):
        raise ValueError(f"strategy_id {strategy_id!r} must match [0-9A-Za-z_]{{1,16}}")
    if not 0 <= epoch <= MAX_EPOCH:
        raise ValueError(f"epoch {epoch} outside 0..{MAX_EPOCH}")
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"seq {seq} outside 0..{MAX_SEQ}")
    return ClientOrderId(f"{strategy_id}-{_base36(epoch)}-{_base36(seq)}")


def parse_client_order_id(value: str) -> OrderIdParts | None:
    """Return the (strategy_id, epoch, seq) an id was made from, or None if it is not ours."""
    match = _ID_RE.fullmatch(value)
    if match is None:
        return None
    strategy_id, epoch_text, seq_text = match.groups()
    epoch, seq = int(epoch_text, 36), int(seq_text, 36)
    if epoch > MAX_EPOCH or seq > MAX_SEQ:
        return None
    return OrderIdParts(strategy_id, epoch, seq)


def _base36(n: int) -> str:
    if n == 0:
        return "0"
    digits: list[str] = []
    while n:
        n, digit = divmod(n, 36)
        digits.append(_DIGITS[digit])
    return "".join(reversed(digits))
