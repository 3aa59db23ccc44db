"""The burst of the executor stress rig (tests/helpers/executor_stress.py): its intents, the
mid-burst commands, and what a person reads of its outcome."""

import asyncio
import gc
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.order_ids import client_order_id
from shared.schema import (
    CancelAllOrders,
    ExecutionSnapshot,
    OrderDenied,
    OrderSide,
    OrderType,
    RequestSnapshot,
    SetTradingState,
    SubmitOrder,
    Symbol,
    TimeInForce,
    TradingState,
    TradingStateChanged,
)
from tests.helpers.executor_stress import (
    MIN_QTY,
    SECOND,
    STRATEGIES,
    TERMINAL,
    Answers,
    StressRig,
    rss_mb,
)


def intent(index: int, prices: dict[str, Decimal], seq_base: int) -> SubmitOrder:
    """The burst's `index`th intent: strategies in turn, BTCUSDT and ETHUSDT, buys and sells;
    6 in 10 market IOC, 2 limit IOC 10 bps through the last price, 2 resting limits 20 bps
    away (GTC and PostOnly). The smallest qty; a minute to live (queued behind the burst)."""
    strategy = STRATEGIES[index % len(STRATEGIES)]
    symbol = tuple(MIN_QTY)[(index // len(STRATEGIES)) % len(MIN_QTY)]
    side = OrderSide.BUY if index % 2 == 0 else OrderSide.SELL
    sign = 1 if side is OrderSide.BUY else -1
    kind, last = index % 10, prices[symbol]
    order_type, tif, price = OrderType.MARKET, TimeInForce.IOC, None
    if kind in (6, 7):
        order_type, price = OrderType.LIMIT, last * (1 + sign * Decimal("0.001"))
    elif kind in (8, 9):
        order_type, price = OrderType.LIMIT, last * (1 - sign * Decimal("0.002"))
        tif = TimeInForce.GTC if kind == 8 else TimeInForce.POST_ONLY
    now = time.time_ns()
    return SubmitOrder(
        client_order_id=client_order_id(strategy, 1, seq_base + index),
        strategy_id=strategy,
        epoch=1,
        symbol=Symbol(symbol),
        side=side,
        order_type=order_type,
        time_in_force=tif,
        qty=MIN_QTY[symbol],
        limit_price=price,
        ts_created_ns=now,
        expires_at_ns=now + 60 * SECOND,
        ts_trigger_recv_ns=0,  # 0: the executor stamps the command's receive time
        ts_trigger_event_ns=0,
    )


def _command(kind: type, **fields: Any) -> Any:
    now = time.time_ns()
    return kind(**fields, ts_created_ns=now, expires_at_ns=now + 60 * SECOND)


@dataclass
class Burst:
    """What one burst sent and heard; times are monotonic seconds."""

    sent: list[SubmitOrder]
    started: float
    sent_s: float = 0.0  # to push every intent onto the bus
    processed_s: float | None = None  # until the last first answer (None: some never came)
    finished_s: float | None = None  # until the last terminal answer, after the cancel-alls
    mid_sent_at: float = 0.0  # when the mid-burst commands were sent
    mid_answers_s: dict[str, float | None] = field(default_factory=dict)
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0

    @property
    def ids(self) -> list[str]:
        return [c.client_order_id for c in self.sent]


async def _mid_burst(rig: StressRig, burst: Burst) -> "asyncio.Task[float]":
    """RequestSnapshot and SetTradingState(ACTIVE) on the command socket (queued behind the
    intents sent so far), and a snapshot over the side channel (ROUTER) at once."""
    burst.mid_sent_at = time.monotonic()
    await rig.send(_command(RequestSnapshot, strategy_id=STRATEGIES[0]))
    await rig.send(_command(SetTradingState, state=TradingState.ACTIVE, reason="stress check"))

    async def side_channel() -> float:
        started = time.monotonic()
        await rig.snapshots.fetch_async("exec.snapshot.", timeout_s=10)
        return time.monotonic() - started

    return asyncio.create_task(side_channel())


async def burst(rig: StressRig, count: int, *, timeout_s: float = 40.0) -> Burst:
    """Send `count` intents as fast as the bus takes them, two commands and a side-channel
    snapshot in the middle; wait for every first answer, cancel every strategy's resting
    orders, wait for every terminal answer (each wait up to `timeout_s`)."""
    gc.collect()
    prices = rig.last_prices()
    result = Burst([], time.monotonic(), rss_before_mb=rss_mb())
    side: asyncio.Task[float] | None = None
    for index in range(count):
        if index == count // 2:
            side = await _mid_burst(rig, result)
        command = intent(index, prices, time.time_ns() // 1000)
        await rig.send(command)
        result.sent.append(command)
        if index % 50 == 0:
            rig.collect()
    result.sent_s = time.monotonic() - result.started
    ids, answers = result.ids, rig.answers
    if await rig.until(lambda: all(c in answers.first for c in ids), timeout_s):
        result.processed_s = max(answers.first[c] for c in ids) - result.started
    for strategy in STRATEGIES:
        await rig.send(_command(CancelAllOrders, strategy_id=strategy, reason="stress: done"))
    if await rig.until(lambda: all(c in answers.terminal for c in ids), timeout_s):
        result.finished_s = max(answers.terminal[c] for c in ids) - result.started
    result.mid_answers_s = {
        "RequestSnapshot": _since(answers.first_of(ExecutionSnapshot, result.mid_sent_at), result),
        "SetTradingState": _since(
            answers.first_of(TradingStateChanged, result.mid_sent_at), result
        ),
        "snapshot (ROUTER)": await side if side is not None else None,
    }
    gc.collect()
    result.rss_after_mb = rss_mb()
    return result


def _since(moment: float | None, burst: Burst) -> float | None:
    return None if moment is None else moment - burst.mid_sent_at


def outcomes(burst: Burst, answers: Answers) -> Counter[str]:
    """How each intent ended: its terminal event's kind (or `none`)."""
    ended: Counter[str] = Counter()
    for coid in burst.ids:
        last = next((m for m in answers.by_order.get(coid, []) if isinstance(m, TERMINAL)), None)
        ended[type(last).__name__ if last is not None else "none"] += 1
    return ended


def denial_reasons(burst: Burst, answers: Answers) -> Counter[str]:
    """Denials of the burst's intents by reason, numbers blanked out (`#`)."""
    ids = set(burst.ids)
    return Counter(
        re.sub(r"\d[\d.]*", "#", m.reason)
        for m in answers.of_kind(OrderDenied)
        if m.client_order_id in ids
    )


def summary(burst: Burst, answers: Answers) -> list[str]:
    """Lines for a human: throughput, answers, the mid-burst commands, memory."""
    count, processed = len(burst.sent), burst.processed_s
    rate = f"{count / processed:.0f} intents/s" if processed else "not all answered"
    lines = [
        f"{count} intents pushed in {burst.sent_s:.2f} s; all first answers after"
        f" {processed if processed is None else round(processed, 2)} s ({rate}); all terminal"
        f" after {burst.finished_s if burst.finished_s is None else round(burst.finished_s, 2)} s",
        f"outcomes: {dict(outcomes(burst, answers))}",
        *(f"  denied x{n}: {reason}" for reason, n in denial_reasons(burst, answers).items()),
        "mid-burst (sent after half the intents): "
        + ", ".join(
            f"{name} answered after {'never' if s is None else f'{s:.2f} s'}"
            for name, s in burst.mid_answers_s.items()
        ),
        f"RSS {burst.rss_before_mb:.1f} -> {burst.rss_after_mb:.1f} MB"
        f" ({burst.rss_after_mb - burst.rss_before_mb:+.1f} MB)",
    ]
    return lines
