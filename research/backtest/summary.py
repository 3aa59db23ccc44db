"""The result of a finished run (`build_result`) and its terminal summary (`summary_text`)."""

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from research.backtest.result import PNL_QUANTUM, ZERO, BacktestResult, Summary
from research.backtest.settings import NS_PER_MS, BacktestSettings

WALLET_QUANTUM = Decimal("0.00000001")  # the venue shows its wallet to 8 decimals

if TYPE_CHECKING:
    from research.backtest.engine import Engine


def settings_echo(s: BacktestSettings) -> dict[str, Any]:
    """What the run depended on besides its data, as plain values. `symbol` is the run's
    first; `symbols` (all of them, in order) only when there are several, so that a run of
    one symbol writes the same bytes as before several were possible."""
    import msgspec

    several = {"symbols": list(s.symbols)} if s.more_symbols else {}
    return {
        "symbol": s.symbol,
        **several,
        "seed": s.seed,
        "maker_fee": str(s.maker_fee),
        "taker_fee": str(s.taker_fee),
        "starting_balance": str(s.starting_balance),
        "queue_model": s.queue_model,
        "queue_power": s.queue_power,
        "feed_latency_ms": s.feed_latency_ns / NS_PER_MS,
        "entry_latency": s.entry_latency.describe(),
        "response_latency": s.response_latency.describe(),
        "timer_interval_ms": s.timer_interval_ns / NS_PER_MS,
        "feed_depth": s.feed.depth,
        "strategy": msgspec.to_builtins(s.strategy),
    }


def build_result(engine: "Engine") -> BacktestResult:
    """The result of `engine`'s finished run."""
    ledger, venue_change = engine.ledger, engine.wallet_change()
    fills = ledger.fills
    makers = sum(1 for f in fills if f.is_maker)
    unrealised = ledger.unrealised()
    realised = ledger.realised.quantize(PNL_QUANTUM)
    gross = realised + unrealised
    share = f"{Decimal(makers) / Decimal(len(fills)):.4f}" if fills else ""
    summary = Summary(
        first_ns=engine.start_ns,
        last_ns=engine.now_ns,
        frames=engine.market.frames,
        orders=len(ledger.orders),
        entries=sum(1 for o in ledger.orders.values() if not o.reduce_only),
        round_trips=ledger.round_trips,
        fills=len(fills),
        maker_fills=makers,
        taker_fills=len(fills) - makers,
        maker_share=share,
        position_qty=ledger.holding.qty,
        realised_pnl=realised,
        unrealised_pnl=unrealised,
        pnl_gross=gross,
        fees=ledger.fees,
        pnl_net=gross - ledger.fees,
        venue_wallet_change=venue_change,
        ledger_matches_venue=abs(ledger.realised - ledger.fees - venue_change) < WALLET_QUANTUM,
    )
    counters = {
        "engine": dict(engine.counters),
        "strategy": dict(engine.strategy.counters),
        "strategy_alerts": dict(engine.alerts),
        "executor": dict(engine.desk.counters),
        "executor_alerts": dict(engine.reports.alerts),
        "feed": _feed_counters(engine),
        "skipped_lines": dict(engine.market.skipped),
        "venue_skipped": {**engine.market.venue_skipped, **engine.venue.recorded_skips()},
        "venue_ladder": engine.venue.recorded_counts(),
    }
    return BacktestResult(
        settings=settings_echo(engine.settings),
        summary=summary,
        counters={k: {n: c for n, c in v.items() if c} for k, v in counters.items()},
        orders=sorted(ledger.orders.values(), key=lambda o: (o.submitted_ns, o.client_order_id)),
        fills=list(fills),
        equity=list(ledger.equity),
        marks=ledger.marks_now(),
        mark_bucket_ns=ledger.mark_bucket_ns,
        starting_balance=ledger.starting_balance,
    )


def _feed_counters(engine: "Engine") -> dict[str, int]:
    """The feed sessions' counters, summed over the symbols (as the live feed reports)."""
    if len(engine.sessions) == 1:
        return dict(engine.session.counters)
    total: Counter[str] = Counter()
    for session in engine.sessions.values():
        total.update(session.counters)
    return dict(total)


def run_symbols(result: BacktestResult) -> list[str]:
    """The run's symbols, in order (a run of one writes only `symbol`)."""
    settings = result.settings
    return [str(x) for x in settings.get("symbols", [settings.get("symbol", "")])]


def summary_text(result: BacktestResult) -> str:
    """A few lines for the terminal."""
    s = result.summary
    hours = (s.last_ns - s.first_ns) / 3.6e12
    symbols = run_symbols(result)
    position = f"position  {s.position_qty}"
    if len(symbols) > 1:  # each symbol's, from its last fill
        last = {f.symbol: f.position_after for f in result.fills}
        position = "position  " + ", ".join(f"{x} {last.get(x, ZERO)}" for x in symbols)
    lines = [
        f"symbols   {', '.join(symbols)}",
        f"data      {s.frames:,} frames over {hours:.2f} h of recorded time",
        f"orders    {s.orders} ({s.entries} entries), {s.round_trips} round trips",
        f"fills     {s.fills}: {s.maker_fills} maker, {s.taker_fills} taker"
        + (f" (maker share {s.maker_share})" if s.maker_share else ""),
        position,
        f"PnL       gross {_usdt(s.pnl_gross)} (realised {_usdt(s.realised_pnl)},"
        f" unrealised {_usdt(s.unrealised_pnl)})",
        f"fees      {_usdt(s.fees)}",
        f"PnL net   {_usdt(s.pnl_net)}",
        f"venue     wallet change {_usdt(s.venue_wallet_change)}"
        f" ({'matches' if s.ledger_matches_venue else 'DIFFERS FROM'} realised - fees)",
    ]
    return "\n".join(lines)


def _usdt(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.0001')) if value else ZERO:f} USDT"
