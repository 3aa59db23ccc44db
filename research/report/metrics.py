"""The backtest report's metrics: pure functions over a `BacktestResult` (no I/O, no clock).

`compute` gives the `Metrics` of a run; units are in the field names (`_usdt`, `_bps`,
`_pct`, `_ns`; a bare qty is in the base coin). What cannot be known is None ("n/a" in the
text and the HTML), never 0. `DEFINITIONS` says in one line how each is computed; the
README's "Backtest report" repeats it.

- Round trips (the trades): a symbol's position from flat back to flat; a fill that flips
  the position closes one trip and opens the next, its fee split between them by qty.
  A trip's net PnL = its realised PnL - its fees. Win rate and profit factor count closed
  trips only.
- Returns: the equity on the marks' regular grid (`BacktestResult.mark_bucket_ns`, 100 ms
  for a short run, wider for a long one), forward-filled through buckets where nothing
  changed, from the starting balance at the first Quote; per-interval simple returns.
  Sharpe = mean / sample stdev * sqrt(P), Sortino = mean / downside deviation * sqrt(P)
  (downside deviation = sqrt(mean(min(r, 0)^2)) over all returns, target 0), with
  P = 365 * 24 * 3600 s / interval (crypto trades around the clock). No risk-free rate.
- Max drawdown: the largest fall of that equity grid from a running peak, in USDT, and
  that fall as % of its peak; with the peak's and the trough's times.
- Slippage: a fill's price against its order's arrival mid (the mid when the order was
  sent), bps of that mid, positive = worse for us (paid above, sold below).
- Adverse selection: the mid 1 s and 5 s after the strategy was told of a fill against
  the mid then, bps, positive = the market moved against the fill (fell after a buy).
  Both are qty-weighted means over the fills where they are known.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Final

import msgspec

from research.backtest.result import PNL_QUANTUM, BacktestResult, FillRow, OrderRow
from shared.pnl import Holding, apply_fill

ZERO: Final = Decimal(0)
NS_PER_S: Final = 1_000_000_000
SECONDS_PER_YEAR: Final = 365 * 24 * 3600
BPS: Final = 10_000.0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

DEFINITIONS: Final[dict[str, str]] = {
    "pnl_gross_usdt": "realised + unrealised (the position at the last mid), before fees",
    "pnl_net_usdt": "gross - fees (a maker rebate is a negative fee)",
    "fees_usdt": "sum of every fill's fee",
    "round_trips": "closed trades: a symbol's position from flat back to flat (a flip closes"
    " one and opens the next)",
    "win_rate_pct": "closed round trips with net PnL > 0 / closed round trips",
    "profit_factor": "sum of winning trips' net PnL / |sum of losing trips' net PnL|"
    " (n/a without a losing trip)",
    "sharpe_annualised": "mean / sample stdev of per-interval equity returns * sqrt(365*24*3600 s"
    " / interval); no risk-free rate",
    "sortino_annualised": "mean / downside deviation (sqrt(mean(min(r, 0)^2))) of the same"
    " returns * the same sqrt(periods a year)",
    "max_drawdown_usdt": "largest fall of the equity grid from a running peak (and % of that"
    " peak, with the peak's and trough's UTC times)",
    "limit_fill_ratio_pct": "filled qty / sent qty of limit orders that reached the venue",
    "orders_filled_pct": "orders with any fill / orders that reached the venue (not denied)",
    "maker_share_pct": "maker fills / fills (by count; by qty alongside)",
    "net_bps_per_notional": "net PnL / traded notional (sum of qty * price) * 1e4",
    "slippage_mean_bps": "qty-weighted mean of side * (fill price - arrival mid) / arrival mid"
    " * 1e4; positive = worse for us",
    "adverse_1s_mean_bps": "qty-weighted mean of -side * (mid 1 s after - mid at the fill) /"
    " mid at the fill * 1e4; positive = the market moved against the fill",
    "adverse_5s_mean_bps": "the same 5 s after the fill",
    "position_mean_abs": "time-weighted mean |position| over the run (base coin)",
    "position_max_abs": "largest |position| after any fill",
    "flat_time_pct": "share of the run's time with no position",
}


class RoundTrip(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    opened_ns: int
    closed_ns: int | None  # None: still open at the end
    pnl_gross_usdt: Decimal  # realised, before fees
    fees_usdt: Decimal
    pnl_net_usdt: Decimal


class Drawdown(msgspec.Struct, frozen=True, kw_only=True):
    amount_usdt: Decimal
    pct: float
    peak_ns: int
    trough_ns: int


class Inventory(msgspec.Struct, frozen=True, kw_only=True):
    mean_abs: float
    max_abs: Decimal
    flat_time_pct: float


class SymbolMetrics(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    fills: int
    maker_fills: int
    taker_fills: int
    traded_qty: Decimal
    traded_notional_usdt: Decimal
    round_trips: int
    win_rate_pct: float | None
    realised_pnl_usdt: Decimal
    fees_usdt: Decimal
    realised_net_usdt: Decimal
    position_end: Decimal
    slippage_mean_bps: float | None
    adverse_1s_mean_bps: float | None
    adverse_5s_mean_bps: float | None
    position_mean_abs: float
    position_max_abs: Decimal
    flat_time_pct: float


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """Every metric of a run (see DEFINITIONS); None = unknown, shown as n/a."""

    first_ns: int
    last_ns: int
    first_utc: str
    last_utc: str
    duration_s: float
    pnl_gross_usdt: Decimal
    pnl_net_usdt: Decimal
    realised_pnl_usdt: Decimal
    unrealised_pnl_usdt: Decimal
    fees_usdt: Decimal
    fills: int
    maker_fills: int
    taker_fills: int
    maker_share_pct: float | None
    taker_share_pct: float | None
    maker_qty_share_pct: float | None
    traded_qty: Decimal
    traded_notional_usdt: Decimal
    round_trips: int
    open_round_trips: int
    winning_round_trips: int
    win_rate_pct: float | None
    profit_factor: float | None
    round_trip_mean_net_usdt: Decimal | None
    return_interval_ns: int
    returns: int
    sharpe_annualised: float | None
    sortino_annualised: float | None
    max_drawdown_usdt: Decimal | None
    max_drawdown_pct: float | None
    max_drawdown_peak_ns: int | None
    max_drawdown_trough_ns: int | None
    max_drawdown_peak_utc: str | None
    max_drawdown_trough_utc: str | None
    orders_sent: int
    orders_denied: int
    orders_at_venue: int
    orders_filled: int
    orders_filled_pct: float | None
    limit_qty_sent: Decimal
    limit_qty_filled: Decimal
    limit_fill_ratio_pct: float | None
    net_bps_per_notional: float | None
    gross_bps_per_notional: float | None
    slippage_mean_bps: float | None
    slippage_fills_known: int
    maker_slippage_mean_bps: float | None
    taker_slippage_mean_bps: float | None
    adverse_1s_mean_bps: float | None
    adverse_1s_fills_known: int
    adverse_5s_mean_bps: float | None
    adverse_5s_fills_known: int
    position_mean_abs: float | None  # None with several symbols (see per_symbol)
    position_max_abs: Decimal | None
    flat_time_pct: float | None
    per_symbol: list[SymbolMetrics]


# -- small pieces


def utc_text(ts_ns: int) -> str:
    """`ts_ns` as a UTC time to the millisecond, e.g. 2024-08-08 23:54:15.088Z."""
    moment = _EPOCH + timedelta(microseconds=ts_ns // 1000)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def side_sign(side: str) -> int:
    """+1 for a buy, -1 for a sell."""
    return 1 if side == "Buy" else -1


def ratio_pct(part: float | Decimal, whole: float | Decimal) -> float | None:
    """part / whole in %, None when whole is 0."""
    return round(float(part) / float(whole) * 100, 4) if whole else None


def slippage_bps(side: str, price: Decimal, arrival_mid: Decimal) -> float:
    """The fill's price against the arrival mid, bps of it; positive = worse for us."""
    return side_sign(side) * float((price - arrival_mid) / arrival_mid) * BPS


def adverse_bps(side: str, mid_at_fill: Decimal, mid_after: Decimal) -> float:
    """The mid's move after a fill, bps; positive = against the fill (down after a buy)."""
    return -side_sign(side) * float((mid_after - mid_at_fill) / mid_at_fill) * BPS


def weighted_mean(pairs: Iterable[tuple[float, Decimal]]) -> tuple[float | None, int]:
    """The weight-weighted mean of (value, weight) pairs and their count (None if none)."""
    total, weight, count = 0.0, 0.0, 0
    for value, w in pairs:
        total += value * float(w)
        weight += float(w)
        count += 1
    return (round(total / weight, 4) if weight else None), count


# -- round trips


def round_trips(fills: Sequence[FillRow]) -> list[RoundTrip]:
    """The round trips of `fills` (in time order), per symbol (see the module docstring)."""
    holdings: dict[str, Holding] = {}
    open_trips: dict[str, tuple[int, Decimal, Decimal]] = {}  # opened, gross, fees so far
    done: list[RoundTrip] = []
    for fill in fills:
        before = holdings.get(fill.symbol, Holding())
        signed = fill.qty * side_sign(fill.side)
        after, realised = apply_fill(before, signed, fill.price)
        holdings[fill.symbol] = after
        opened, gross, fees = open_trips.get(fill.symbol, (fill.ts_ns, ZERO, ZERO))
        flipped = bool(before.qty) and bool(after.qty) and (before.qty > 0) != (after.qty > 0)
        closing_fee = fill.fee * abs(before.qty) / fill.qty if flipped else fill.fee
        gross, fees = gross + realised, fees + closing_fee
        if before.qty and (not after.qty or flipped):
            done.append(_trip(fill.symbol, opened, fill.ts_ns, gross, fees))
            open_trips.pop(fill.symbol)
            if flipped:
                open_trips[fill.symbol] = (fill.ts_ns, ZERO, fill.fee - closing_fee)
        else:
            open_trips[fill.symbol] = (opened, gross, fees)
    for symbol, (opened, gross, fees) in sorted(open_trips.items()):
        if holdings[symbol].qty:
            done.append(_trip(symbol, opened, None, gross, fees))
    return done


def _trip(
    symbol: str, opened_ns: int, closed_ns: int | None, gross: Decimal, fees: Decimal
) -> RoundTrip:
    return RoundTrip(
        symbol=symbol,
        opened_ns=opened_ns,
        closed_ns=closed_ns,
        pnl_gross_usdt=gross.quantize(PNL_QUANTUM),
        fees_usdt=fees.quantize(PNL_QUANTUM),
        pnl_net_usdt=(gross - fees).quantize(PNL_QUANTUM),
    )


def win_rate_pct(trips: Sequence[RoundTrip]) -> float | None:
    """Closed trips with net PnL > 0, % of closed trips (None without a closed trip)."""
    closed = [t for t in trips if t.closed_ns is not None]
    return ratio_pct(sum(1 for t in closed if t.pnl_net_usdt > 0), len(closed))


def profit_factor(trips: Sequence[RoundTrip]) -> float | None:
    """Winners' net PnL / |losers' net PnL| over closed trips (None without a loser)."""
    closed = [t.pnl_net_usdt for t in trips if t.closed_ns is not None]
    won = sum((p for p in closed if p > 0), ZERO)
    lost = -sum((p for p in closed if p < 0), ZERO)
    return round(float(won / lost), 4) if lost else None


# -- equity: returns, Sharpe, Sortino, drawdown


def equity_grid(result: BacktestResult) -> list[tuple[int, Decimal]]:
    """(ns, equity) at the start of the marks and at the end of every bucket of their grid,
    forward-filled through buckets where nothing changed ([] without a Quote)."""
    marks, width = result.marks, result.mark_bucket_ns
    if not marks:
        return []
    origin = marks[0].ts_ns
    points = [(origin, result.starting_balance)]
    equity = result.starting_balance
    index = 0
    buckets = (marks[-1].ts_ns - origin) // width + 1
    for k in range(buckets):
        start = origin + k * width
        if index < len(marks) and marks[index].ts_ns == start:
            equity = marks[index].equity
            index += 1
        points.append((start + width, equity))
    return points


def period_returns(equities: Sequence[Decimal]) -> list[float]:
    """Simple returns between consecutive equities."""
    return [float(b / a - 1) for a, b in pairwise(equities) if a]


def periods_per_year(interval_ns: int) -> float:
    """How many intervals of `interval_ns` a year holds (365 days of 24 h)."""
    return SECONDS_PER_YEAR * NS_PER_S / interval_ns


def sharpe(returns: Sequence[float], interval_ns: int) -> float | None:
    """mean / sample stdev * sqrt(periods a year); None under 2 returns or no variation."""
    if len(returns) < 2:
        return None
    mean = math.fsum(returns) / len(returns)
    var = math.fsum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    if var <= 0:
        return None
    return round(mean / math.sqrt(var) * math.sqrt(periods_per_year(interval_ns)), 4)


def sortino(returns: Sequence[float], interval_ns: int) -> float | None:
    """mean / downside deviation * sqrt(periods a year); None under 2 returns or with no
    return below 0."""
    if len(returns) < 2:
        return None
    downside = math.sqrt(math.fsum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside <= 0:
        return None
    mean = math.fsum(returns) / len(returns)
    return round(mean / downside * math.sqrt(periods_per_year(interval_ns)), 4)


def max_drawdown(points: Sequence[tuple[int, Decimal]]) -> Drawdown | None:
    """The largest fall from a running peak (0 if it never falls; None without points)."""
    if not points:
        return None
    peak_ns, peak = points[0]
    best = Drawdown(amount_usdt=ZERO, pct=0.0, peak_ns=peak_ns, trough_ns=peak_ns)
    for ts, equity in points:
        if equity > peak:
            peak_ns, peak = ts, equity
        fall = peak - equity
        if fall > best.amount_usdt:
            pct = round(float(fall / peak) * 100, 6) if peak > 0 else 0.0
            best = Drawdown(amount_usdt=fall, pct=pct, peak_ns=peak_ns, trough_ns=ts)
    return best


def drawdown_series(points: Sequence[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    """(ns, running peak - equity) at each point."""
    out: list[tuple[int, Decimal]] = []
    peak: Decimal | None = None
    for ts, equity in points:
        peak = equity if peak is None or equity > peak else peak
        out.append((ts, peak - equity))
    return out


# -- orders, fills, inventory


def inventory(fills: Sequence[FillRow], first_ns: int, last_ns: int) -> Inventory:
    """Time-weighted mean |position|, max |position| and % of time flat over
    [first_ns, last_ns], the position stepping at each fill (flat before the first)."""
    span = last_ns - first_ns
    area, flat_ns, max_abs = 0.0, 0, ZERO
    position, since = ZERO, first_ns
    for fill in fills:
        at = min(max(fill.ts_ns, first_ns), last_ns)
        area += abs(float(position)) * (at - since)
        flat_ns += (at - since) if not position else 0
        position, since = fill.position_after, at
        max_abs = max(max_abs, abs(position))
    area += abs(float(position)) * (last_ns - since)
    flat_ns += (last_ns - since) if not position else 0
    if span <= 0:
        return Inventory(mean_abs=abs(float(position)), max_abs=max_abs, flat_time_pct=100.0)
    return Inventory(
        mean_abs=round(area / span, 8),
        max_abs=max_abs,
        flat_time_pct=round(flat_ns / span * 100, 4),
    )


def slippages(fills: Sequence[FillRow], orders: Sequence[OrderRow]) -> list[tuple[float, Decimal]]:
    """(slippage bps, qty) of each fill whose order's arrival mid is known."""
    arrival = {o.client_order_id: o.arrival_mid for o in orders}
    out: list[tuple[float, Decimal]] = []
    for f in fills:
        mid = arrival.get(f.client_order_id)
        if mid:
            out.append((slippage_bps(f.side, f.price, mid), f.qty))
    return out


def adverse(fills: Sequence[FillRow], horizon_s: int) -> list[tuple[float, Decimal]]:
    """(adverse selection bps, qty) `horizon_s` (1 or 5) after each fill where known."""
    out: list[tuple[float, Decimal]] = []
    for f in fills:
        after = f.mid_1s_after if horizon_s == 1 else f.mid_5s_after
        if f.mid_at_fill and after is not None:
            out.append((adverse_bps(f.side, f.mid_at_fill, after), f.qty))
    return out


def notional(fills: Iterable[FillRow]) -> Decimal:
    """Sum of qty * price."""
    return sum((f.qty * f.price for f in fills), ZERO)


def symbol_metrics(
    symbol: str, fills: Sequence[FillRow], orders: Sequence[OrderRow], span: tuple[int, int]
) -> SymbolMetrics:
    """One row of the per-symbol table."""
    trips = round_trips(fills)
    realised = sum((t.pnl_gross_usdt for t in trips), ZERO)
    fees = sum((f.fee for f in fills), ZERO)
    held = inventory(fills, *span)
    makers = sum(1 for f in fills if f.is_maker)
    return SymbolMetrics(
        symbol=symbol,
        fills=len(fills),
        maker_fills=makers,
        taker_fills=len(fills) - makers,
        traded_qty=sum((f.qty for f in fills), ZERO),
        traded_notional_usdt=notional(fills),
        round_trips=sum(1 for t in trips if t.closed_ns is not None),
        win_rate_pct=win_rate_pct(trips),
        realised_pnl_usdt=realised,
        fees_usdt=fees,
        realised_net_usdt=_usdt(realised - fees),
        position_end=fills[-1].position_after if fills else ZERO,
        slippage_mean_bps=weighted_mean(slippages(fills, orders))[0],
        adverse_1s_mean_bps=weighted_mean(adverse(fills, 1))[0],
        adverse_5s_mean_bps=weighted_mean(adverse(fills, 5))[0],
        position_mean_abs=held.mean_abs,
        position_max_abs=held.max_abs,
        flat_time_pct=held.flat_time_pct,
    )


# -- everything


def compute(result: BacktestResult) -> Metrics:
    """Every metric of `result` (see DEFINITIONS and the module docstring)."""
    s, fills, orders = result.summary, result.fills, result.orders
    symbols = sorted(({f.symbol for f in fills} | {o.symbol for o in orders}) - {""})
    rows = [
        symbol_metrics(
            sym,
            [f for f in fills if f.symbol == sym],
            [o for o in orders if o.symbol == sym],
            (s.first_ns, s.last_ns),
        )
        for sym in symbols
    ]
    trips = round_trips(fills)
    closed = [t for t in trips if t.closed_ns is not None]
    grid = equity_grid(result)
    returns = period_returns([e for _, e in grid])
    dd = max_drawdown(grid)
    traded = notional(fills)
    makers = [f for f in fills if f.is_maker]
    qty = sum((f.qty for f in fills), ZERO)
    at_venue = [o for o in orders if o.status != "Denied"]
    limits = [o for o in at_venue if o.order_type == "Limit"]
    limit_sent = sum((o.qty for o in limits), ZERO)
    limit_filled = sum((o.filled_qty for o in limits), ZERO)
    with_fill = sum(1 for o in at_venue if o.filled_qty > 0)
    slip, slip_n = weighted_mean(slippages(fills, orders))
    a1, a1_n = weighted_mean(adverse(fills, 1))
    a5, a5_n = weighted_mean(adverse(fills, 5))
    one = rows[0] if len(rows) == 1 else None
    return Metrics(
        first_ns=s.first_ns,
        last_ns=s.last_ns,
        first_utc=utc_text(s.first_ns),
        last_utc=utc_text(s.last_ns),
        duration_s=round((s.last_ns - s.first_ns) / NS_PER_S, 3),
        pnl_gross_usdt=s.pnl_gross,
        pnl_net_usdt=s.pnl_net,
        realised_pnl_usdt=s.realised_pnl,
        unrealised_pnl_usdt=s.unrealised_pnl,
        fees_usdt=s.fees,
        fills=len(fills),
        maker_fills=len(makers),
        taker_fills=len(fills) - len(makers),
        maker_share_pct=ratio_pct(len(makers), len(fills)),
        taker_share_pct=ratio_pct(len(fills) - len(makers), len(fills)),
        maker_qty_share_pct=ratio_pct(sum((f.qty for f in makers), ZERO), qty),
        traded_qty=qty,
        traded_notional_usdt=traded,
        round_trips=len(closed),
        open_round_trips=len(trips) - len(closed),
        winning_round_trips=sum(1 for t in closed if t.pnl_net_usdt > 0),
        win_rate_pct=win_rate_pct(trips),
        profit_factor=profit_factor(trips),
        round_trip_mean_net_usdt=(
            _usdt(sum((t.pnl_net_usdt for t in closed), ZERO) / len(closed)) if closed else None
        ),
        return_interval_ns=result.mark_bucket_ns,
        returns=len(returns),
        sharpe_annualised=sharpe(returns, result.mark_bucket_ns),
        sortino_annualised=sortino(returns, result.mark_bucket_ns),
        max_drawdown_usdt=dd.amount_usdt if dd else None,
        max_drawdown_pct=dd.pct if dd else None,
        max_drawdown_peak_ns=dd.peak_ns if dd else None,
        max_drawdown_trough_ns=dd.trough_ns if dd else None,
        max_drawdown_peak_utc=utc_text(dd.peak_ns) if dd else None,
        max_drawdown_trough_utc=utc_text(dd.trough_ns) if dd else None,
        orders_sent=len(orders),
        orders_denied=len(orders) - len(at_venue),
        orders_at_venue=len(at_venue),
        orders_filled=with_fill,
        orders_filled_pct=ratio_pct(with_fill, len(at_venue)),
        limit_qty_sent=limit_sent,
        limit_qty_filled=limit_filled,
        limit_fill_ratio_pct=ratio_pct(limit_filled, limit_sent),
        net_bps_per_notional=_bps_of(s.pnl_net, traded),
        gross_bps_per_notional=_bps_of(s.pnl_gross, traded),
        slippage_mean_bps=slip,
        slippage_fills_known=slip_n,
        maker_slippage_mean_bps=weighted_mean(slippages(makers, orders))[0],
        taker_slippage_mean_bps=weighted_mean(
            slippages([f for f in fills if not f.is_maker], orders)
        )[0],
        adverse_1s_mean_bps=a1,
        adverse_1s_fills_known=a1_n,
        adverse_5s_mean_bps=a5,
        adverse_5s_fills_known=a5_n,
        position_mean_abs=one.position_mean_abs if one else None,
        position_max_abs=one.position_max_abs if one else None,
        flat_time_pct=one.flat_time_pct if one else None,
        per_symbol=rows,
    )


def _usdt(value: Decimal) -> Decimal:
    return value.quantize(PNL_QUANTUM)


def _bps_of(pnl: Decimal, traded: Decimal) -> float | None:
    return round(float(pnl / traded) * BPS, 4) if traded else None


def metrics_json(metrics: Metrics) -> bytes:
    """The metrics alone as JSON (deterministic)."""
    return msgspec.json.encode(metrics, order="deterministic")


def result_with_metrics_json(result: BacktestResult, metrics: Metrics) -> bytes:
    """The result's JSON with a "metrics" key added: the same run gives the same bytes."""
    document = msgspec.to_builtins(result)
    document["metrics"] = msgspec.to_builtins(metrics)
    return msgspec.json.encode(document, order="deterministic")
