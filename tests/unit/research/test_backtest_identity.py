"""The backtest's output is unchanged by the speed work: same orders, fills, equity, counters.

The digests below come from the code before any optimisation of the data path (the
venue's decoding, the ladder, the feed session: these files as of commit 8ef9353), run on
the ETHUSDT fixtures under several settings and on a hand-made recording that goes
through every counted edge of the decoders (prices off the grid, also in `orderbook.1`
frames the ladder skips, trades under a lot, a line that is not a frame, another symbol,
a delta before its snapshot). What is digested is the result's JSON restricted to what
that work could change (`FIELDS`; not the settings' echo nor the report's fields added
since), so that extending the report or the settings does not fail this test, while an
optimisation that changes one fill, order, equity point or counter does. If the strategy
or the venue change what they do on purpose, the digests are taken again the same way:
the current tree with those files put back as of 8ef9353 (the whole JSON was compared
byte for byte like that, before and after each step: see decision 0006).

Taken again for the venue's two realism rules (decision 0005: a recorded trade comes off the
ladder only when it is later, by venue time, than the book its level shows; a newer
`orderbook.1` top clamps the deeper book): they change fills on purpose (the fixtures'
`orderbook.1` frames now move the top, and `venue_skipped` counts fewer skipped frames).
Those digests come from the tree of that change itself (the speed work is not re-checked
against 8ef9353 there); the cache and the lines still give the same bytes
(`test_backtest_cli`, `test_backtest_columnar`).
"""

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from research.backtest.engine import Engine
from research.backtest.market import recording_lines
from research.backtest.settings import BacktestSettings
from services.strategy.settings import StrategySettings
from tests.unit.research import support
from tests.unit.research.support import MS, T0, latency

FIXTURES = Path(__file__).parents[2] / "fixtures"
REPLAY = FIXTURES / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
FIRST_200 = FIXTURES / "data" / "ETHUSDT-2024-08-08-first-200.frames.gz"
TRADING = {"momentum_threshold": 0.00002, "max_hold_s": 1.0, "cooldown_s": 0.5}


def _scalper(**knobs: object) -> BacktestSettings:
    strategy = StrategySettings(metrics_port=1, **TRADING)  # type: ignore[arg-type]
    return support.settings(strategy=strategy, **knobs)


def _book(
    recv_ns: int, depth: int, kind: str, bids: list[list[str]], asks: list[list[str]]
) -> bytes:
    ts = recv_ns // MS
    frame = {
        "topic": f"orderbook.{depth}.ETHUSDT",
        "type": kind,
        "ts": ts,
        "data": {"s": "ETHUSDT", "b": bids, "a": asks, "u": ts, "seq": ts},
        "cts": ts,
    }
    return json.dumps(frame).encode()


def edges() -> list[tuple[int, bytes]]:
    """A recording through every counted edge of the decoders, with a scalper that trades."""
    lines: list[tuple[int, bytes]] = []
    t = T0
    for k in range(400):
        t += 5 * MS
        mid = 268_100 + 10 * ((k // 20) % 7) + k // 10  # ticks of 0.01, drifting up
        bid, ask = f"{mid / 100:.2f}", f"{(mid + 1) / 100:.2f}"
        if k == 3:
            lines.append((t, _book(t, 500, "delta", [[bid, "1"]], [])))  # before its snapshot
        if k == 5:
            deep_b = [[f"{(mid - i) / 100:.2f}", f"{1 + i % 5}.{i % 10}00"] for i in range(30)]
            deep_a = [[f"{(mid + 1 + i) / 100:.2f}", f"{2 + i % 3}.0{i % 10}0"] for i in range(30)]
            deep_b.append([f"{(mid - 40) / 100:.3f}5", "0.0005"])  # off the grid, under a lot
            lines.append((t, _book(t, 500, "snapshot", deep_b, deep_a)))
        elif k > 5 and k % 3 == 0:
            off = f"{(mid - 2) / 100:.2f}7"
            size = f"{k % 4}.{k % 7}0{k % 3}"
            lines.append((t, _book(t, 500, "delta", [[bid, size], [off, "0.01"]], [[ask, "3"]])))
        ob1_bid = f"{mid / 100:.2f}3" if k % 11 == 0 else bid  # off the grid, skipped frame
        lines.append((t, _book(t, 1, "snapshot", [[ob1_bid, "4.2"]], [[ask, "4.0004"]])))
        if k % 4 == 1:
            side = "Buy" if k % 8 == 1 else "Sell"
            qty = "0.0004" if k % 16 == 1 else f"0.{k % 9 + 1}0"
            lines.append(support.trade(t + 1, side, ask if side == "Buy" else bid, qty, f"e{k}"))
        if k == 50:
            lines.append((t + 2, b'{"op":"pong"}'))
            lines.append((t + 2, b"not json at all"))
            other = _book(t, 1, "snapshot", [["1.0", "1"]], [["1.1", "1"]])
            lines.append((t + 2, other.replace(b"ETHUSDT", b"DOGEUSDT")))
    return lines


Case = tuple[Callable[[], BacktestSettings], Callable[[], list[tuple[int, bytes]]] | Path]
CASES: dict[str, tuple[Case, str]] = {
    "scalper_2ms": (
        (lambda: _scalper(entry_latency=latency(2), response_latency=latency(2)), REPLAY),
        "93325c10cf85bb0d3ac894a5693e87a51b3ee4debac213fa82df9c64cd48fb47",
    ),
    "scalper_0": (
        (_scalper, REPLAY),
        "9fdb176b55b26258b34e780aca56faf3e01ab9ddba60713d36beccb22a38c670",
    ),
    "scalper_probabilistic": (
        (
            lambda: _scalper(
                queue_model="probabilistic",
                entry_latency=latency(1),
                response_latency=latency(1),
                feed_latency_ns=3 * MS,
            ),
            REPLAY,
        ),
        "852790ca88ea431ea2cdd4825b6630d0b94650575820c36dd67bc808d9b0bac3",
    ),
    "default": (
        (support.settings, REPLAY),
        "fb07e1e28328b976fab0d6c2947c2ab18e733a01f5dd6a50c6914f1da6bffe0e",
    ),
    "first_200": (
        (lambda: _scalper(entry_latency=latency(1), response_latency=latency(1)), FIRST_200),
        "8cacfe4d0882a9694d8bbf9d1e1cecc3435316e10cf45edbc510ce05ab61b4b5",
    ),
    "edges": (
        (lambda: _scalper(entry_latency=latency(1), response_latency=latency(1)), edges),
        "a7183ae9924b3d1303b1ee6dad932c1c13be65a5553ae5fb5f49d1d8d81a5ed7",
    ),
}


FIELDS: dict[str, tuple[str, ...]] = {
    "orders": (
        "client_order_id",
        "submitted_ns",
        "side",
        "order_type",
        "time_in_force",
        "qty",
        "limit_price",
        "reduce_only",
        "status",
        "filled_qty",
        "reason",
        "ended_ns",
    ),
    "fills": ("ts_ns", "client_order_id", "exec_id", "side", "qty", "price", "fee", "is_maker"),
}


def result_json(case: Case) -> bytes:
    """The run's result as JSON, restricted to `FIELDS` (see the module docstring)."""
    make_settings, data = case
    lines = recording_lines([data]) if isinstance(data, Path) else iter(data())
    whole = msgspec.json.decode(Engine(make_settings(), lines).run().to_json())
    kept: dict[str, Any] = {k: whole[k] for k in ("summary", "counters", "equity")}
    kept["counters"].pop("venue_ladder", None)  # reported since: what the ladder's rules did
    for part, names in FIELDS.items():
        kept[part] = [{name: row[name] for name in names} for row in whole[part]]
    return msgspec.json.encode(kept, order="deterministic")


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_result_is_byte_identical_to_before_the_speed_work(name: str) -> None:
    case, digest = CASES[name]
    assert hashlib.sha256(result_json(case)).hexdigest() == digest


def test_the_result_counts_what_the_ladders_rules_did() -> None:
    make_settings, data = CASES["scalper_2ms"][0]
    assert isinstance(data, Path)
    result = Engine(make_settings(), recording_lines([data])).run()
    ladder = result.counters["venue_ladder"]
    # the fixture's orderbook.1 frames move the deeper book's top; its trades come off
    assert ladder["top_updates"] > 0
    assert ladder["trades_taken"] + ladder.get("trades_in_book", 0) > 0
