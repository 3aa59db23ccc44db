"""A decision and a fill as parity compares them, built from either side.

A decision is an order the strategy sent that passed the executor's checks: the live
journal's intents, the backtest result's orders that were not denied. It is compared by
`Decision.key`: side, order type with its time in force, limit price, qty, reduce-only;
the time and the client order id are shown, never compared (ids embed the time). A fill is
compared by `Fill.key`: side, qty, price, maker or taker.
"""

from dataclasses import dataclass
from decimal import Decimal

from research.backtest.result import BacktestResult

DecisionKey = tuple[str, str, Decimal | None, Decimal, bool]
FillKey = tuple[str, Decimal, Decimal, bool]


@dataclass(frozen=True, slots=True)
class Decision:
    side: str
    order_type: str  # with its time in force, e.g. "Market IOC", "Limit PostOnly"
    limit_price: Decimal | None
    qty: Decimal
    reduce_only: bool
    ts_ns: int  # when the strategy decided (live: the command's ts_created_ns)
    client_order_id: str
    outcome: str = ""  # how the order ended, with the venue's reason: shown, not compared

    def key(self) -> DecisionKey:
        return (self.side, self.order_type, self.limit_price, self.qty, self.reduce_only)

    def describe(self) -> str:
        price = "market" if self.limit_price is None else f"@ {self.limit_price}"
        reduce = " reduce-only" if self.reduce_only else ""
        outcome = f" -> {self.outcome}" if self.outcome else ""
        return f"{self.side} {self.qty} {self.order_type} {price}{reduce}{outcome}"


@dataclass(frozen=True, slots=True)
class Fill:
    side: str
    qty: Decimal
    price: Decimal
    is_maker: bool
    ts_ns: int  # live: the venue's execTime; backtest: when the strategy was told
    client_order_id: str

    def key(self) -> FillKey:
        return (self.side, self.qty, self.price, self.is_maker)

    def describe(self) -> str:
        return f"{self.side} {self.qty} @ {self.price} {'maker' if self.is_maker else 'taker'}"


def backtest_decisions(result: BacktestResult) -> tuple[list[Decision], int]:
    """The backtest's decisions in order, and how many commands its executor denied."""
    decisions = [
        Decision(
            side=o.side,
            order_type=f"{o.order_type} {o.time_in_force}",
            limit_price=o.limit_price,
            qty=o.qty,
            reduce_only=o.reduce_only,
            ts_ns=o.submitted_ns,
            client_order_id=o.client_order_id,
            outcome=f"{o.status} {o.reason}".strip(),
        )
        for o in result.orders
        if o.status != "Denied"
    ]
    return decisions, sum(1 for o in result.orders if o.status == "Denied")


def backtest_fills(result: BacktestResult) -> list[Fill]:
    """The backtest's fills in the order the strategy was told of them."""
    return [
        Fill(f.side, f.qty, f.price, f.is_maker, f.ts_ns, f.client_order_id) for f in result.fills
    ]
