"""An SVG of markets side by side: mid paths (bps from the start) and spread histograms.

Pure (tapes in, SVG text out), no plotting library: the project has none.
"""

import math
from xml.sax.saxutils import escape

from services.simulator.market_stats import Tape, grid_tops

_COLOURS = ("#222222", "#d62728", "#1f77b4", "#2ca02c")
_W, _H, _PAD = 900, 300, 50
_SPREAD_BINS = 6  # 1 .. 5 ticks, then 6 or more


def _mid_path_bps(tape: Tape, every_ms: int = 1000) -> list[tuple[float, float]]:
    """(seconds since the start, mid in bps from the first mid), one point per `every_ms`."""
    points: list[tuple[float, float]] = []
    start_ts, start_mid, next_ts = tape.tops[0][0], 0.0, tape.tops[0][0]
    for ts, bid, ask in sorted(tape.tops):
        mid = (bid + ask) / 2
        if not points:
            start_mid = mid
        if ts >= next_ts:
            points.append(((ts - start_ts) / 1000, math.log(mid / start_mid) * 1e4))
            next_ts = ts + every_ms
    return points


def _spread_shares(tape: Tape) -> list[float]:
    """Share of the time at 1, 2, .. ticks of spread (sampled every 100 ms)."""
    _, bids, asks = grid_tops(tape, 100)
    counts = [0] * _SPREAD_BINS
    for bid, ask in zip(bids.tolist(), asks.tolist(), strict=True):
        ticks = round((ask - bid) / tape.tick)
        counts[min(max(ticks, 1), _SPREAD_BINS) - 1] += 1
    total = sum(counts) or 1
    return [c / total for c in counts]


def _mid_panel(tapes: dict[str, Tape]) -> list[str]:
    paths = {name: _mid_path_bps(tape) for name, tape in tapes.items()}
    xs = [x for p in paths.values() for x, _ in p] or [1.0]
    ys = [y for p in paths.values() for _, y in p] or [1.0]
    x_max, y_abs = max(xs) or 1.0, max(max(abs(y) for y in ys), 1.0)
    plot_w, plot_h = _W - 2 * _PAD, _H - 2 * _PAD

    def xy(x: float, y: float) -> str:
        return (
            f"{_PAD + x / x_max * plot_w:.1f},{_PAD + (1 - (y + y_abs) / (2 * y_abs)) * plot_h:.1f}"
        )

    out = [
        f'<text x="{_PAD}" y="25" font-size="14">mid, bps from the start, over {x_max:.0f} s'
        f" (axis +/- {y_abs:.0f} bps)</text>",
        f'<line x1="{_PAD}" y1="{_H / 2}" x2="{_W - _PAD}" y2="{_H / 2}" stroke="#bbb"/>',
    ]
    for i, (name, path) in enumerate(paths.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        line = " ".join(xy(x, y) for x, y in path)
        out.append(f'<polyline fill="none" stroke="{colour}" points="{line}"/>')
        out.append(
            f'<text x="{_W - _PAD + 5}" y="{_PAD + 15 * i}" font-size="12" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    return out


def _spread_panel(tapes: dict[str, Tape], top: int) -> list[str]:
    plot_h = _H - 2 * _PAD
    group_w = (_W - 2 * _PAD) / _SPREAD_BINS
    bar_w = group_w / (len(tapes) + 1)
    out = [f'<text x="{_PAD}" y="{top + 25}" font-size="14">spread, share of the time</text>']
    for i, (name, tape) in enumerate(tapes.items()):
        colour = _COLOURS[i % len(_COLOURS)]
        for b, share in enumerate(_spread_shares(tape)):
            x = _PAD + b * group_w + i * bar_w
            h = share * plot_h
            out.append(
                f'<rect x="{x:.1f}" y="{top + _PAD + plot_h - h:.1f}" width="{bar_w:.1f}"'
                f' height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(name)} {share:.3f}</title></rect>"
            )
    for b in range(_SPREAD_BINS):
        label = f"{b + 1}" + ("+" if b + 1 == _SPREAD_BINS else "") + " ticks"
        x = _PAD + b * group_w
        out.append(f'<text x="{x:.1f}" y="{top + _H - 30}" font-size="12">{label}</text>')
    return out


def market_svg(tapes: dict[str, Tape]) -> str:
    """Two panels: every tape's mid path, then every tape's spread histogram."""
    body = _mid_panel(tapes) + _spread_panel(tapes, top=_H)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{2 * _H}"'
        f' font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
        + "".join(body)
        + "</svg>\n"
    )
