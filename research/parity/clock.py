"""The live strategy's own clock in a backtest: it acts a little after the feed received.

Live, the strategy reads each message some time after the feed received its frame (the
feed's work, the bus hop, its own queue): its `now` runs behind the data's receive stamps.
In the backtest the strategy sees the feed's messages at their receive time exactly. Every
rule with a time limit then decides differently at the edge: an entry 99.8 ms after the
last trade passes the 100 ms `max-quote-age-ms` in the backtest and fails it live (measured
on a session: the live strategy acted 0.376 ms after the receive time, p50).

`DelayedStrategy` wraps the live strategy class and hands it `now + delay` on every call,
the messages keeping their receive stamps, as live. The delay is the session's median of
(command made - trigger received), `ts_created_ns - ts_trigger_recv_ns` of each journaled
command: the feed-to-decision time of the live strategy. A constant: a draw per message
could make the strategy's clock run backwards.
"""

import statistics
from collections import Counter

from research.parity.live import Intent
from services.strategy.api import Output, Strategy
from shared.bybit.translate import InstrumentRules
from shared.schema import BusMessage, StrategyStatus


def decision_delay_ns(intents: list[Intent]) -> int | None:
    """The median feed-receive-to-command time of the session's commands; None: no command
    with both times."""
    samples = [
        i.ts_created_ns - i.ts_trigger_recv_ns
        for i in intents
        if i.ts_trigger_recv_ns and i.ts_created_ns >= i.ts_trigger_recv_ns
    ]
    return int(statistics.median(samples)) if samples else None


class DelayedStrategy:
    """A `Strategy` whose clock runs `delay_ns` after the engine's (module docstring)."""

    def __init__(self, inner: Strategy, delay_ns: int) -> None:
        if delay_ns < 0:
            raise ValueError("a strategy delay cannot be negative")
        self.inner = inner
        self.delay_ns = delay_ns

    @property
    def counters(self) -> Counter[str]:
        return self.inner.counters

    def on_message(self, message: BusMessage, now_ns: int) -> list[Output]:
        return self.inner.on_message(message, now_ns + self.delay_ns)

    def on_timer(self, now_ns: int) -> list[Output]:
        return self.inner.on_timer(now_ns + self.delay_ns)

    def executor_silent(self, now_ns: int) -> list[Output]:
        return self.inner.executor_silent(now_ns + self.delay_ns)

    def set_rules(self, rules: InstrumentRules) -> None:
        self.inner.set_rules(rules)

    def status(self, now_ns: int) -> StrategyStatus:
        return self.inner.status(now_ns + self.delay_ns)
