"""The order one recorded event is processed in: the venue matches it first, then the public
stream (or a backtest's strategy) sees it (services/simulator/venue/flow.py)."""

import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from services.simulator.connections import Connection
from services.simulator.faults import FaultInjector
from services.simulator.market_events import MarketEvent
from services.simulator.replay import ReplayStream
from services.simulator.replay_file import read_lines
from services.simulator.settings import Faults
from services.simulator.venue import ExchangeConfig, RecordedTrade, Venue, recorded_events
from shared.bybit import wire
from shared.runtime.clock import FakeClock

REPLAY = Path(__file__).parents[3] / "fixtures" / "replay" / "ETHUSDT-2024-08-08-10s.frames.gz"
START_MS = 1_723_161_250_000
SNAPSHOT_500 = '"orderbook.500.ETHUSDT","type":"snapshot"'


class LoggedVenue(Venue):
    """A venue that writes each market event it is given into a shared log."""

    log: list[tuple[str, Any]]

    def on_market(self, event: MarketEvent) -> None:
        super().on_market(event)
        fills = [p for _, topic, p in self.drain_reports() if topic == "execution"]
        self.log.append(("venue", (event, fills)))


@dataclass(eq=False)
class LoggedConnection(Connection):
    log: list[tuple[str, Any]] = field(default_factory=list)

    def send(self, frame: str, *, faultable: bool = True) -> None:
        self.log.append(("sent", frame))


def _venue(log: list[tuple[str, Any]]) -> LoggedVenue:
    config = ExchangeConfig(symbols=("ETHUSDT",), history_minutes=60, market_source="recorded")
    venue = LoggedVenue(config, START_MS)
    venue.log = log
    return venue


def test_the_venue_matches_each_frame_before_the_stream_sends_it() -> None:
    log: list[tuple[str, Any]] = []
    venue = _venue(log)
    faults = FaultInjector(Faults())
    stream = ReplayStream(str(REPLAY), faults, FakeClock(), venue=venue, speed=1000.0)
    conn = LoggedConnection(ws=None, faults=faults, log=log)  # type: ignore[arg-type]
    conn.topics.update({"orderbook.500.ETHUSDT", "publicTrade.ETHUSDT"})
    stream.registry.connections.add(conn)
    stream.publish(START_MS)  # starts the replay's clock
    sent_snapshot = [i for i, (kind, item) in enumerate(log) if SNAPSHOT_500 in str(item)]
    assert sent_snapshot, "the first book snapshot went out at once"
    buy = wire.OrderCreateRequest(
        symbol="ETHUSDT", side="Buy", order_type="Limit", qty="0.05", price="2681.50"
    )
    venue.submit("alice", buy, venue.now_ms)
    venue.drain_reports()
    stream.publish(START_MS + 60_000)  # the whole file (10 s at x1000), then it starts over
    counts = stream.counts()
    assert counts["replay_passes"] == 2
    assert counts["replay_frames"] >= 2344
    # Each trade frame: its trade went through the venue just before the frame was sent.
    trades_sent = 0
    for before, (kind, item) in itertools.pairwise(log):
        if kind != "sent" or '"publicTrade.' not in item:
            continue
        (trade,) = json.loads(item)["data"]
        if Decimal(trade["v"]) < Decimal("0.01"):
            continue  # under ETHUSDT's lot: no event (counted by the decoder)
        trades_sent += 1
        assert before[0] == "venue", item
        event = before[1][0]
        assert isinstance(event, RecordedTrade), item
        assert event.ts_ms == trade["T"], item
    assert trades_sent > 200
    (filled_at,) = [i for i, (kind, item) in enumerate(log) if kind == "venue" and item[1]]
    event, fills = log[filled_at][1]
    assert isinstance(event, RecordedTrade)
    assert event.price < 268150, "a trade through it"
    assert [(f.exec_price, f.exec_qty, f.is_maker) for f in fills] == [
        (Decimal("2681.50"), Decimal("0.05"), True)
    ]
    kind, frame = log[filled_at + 1]
    assert kind == "sent"
    assert '"p":"2681.49"' in frame, "that trade's frame went out after"


def test_a_backtest_sees_the_same_fills_when_it_replays_the_same_events() -> None:
    def run() -> list[Any]:
        venue = Venue(
            ExchangeConfig(symbols=("ETHUSDT",), history_minutes=60, market_source="recorded"),
            START_MS,
        )
        events = list(recorded_events(read_lines(REPLAY), venue.grids()))
        reports: list[Any] = []
        for n, event in enumerate(events):
            venue.on_market(event)
            if n == 100:
                for side, price in (("Buy", "2681.60"), ("Sell", "2681.65")):
                    request = wire.OrderCreateRequest(
                        symbol="ETHUSDT", side=side, order_type="Limit", qty="0.2", price=price
                    )
                    venue.submit("alice", request, venue.now_ms)
            reports.extend(p for _, topic, p in venue.drain_reports() if topic == "execution")
        return reports

    first, second = run(), run()
    assert len(first) >= 2
    assert [(f.exec_price, f.exec_qty, f.exec_time) for f in first] == [
        (f.exec_price, f.exec_qty, f.exec_time) for f in second
    ]
