"""scripts/market-stats --svg: one mid path and one spread histogram per market, valid SVG."""

import xml.etree.ElementTree as ET

from scripts.market_plot import market_svg
from services.simulator.market_stats import Tape

SVG = "{http://www.w3.org/2000/svg}"


def _tape(spread_ticks: int) -> Tape:
    tape = Tape(tick=0.01)
    for i in range(50):
        mid = 100.0 + 0.01 * (i % 7)
        half = spread_ticks * 0.005
        tape.tops.append((1_000_000 + 100 * i, mid - half, mid + half))
    return tape


def test_each_market_has_a_path_and_a_histogram_whose_bars_sum_to_the_whole() -> None:
    root = ET.fromstring(market_svg({"real": _tape(1), "lively <x>": _tape(3)}))
    assert len(root.findall(f"{SVG}polyline")) == 2
    bars = root.findall(f"{SVG}rect")[1:]  # the first is the background
    assert len(bars) == 2 * 6
    shares = [float(bar.find(f"{SVG}title").text.rsplit(" ", 1)[1]) for bar in bars]  # type: ignore[union-attr]
    assert sum(shares[:6]) == 1.0
    assert shares[0] == 1.0  # one tick
    assert shares[6 + 2] == 1.0  # three ticks
