"""Strategy benchmarks: one market-data message in, the machine's decision out.

Times `MomentumScalper.on_message` on a decoded Quote or Trade (as the loop hands it over)
for a recorded-like stream of one symbol: a random walk in ticks of 0.10 with quiet spells
and bursts (runs of 2-9 USDT steps in one direction), about two trades per quote, 1-3 ms
apart, so the momentum sometimes crosses the threshold. The machine starts in Idle (rules
set, UniverseChanged, FeedReady, a flat reconciled ExecutionSnapshot) with the deploy
settings except pacing: no hourly cap and a short cooldown and holding time, so it keeps
entering and exiting. Every command it emits is answered, untimed, as the executor would:
OrderAccepted + OrderFilled for a SubmitOrder (at the touch), OrderCanceled for a
CancelOrder; its timer runs every 20 ms of stream time, also untimed. Only the market-data
calls are measured. decide_after_idle: the first messages again, with the process idle
for 5 ms before each, as between the messages of a live market: what a decision costs
when the caches are cold.
"""

import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Final

from services.strategy.api import Output
from services.strategy.machine import MomentumScalper
from services.strategy.settings import StrategySettings
from shared.bybit.translate import InstrumentRules
from shared.schema import (
    BusMessage,
    CancelOrder,
    ClientOrderId,
    ExecutionSnapshot,
    FeedReady,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSide,
    Quote,
    SubmitOrder,
    Symbol,
    Trade,
    TradingState,
    UniverseChanged,
    VenueOrderId,
)

Result = dict[str, Any]

_SYMBOL: Final = Symbol("BTCUSDT")
_EPOCH: Final = 1
_T0_NS: Final = 1_763_700_000_000_000_000
_MS: Final = 1_000_000
_TICK: Final = Decimal("0.1")
_MID0: Final = 640_000  # ticks of 0.10: 64000.0
_TIMER_NS: Final = 20 * _MS
_RULES: Final = InstrumentRules(
    symbol=_SYMBOL,
    tick_size=_TICK,
    qty_step=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    max_qty=Decimal("100"),
    max_mkt_qty=Decimal("50"),
    min_notional=Decimal("5"),
)


def _settings() -> StrategySettings:
    return StrategySettings(
        metrics_port=9103,
        cooldown_s=0.2,
        max_entries_per_hour=10_000,
        max_hold_s=1.0,
    )


def _price(ticks: int) -> Decimal:
    return Decimal(ticks) * _TICK


def _stream(count: int, rng: random.Random) -> list[Quote | Trade]:
    """Quotes and trades of one symbol, in arrival order, timestamps rising 1-3 ms."""
    out: list[Quote | Trade] = []
    mid, ts, burst, trade_no = _MID0, _T0_NS, 0, 0
    while len(out) < count:
        if burst == 0 and rng.random() < 0.004:
            burst = rng.randint(10, 40)  # a run of trades in one direction
            direction = rng.choice((-1, 1))
        if burst:
            burst -= 1
            mid += direction * rng.randint(20, 90)
        elif rng.random() < 0.3:
            mid += rng.choice((-1, 1))
        ts += rng.randint(1, 3) * _MS
        if rng.random() < 0.35:
            spread = 1 if rng.random() < 0.9 else 3
            out.append(
                Quote(
                    symbol=_SYMBOL,
                    epoch=_EPOCH,
                    bid_price=_price(mid),
                    bid_qty=Decimal(rng.randint(50, 9000)) / 1000,
                    ask_price=_price(mid + spread),
                    ask_qty=Decimal(rng.randint(50, 9000)) / 1000,
                    venue_update_id=len(out),
                    ts_event_ns=ts - _MS,
                    ts_recv_ns=ts,
                )
            )
        else:
            trade_no += 1
            out.append(
                Trade(
                    symbol=_SYMBOL,
                    epoch=_EPOCH,
                    price=_price(mid + rng.choice((0, 1))),
                    qty=Decimal(rng.randint(1, 2000)) / 1000,
                    taker_side=rng.choice((OrderSide.BUY, OrderSide.SELL)),
                    trade_id=f"t{trade_no}",
                    ts_event_ns=ts - _MS,
                    ts_recv_ns=ts,
                )
            )
    return out


def _ready_machine() -> MomentumScalper:
    machine = MomentumScalper(_settings())
    machine.set_rules(_RULES)
    machine.on_message(
        UniverseChanged(symbol=_SYMBOL, epoch=_EPOCH, ranking=(), reason="bench", ts_event_ns=0),
        _T0_NS,
    )
    machine.on_message(FeedReady(symbol=_SYMBOL, epoch=_EPOCH, ts_event_ns=_T0_NS), _T0_NS)
    snapshot = ExecutionSnapshot(
        open_orders=(),
        positions=(),
        trading_state=TradingState.ACTIVE,
        reconciled=True,
        ts_event_ns=_T0_NS,
    )
    machine.on_message(snapshot, _T0_NS)
    if machine.state != "Idle":
        raise RuntimeError(f"machine not Idle after setup: {machine.state}")
    return machine


class _Executor:
    """Answers the machine's commands at once, as a perfect executor and venue would."""

    def __init__(self, machine: MomentumScalper) -> None:
        self._machine = machine
        self.submits = 0
        self.exits = 0
        self.cancels = 0
        self._n = 0

    def answer(self, outputs: list[Output], last: Quote | None, now_ns: int) -> None:
        pending = [o for o in outputs if isinstance(o, SubmitOrder | CancelOrder)]
        while pending:
            command = pending.pop(0)
            for event in self._events(command, last, now_ns):
                out = self._machine.on_message(event, now_ns)
                pending += [o for o in out if isinstance(o, SubmitOrder | CancelOrder)]

    def _events(
        self, command: SubmitOrder | CancelOrder, last: Quote | None, now_ns: int
    ) -> list[BusMessage]:
        self._n += 1
        venue_id = VenueOrderId(f"v{self._n}")
        if isinstance(command, CancelOrder):
            self.cancels += 1
            return [_canceled(command.client_order_id, venue_id, now_ns)]
        self.submits += 1
        self.exits += command.reduce_only
        price = command.limit_price
        if price is None:
            assert last is not None
            price = last.ask_price if command.side is OrderSide.BUY else last.bid_price
        return [_accepted(command, venue_id, now_ns), _filled(command, venue_id, price, now_ns)]


def _accepted(command: SubmitOrder, venue_id: VenueOrderId, now_ns: int) -> OrderAccepted:
    return OrderAccepted(
        client_order_id=command.client_order_id,
        venue_order_id=venue_id,
        strategy_id=command.strategy_id,
        symbol=command.symbol,
        ts_event_ns=now_ns,
        ts_trigger_recv_ns=command.ts_trigger_recv_ns,
        ts_request_sent_ns=now_ns,
        ts_ack_ns=now_ns,
    )


def _filled(
    command: SubmitOrder, venue_id: VenueOrderId, price: Decimal, now_ns: int
) -> OrderFilled:
    return OrderFilled(
        client_order_id=command.client_order_id,
        venue_order_id=venue_id,
        strategy_id=command.strategy_id,
        symbol=command.symbol,
        side=command.side,
        exec_id=f"e-{command.client_order_id}",
        fill_qty=command.qty,
        fill_price=price,
        cum_filled_qty=command.qty,
        leaves_qty=Decimal(0),
        fee=Decimal("0.01"),
        is_maker=command.limit_price is not None,
        ts_event_ns=now_ns,
        ts_trigger_recv_ns=command.ts_trigger_recv_ns,
        ts_request_sent_ns=now_ns,
        ts_ack_ns=now_ns,
    )


def _canceled(order_id: ClientOrderId, venue_id: VenueOrderId, now_ns: int) -> OrderCanceled:
    return OrderCanceled(
        client_order_id=order_id,
        venue_order_id=venue_id,
        strategy_id="mom1",
        symbol=_SYMBOL,
        cum_filled_qty=Decimal(0),
        reason="bench",
        ts_event_ns=now_ns,
    )


def _round(
    stream: list[Quote | Trade], idle_s: float = 0.0
) -> tuple[list[int], list[int], Counter[str]]:
    """Feed the stream once through a fresh machine; return ns per quote, per trade, counts.

    With `idle_s`, the process sleeps that long before each message, as between two
    messages of a live market (pacing, not waiting for anything)."""
    machine = _ready_machine()
    executor = _Executor(machine)
    on_message, clock = machine.on_message, time.perf_counter_ns
    quote_ns: list[int] = []
    trade_ns: list[int] = []
    decided = 0
    last: Quote | None = None
    next_timer = _T0_NS
    for message in stream:
        now = message.ts_recv_ns
        if now >= next_timer:
            next_timer = now + _TIMER_NS
            executor.answer(machine.on_timer(now), last, now)
        if idle_s:
            time.sleep(idle_s)
        started = clock()
        out = on_message(message, now)
        spent = clock() - started
        if type(message) is Quote:
            last = message
            quote_ns.append(spent)
        else:
            trade_ns.append(spent)
        if out and any(isinstance(o, SubmitOrder | CancelOrder) for o in out):
            decided += 1
            executor.answer(out, last, now)
    counts = Counter(
        decided=decided,
        submits=executor.submits,
        exits=executor.exits,
        cancels=executor.cancels,
    )
    return quote_ns, trade_ns, counts


def _pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def run(quick: bool) -> Iterator[Result]:
    rounds, count = (3, 20_000) if quick else (7, 100_000)
    stream = _stream(count, random.Random(11))
    p50s: list[float] = []
    p99s: list[float] = []
    quote_p50s: list[float] = []
    trade_p50s: list[float] = []
    totals: Counter[str] = Counter()
    for _ in range(rounds):
        quote_ns, trade_ns, counts = _round(stream)
        both = quote_ns + trade_ns
        p50s.append(statistics.median(both) / 1000)
        p99s.append(_pct(both, 0.99))
        quote_p50s.append(statistics.median(quote_ns) / 1000)
        trade_p50s.append(statistics.median(trade_ns) / 1000)
        totals += counts
    quotes = sum(type(m) is Quote for m in stream)
    yield {
        "name": "strategy.decide_p50_us",
        "value": round(statistics.median(p50s), 2),
        "unit": "us",
        "target": "<= 20",
        "rounds": rounds,
        "messages_per_round": len(stream),
        "quotes": quotes,
        "trades": len(stream) - quotes,
        "quote_p50_us": round(statistics.median(quote_p50s), 2),
        "trade_p50_us": round(statistics.median(trade_p50s), 2),
    }
    yield {
        "name": "strategy.decide_p99_us",
        "value": round(statistics.median(p99s), 2),
        "unit": "us",
    }
    idle_s, idle_count = 0.005, 200 if quick else 1_000
    quote_ns, trade_ns, _ = _round(stream[:idle_count], idle_s)
    yield {
        "name": "strategy.decide_after_idle_p50_us",
        "value": round(statistics.median(quote_ns + trade_ns) / 1000, 2),
        "unit": "us",
        "samples": idle_count,
        "note": f"the same calls, {idle_s * 1000:.0f} ms idle before each (cold caches)",
    }
    yield {
        "name": "strategy.command_share",
        "value": round(totals["decided"] / (rounds * len(stream)), 5),
        "unit": "ratio",
        "entries_per_round": (totals["submits"] - totals["exits"]) / rounds,
        "exits_per_round": totals["exits"] / rounds,
        "cancels_per_round": totals["cancels"] / rounds,
    }
