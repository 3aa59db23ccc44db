"""The backtest report as one offline HTML page: tables and inline SVG plots, no script.

Pure (a result and its metrics in, text out), no plotting library and nothing fetched: the
page opens from a file with no network. Plots, on the run's UTC time axis:
- equity (USDT), from the marks grid (forward-filled, see metrics.equity_grid);
- PnL gross and net of fees (USDT), at each marks bucket;
- drawdown from the running peak (USDT);
- position (base coin), stepping at each fill (a run of several symbols: one line a symbol);
- the mid (its low-high band per marks bucket and its last value) with our fills marked:
  a triangle up for a buy, down for a sell; filled for a maker fill, hollow for a taker
  (several symbols: the marks follow the first symbol's mid, and its fills are marked).
Each line is cut to at most `MAX_POINTS` points (buckets of consecutive points keep their
lowest and highest, in time order, so a spike stays visible); at most `MAX_MARKERS` fills
are marked (every k-th beyond that, said under the plot). All text is escaped. The page
holds no wall-clock time: the same result gives the same bytes.
"""

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Final

import msgspec

from research.backtest.result import BacktestResult, FillRow, MarkPoint
from research.backtest.summary import run_symbols
from research.report.metrics import (
    DEFINITIONS,
    Metrics,
    SymbolMetrics,
    drawdown_series,
    equity_grid,
    utc_text,
)
from research.report.text import NA

MAX_POINTS: Final = 2_000
MAX_MARKERS: Final = 2_000
_W, _H = 960, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 90, 20, 30, 40
_BUY, _SELL = "#1a9850", "#d73027"
_SYMBOL_COLOURS: Final = ("#6a3d9a", "#ff7f00", "#1f78b4", "#33a02c", "#e31a1c", "#b15928")
Point = tuple[int, float]  # (ns, value)

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
td.num { text-align: right; font-family: monospace; }
h2 { margin-top: 1.6em; }
p.note { font-size: 12px; color: #555; }
svg { display: block; margin-bottom: 0.4em; }
"""


# -- series


def downsample_min_max(points: Sequence[Point], max_points: int = MAX_POINTS) -> list[Point]:
    """At most `max_points` of `points`: consecutive buckets keep their lowest and highest
    point, in time order (the first of equal ones)."""
    if len(points) <= max_points:
        return list(points)
    size = math.ceil(len(points) / (max_points // 2))
    out: list[Point] = []
    for start in range(0, len(points), size):
        bucket = points[start : start + size]
        low = min(range(len(bucket)), key=lambda i: bucket[i][1])
        high = max(range(len(bucket)), key=lambda i: bucket[i][1])
        for i in sorted({low, high}):
            out.append(bucket[i])
    return out


def position_steps(fills: Sequence[FillRow], first_ns: int, last_ns: int) -> list[Point]:
    """The position as a step line: flat at the start, a step at each fill, to the end."""
    points: list[Point] = [(first_ns, 0.0)]
    for fill in fills:
        points.append((fill.ts_ns, points[-1][1]))
        points.append((fill.ts_ns, float(fill.position_after)))
    points.append((max(last_ns, points[-1][0]), points[-1][1]))
    return points


def mid_band(marks: Sequence[MarkPoint], max_buckets: int = MAX_POINTS // 2) -> list[MarkPoint]:
    """At most `max_buckets` marks, neighbours merged (lowest low, highest high, last)."""
    if len(marks) <= max_buckets:
        return list(marks)
    size = math.ceil(len(marks) / max_buckets)
    out: list[MarkPoint] = []
    for start in range(0, len(marks), size):
        group = marks[start : start + size]
        out.append(
            msgspec.structs.replace(
                group[-1],
                ts_ns=group[0].ts_ns,
                mid_low=min(m.mid_low for m in group),
                mid_high=max(m.mid_high for m in group),
            )
        )
    return out


# -- SVG


class Frame:
    """A plot's coordinates: time (ns) across, a value range up."""

    def __init__(self, t0: int, t1: int, low: float, high: float) -> None:
        if high <= low:
            pad = abs(low) * 1e-6 or 1.0
            low, high = low - pad, high + pad
        self.t0, self.t1 = t0, max(t1, t0 + 1)
        self.low, self.high = low, high

    def x(self, ts_ns: int) -> float:
        return _LEFT + (ts_ns - self.t0) / (self.t1 - self.t0) * (_W - _LEFT - _RIGHT)

    def y(self, value: float) -> float:
        return _TOP + (1 - (value - self.low) / (self.high - self.low)) * (_H - _TOP - _BOTTOM)

    def xy(self, ts_ns: int, value: float) -> str:
        return f"{self.x(ts_ns):.1f},{self.y(value):.1f}"


def _axes(frame: Frame, title: str, unit: str) -> list[str]:
    bottom, right = _H - _BOTTOM, _W - _RIGHT
    out = [
        f'<text x="{_LEFT}" y="18" font-size="14">{escape(title)}</text>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{right - _LEFT}" height="{bottom - _TOP}"'
        ' fill="none" stroke="#999"/>',
    ]
    for k in range(5):
        value = frame.low + (frame.high - frame.low) * k / 4
        y = frame.y(value)
        out.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
            f"{escape(_tick(value, frame.high - frame.low))}</text>"
        )
        ts = frame.t0 + (frame.t1 - frame.t0) * k // 4
        x = frame.x(ts)
        anchor = ("start", "middle", "middle", "middle", "end")[k]
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 16}" font-size="11" text-anchor="{anchor}">'
            f"{escape(utc_text(ts)[11:])}</text>"
        )
    out.append(
        f'<text x="{right}" y="{bottom + 32}" font-size="11" text-anchor="end">'
        f"time (UTC); values in {escape(unit)}</text>"
    )
    return out


def _tick(value: float, span: float) -> str:
    places = max(0, min(8, 2 - math.floor(math.log10(span)))) if span > 0 else 2
    return f"{value:.{places}f}"


def _svg(body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}"'
        f' viewBox="0 0 {_W} {_H}" role="img" aria-label="{escape(label)}">'
        + "".join(body)
        + "</svg>"
    )


def line_plot(
    title: str, unit: str, lines: Sequence[tuple[str, str, Sequence[Point]]], span: tuple[int, int]
) -> str:
    """An SVG of (name, colour, points) lines over the time span; each line cut to
    MAX_POINTS (min/max per bucket)."""
    cut = [(name, colour, downsample_min_max(points)) for name, colour, points in lines]
    values = [v for _, _, points in cut for _, v in points] or [0.0]
    frame = Frame(span[0], span[1], min(values), max(values))
    body = _axes(frame, title, unit)
    for i, (name, colour, points) in enumerate(cut):
        if points:
            path = " ".join(frame.xy(t, v) for t, v in points)
            body.append(f'<polyline fill="none" stroke="{colour}" points="{path}"/>')
        body.append(
            f'<text x="{_W - _RIGHT - 6}" y="{_TOP + 14 + 14 * i}" font-size="12"'
            f' text-anchor="end" fill="{colour}">{escape(name)}</text>'
        )
    return _svg(body, title)


def price_plot(
    marks: Sequence[MarkPoint],
    fills: Sequence[FillRow],
    span: tuple[int, int],
    title: str = "mid (band: low-high per bucket) and our fills",
) -> str:
    """The mid's band and last value, with the fills marked (see the module docstring)."""
    band = mid_band(marks)
    stride = max(1, math.ceil(len(fills) / MAX_MARKERS))
    shown = list(fills[::stride])
    values = [float(m.mid_low) for m in band] + [float(m.mid_high) for m in band]
    values += [float(f.price) for f in shown]
    frame = Frame(span[0], span[1], min(values or [0.0]), max(values or [0.0]))
    body = _axes(frame, title, "USDT")
    if band:
        upper = " ".join(frame.xy(m.ts_ns, float(m.mid_high)) for m in band)
        lower = " ".join(frame.xy(m.ts_ns, float(m.mid_low)) for m in reversed(band))
        body.append(f'<polygon points="{upper} {lower}" fill="#c6dbef" stroke="none"/>')
        last = " ".join(frame.xy(m.ts_ns, float(m.mid_last)) for m in band)
        body.append(f'<polyline fill="none" stroke="#08519c" points="{last}"/>')
    for fill in shown:
        body.append(_marker(frame, fill))
    legend = (
        (f'<path d="M0,-5 L5,4 L-5,4 Z" fill="{_BUY}"/>', "buy, maker"),
        (f'<path d="M0,-5 L5,4 L-5,4 Z" fill="white" stroke="{_BUY}"/>', "buy, taker"),
        (f'<path d="M0,5 L5,-4 L-5,-4 Z" fill="{_SELL}"/>', "sell, maker"),
        (f'<path d="M0,5 L5,-4 L-5,-4 Z" fill="white" stroke="{_SELL}"/>', "sell, taker"),
    )
    for i, (shape, name) in enumerate(legend):
        x = _LEFT + 10 + 110 * i
        body.append(
            f'<g transform="translate({x},{_TOP + 12})">{shape}</g>'
            f'<text x="{x + 9}" y="{_TOP + 16}" font-size="11">{escape(name)}</text>'
        )
    return _svg(body, title)


def _marker(frame: Frame, fill: FillRow) -> str:
    x, y = frame.x(fill.ts_ns), frame.y(float(fill.price))
    buy = fill.side == "Buy"
    colour = _BUY if buy else _SELL
    shape = "M0,-5 L5,4 L-5,4 Z" if buy else "M0,5 L5,-4 L-5,-4 Z"
    paint = f'fill="{colour}"' if fill.is_maker else f'fill="white" stroke="{colour}"'
    tip = (
        f"{utc_text(fill.ts_ns)} {fill.side} {fill.qty} @ {fill.price}"
        f" {'maker' if fill.is_maker else 'taker'}"
    )
    return (
        f'<path transform="translate({x:.1f},{y:.1f})" d="{shape}" {paint}>'
        f"<title>{escape(tip)}</title></path>"
    )


# -- tables


def cell_text(value: object) -> str:
    """A table cell: n/a for unknown; Decimals to 10 places, trailing zeros cut; floats to
    6 significant digits (whole numbers from 100,000 up)."""
    if value is None:
        return NA
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        text = f"{value.quantize(Decimal('1E-10')) if value else Decimal(0):f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.6g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: range) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(c)}</td>' if i in numeric else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def metrics_table(metrics: Metrics) -> str:
    """Every metric but the per-symbol rows: name, value (n/a = unknown), how computed."""
    rows = [
        (name, cell_text(value), DEFINITIONS.get(name, ""))
        for name, value in msgspec.structs.asdict(metrics).items()
        if name != "per_symbol"
    ]
    return _table(("metric", "value", "how"), rows, range(1, 2))


def symbol_table(rows: Sequence[SymbolMetrics]) -> str:
    """One row a symbol."""
    fields = SymbolMetrics.__struct_fields__
    body = [[cell_text(getattr(r, f)) for f in fields] for r in rows]
    return _table(fields, body, range(1, len(fields)))


def settings_table(settings: dict[str, object]) -> str:
    """The run's settings (nested values as JSON)."""
    rows = []
    for key in sorted(settings):
        value = settings[key]
        shown = (
            msgspec.json.encode(value, order="deterministic").decode()
            if isinstance(value, dict | list)
            else str(value)
        )
        rows.append((key, shown))
    return _table(("setting", "value"), rows, range(0))


# -- the page


def pnl_lines(marks: Sequence[MarkPoint], starting_balance: Decimal) -> tuple[Point, ...]:
    """(ns, net PnL) at each marks bucket: equity - starting balance."""
    return tuple((m.ts_ns, float(m.equity - starting_balance)) for m in marks)


def _by_symbol(
    result: BacktestResult, symbols: Sequence[str], span: tuple[int, int]
) -> tuple[list[tuple[str, str, list[Point]]], str]:
    """The position lines (one a symbol when several) and the price plot (several: the
    first symbol's mid, which the marks follow, with its fills)."""
    fills = result.fills

    def of(symbol: str) -> list[FillRow]:
        return [f for f in fills if f.symbol == symbol]

    if len(symbols) == 1:
        return [("position", "#6a3d9a", position_steps(fills, *span))], price_plot(
            result.marks, fills, span
        )
    lines = [
        (x, _SYMBOL_COLOURS[i % len(_SYMBOL_COLOURS)], position_steps(of(x), *span))
        for i, x in enumerate(symbols)
    ]
    first = of(symbols[0])
    title = f"mid of {symbols[0]} (band: low-high per bucket) and our fills on it"
    return lines, price_plot(result.marks, first, span, title)


def render(result: BacktestResult, metrics: Metrics) -> str:
    """The whole page."""
    span = (metrics.first_ns, metrics.last_ns)
    grid = equity_grid(result)
    equity = [(t, float(e)) for t, e in grid]
    drawdown = [(t, float(d)) for t, d in drawdown_series(grid)]
    net = pnl_lines(result.marks, result.starting_balance)
    gross = [(m.ts_ns, v + float(m.fees)) for m, (_, v) in zip(result.marks, net, strict=True)]
    symbols = run_symbols(result)
    symbol = ", ".join(symbols)
    positions, price = _by_symbol(result, symbols, span)
    stride = max(1, math.ceil(len(result.fills) / MAX_MARKERS))
    bucket_ms = result.mark_bucket_ns / 1e6
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Backtest {escape(symbol)} {escape(metrics.first_utc)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Backtest {escape(symbol)}</h1>",
        f'<p class="note">{escape(metrics.first_utc)} .. {escape(metrics.last_utc)}'
        f" ({metrics.duration_s:g} s of recorded time, {result.summary.frames:,} frames)."
        " n/a = unknown (never shown as 0).</p>",
        '<h2 id="plots">Plots</h2>',
        f'<p class="note">Equity, PnL and the mid on a grid of {bucket_ms:g} ms buckets;'
        f" each line at most {MAX_POINTS} points (min and max of each bucket kept).</p>",
        line_plot("equity", "USDT", [("equity", "#08519c", equity)], span),
        line_plot(
            "PnL: gross (before fees) and net (after fees)",
            "USDT",
            [("gross", "#2ca02c", gross), ("net", "#d62728", list(net))],
            span,
        ),
        line_plot(
            "drawdown from the running peak", "USDT", [("drawdown", "#d62728", drawdown)], span
        ),
        line_plot("position", "base coin", positions, span),
        price,
        f'<p class="note">{len(result.fills)} fills'
        + (f", every {stride}th marked" if stride > 1 else ", all marked")
        + ".</p>",
        '<h2 id="metrics">Metrics</h2>',
        metrics_table(metrics),
        '<h2 id="symbols">Per symbol</h2>',
        symbol_table(metrics.per_symbol),
        '<h2 id="settings">Settings</h2>',
        settings_table(result.settings),
        "</body></html>",
        "",
    ]
    return "\n".join(parts)
