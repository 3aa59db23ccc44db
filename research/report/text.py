"""The metrics as a few lines for the terminal (after the backtest's own summary)."""

from decimal import Decimal

from research.report.metrics import Metrics

NA = "n/a"


def value_text(value: object, places: int = 4) -> str:
    """A value for a person: None is "n/a" (unknown, never 0); Decimals to `places`."""
    if value is None:
        return NA
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        shown = value.quantize(Decimal(1).scaleb(-places)) if value else Decimal(0)
        return f"{shown:f}"
    if isinstance(value, float):
        return f"{value:.{places}f}"
    return str(value)


def _bps(value: float | None) -> str:
    return NA if value is None else f"{value:+.2f} bps"


def _pct(value: float | None) -> str:
    return NA if value is None else f"{value:.1f} %"


def _small_pct(value: float | None) -> str:
    return NA if value is None else f"{value:.3g} %"


def metrics_text(m: Metrics) -> str:
    """The report's metrics in a few lines; n/a = unknown."""
    interval_s = m.return_interval_ns / 1e9
    dd = (
        f"{value_text(m.max_drawdown_usdt)} USDT ({_small_pct(m.max_drawdown_pct)}),"
        f" peak {m.max_drawdown_peak_utc or NA}, trough {m.max_drawdown_trough_utc or NA}"
    )
    lines = [
        f"period    {m.first_utc} .. {m.last_utc} ({m.duration_s:g} s)",
        f"trades    {m.round_trips} round trips closed ({m.open_round_trips} open):"
        f" win rate {_pct(m.win_rate_pct)}, profit factor {value_text(m.profit_factor)},"
        f" mean net {value_text(m.round_trip_mean_net_usdt)} USDT",
        f"ratios    Sharpe {value_text(m.sharpe_annualised, 2)},"
        f" Sortino {value_text(m.sortino_annualised, 2)} (annualised, {m.returns} returns"
        f" of {interval_s:g} s, 24/7 year)",
        f"drawdown  max {dd}",
        f"orders    {m.orders_sent} sent, {m.orders_denied} denied;"
        f" with a fill {_pct(m.orders_filled_pct)} of those at the venue;"
        f" limit qty filled {_pct(m.limit_fill_ratio_pct)}",
        f"fills     maker {_pct(m.maker_share_pct)}, taker {_pct(m.taker_share_pct)} (by count);"
        f" notional {value_text(m.traded_notional_usdt, 2)} USDT",
        f"notional  net {_bps(m.net_bps_per_notional)}, gross {_bps(m.gross_bps_per_notional)}"
        " of the traded notional",
        f"slippage  {_bps(m.slippage_mean_bps)} against the arrival mid"
        f" ({m.slippage_fills_known} fills known; + = worse for us)",
        f"adverse   1 s {_bps(m.adverse_1s_mean_bps)} ({m.adverse_1s_fills_known} known),"
        f" 5 s {_bps(m.adverse_5s_mean_bps)} ({m.adverse_5s_fills_known} known;"
        " + = moved against us)",
        f"inventory mean |pos| {value_text(m.position_mean_abs, 6)},"
        f" max |pos| {value_text(m.position_max_abs, 6)}, flat {_pct(m.flat_time_pct)} of"
        " the time",
    ]
    return "\n".join(lines)
