"""A backtest of several symbols: a market maker quoting ETHUSDT and SOLUSDT at once.

The SOLUSDT data is the real ETHUSDT fixture renamed, its sizes scaled onto SOLUSDT's lot
and its receive times shifted 3 ms (second_symbol.py says how and why), written into
tmp_path by each test that needs it. What a run of one symbol writes is held by the
digests of test_backtest_identity.py and test_backtest_digest.py (unchanged by this work);
here only that such a run still writes no `symbols` field.
"""

import json
import shutil
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from research.backtest.cli import main
from research.backtest.engine import BacktestError, Engine
from research.backtest.market import recording_lines
from research.backtest.result import BacktestResult
from research.backtest.settings import BacktestSettings, load_settings
from research.backtest.summary import settings_echo, summary_text
from research.report.html import render
from research.report.metrics import compute, result_with_metrics_json
from services.feed.settings import FeedSettings
from services.strategy.mm.core import MarketMaker
from services.strategy.settings import MarketMakerSection
from shared.schema import FeedReady, FeedState, FeedStatus, Quote
from shared.settings import DEFAULT_SETTINGS_PATH
from tests.unit.research import support
from tests.unit.research.second_symbol import REPLAY, derive
from tests.unit.research.support import MS, T0, Scripted
from tests.unit.research.test_backtest_mm import QUOTING
from tests.unit.services.strategy.mm.test_backtest_digest import _settings as mm_settings

ETH, SOL = "ETHUSDT", "SOLUSDT"
FOLLOWING = msgspec.structs.replace(QUOTING, follow="market-making")
MM_SET = [
    "--set",
    "kind=market-maker",
    "--set",
    "strategy-id=mm1",
    "--set",
    "market-maker={min-spread-bps=0.01, max-spread-bps=0.5, feed-stale-ms=60000.0,"
    ' order-notional-usdt=500.0, follow="market-making"}',
    "--quiet",
]


@pytest.fixture
def sol(tmp_path: Path) -> Path:
    return derive(tmp_path / "SOLUSDT-2024-08-08-10s.frames.gz")


def two(section: MarketMakerSection = FOLLOWING, **knobs: Any) -> BacktestSettings:
    """The maker's settings of the digests (2 ms latencies), on ETHUSDT and SOLUSDT."""
    return replace(mm_settings(section, 2.0), **{"more_symbols": (SOL,), **knobs})


def _run(settings: BacktestSettings, sol: Path) -> tuple[Engine, BacktestResult]:
    engine = Engine(settings, recording_lines([REPLAY, sol]))
    return engine, engine.run()


# -- the market maker on two symbols


@pytest.mark.parametrize(
    "section",
    [FOLLOWING, msgspec.structs.replace(QUOTING, symbols=(ETH, SOL))],
    ids=["follows-the-selection", "lists-both"],
)
def test_a_market_maker_quotes_and_fills_on_both_symbols(
    section: MarketMakerSection, sol: Path
) -> None:
    engine, result = _run(two(section), sol)

    assert isinstance(engine.strategy, MarketMaker)
    assert {o.symbol for o in result.orders} == {ETH, SOL}
    assert {f.symbol for f in result.fills} == {ETH, SOL}
    assert {f.is_maker for f in result.fills} == {True}
    assert result.summary.ledger_matches_venue  # the account's PnL, both symbols booked
    assert result.settings["symbols"] == [ETH, SOL]
    assert result.settings["symbol"] == ETH
    rows = {row.symbol: row for row in compute(result).per_symbol}
    assert set(rows) == {ETH, SOL}
    assert all(row.fills > 0 for row in rows.values())


def test_each_fill_carries_its_own_symbols_position(sol: Path) -> None:
    _, result = _run(two(), sol)
    held: dict[str, Decimal] = defaultdict(Decimal)
    for fill in result.fills:
        held[fill.symbol] += fill.qty if fill.side == "Buy" else -fill.qty
        assert fill.position_after == held[fill.symbol]
    # the SOLUSDT lot is ten times ETHUSDT's: a mixed book would show it
    assert {f.qty % Decimal("0.1") for f in result.fills if f.symbol == SOL} == {0}


def test_a_two_symbol_run_gives_the_same_bytes_twice(sol: Path) -> None:
    first, again = (_run(two(), sol)[1] for _ in range(2))
    assert result_with_metrics_json(first, compute(first)) == result_with_metrics_json(
        again, compute(again)
    )
    assert render(first, compute(first)) == render(again, compute(again))


def test_the_summary_and_the_report_name_the_symbols(sol: Path) -> None:
    _, result = _run(two(), sol)
    text = summary_text(result)
    assert "symbols   ETHUSDT, SOLUSDT" in text
    assert "position  ETHUSDT " in text
    assert ", SOLUSDT " in text
    page = render(result, compute(result))
    assert "<h1>Backtest ETHUSDT, SOLUSDT</h1>" in page
    assert "mid of ETHUSDT" in page


# -- routing: each frame to its symbol's session; ties; staleness


def _logged_sessions(engine: Engine) -> dict[str, list[str]]:
    """The topics each session is given, by symbol."""
    seen: dict[str, list[str]] = {symbol: [] for symbol in engine.sessions}
    for symbol, session in engine.sessions.items():
        on_book, on_trades = session.on_book, session.on_trades

        def book(frame: Any, t: int, log: list[str] = seen[symbol], f: Any = on_book) -> Any:
            log.append(frame.topic)
            return f(frame, t)

        def trades(frame: Any, t: int, log: list[str] = seen[symbol], f: Any = on_trades) -> Any:
            log.append(frame.topic)
            return f(frame, t)

        session.on_book = book  # type: ignore[method-assign,assignment]
        session.on_trades = trades  # type: ignore[method-assign,assignment]
    return seen


def _listener() -> Scripted:
    return Scripted(lambda strategy, message, now_ns: [])


def test_each_symbols_frames_reach_only_its_own_session(sol: Path) -> None:
    engine = Engine(two(), recording_lines([REPLAY, sol]), strategy=_listener())
    seen = _logged_sessions(engine)
    engine.run()

    for symbol, topics in seen.items():
        assert topics, symbol
        assert {t.rsplit(".", 1)[1] for t in topics} == {symbol}
    assert len(seen[ETH]) == len(seen[SOL])  # the same recording under two names
    assert engine.sessions[ETH].counters == engine.sessions[SOL].counters


def test_the_strategy_is_told_each_symbols_rules_feed_and_selection(sol: Path) -> None:
    strategy = _listener()
    rules: list[str] = []
    strategy.set_rules = lambda r: rules.append(r.symbol)  # type: ignore[method-assign,assignment]
    Engine(two(), recording_lines([REPLAY, sol]), strategy=strategy).run()

    assert rules == [ETH, SOL]
    hello = [name for _, name, _ in strategy.log[:6]]
    assert hello == [
        "UniverseChanged",
        "MarketMakingUniverse",
        "FeedStatus",
        "FeedStatus",
        "ExecutionSnapshot",
        "TradingStateChanged",
    ]
    selection = strategy.log[1][2]
    assert getattr(selection, "symbols", None) == (ETH, SOL)
    ready = [m.symbol for _, _, m in strategy.log if isinstance(m, FeedReady)]
    assert ready == [ETH, SOL]  # SOLUSDT's stream starts 3 ms later


def test_frames_at_the_same_receive_time_go_in_file_order(tmp_path: Path) -> None:
    """Two symbols' frames at the same ns: the first file's first, at the venue and to the
    strategy alike (heapq.merge keeps the files' order on ties)."""
    sol = derive(tmp_path / "SOLUSDT.frames.gz", shift_ns=0)
    for order in ([REPLAY, sol], [sol, REPLAY]):
        strategy = _listener()
        Engine(two(), recording_lines(order), strategy=strategy).run()
        quotes = [(t, m.symbol) for t, _, m in strategy.log if isinstance(m, Quote)]
        first = ETH if order[0] == REPLAY else SOL
        at: dict[int, list[str]] = defaultdict(list)
        for t, symbol in quotes:
            at[t].append(symbol)
        both = [symbols for symbols in at.values() if len(symbols) == 2]
        assert both  # ties there are
        assert all(symbols[0] == first for symbols in both)


def _as(symbol: str, line: tuple[int, bytes]) -> tuple[int, bytes]:
    return line[0], line[1].replace(b"ETHUSDT", symbol.encode())


def test_every_symbols_session_is_checked_for_staleness() -> None:
    """SOLUSDT's book stops after 0.5 s, ETHUSDT's goes on: SOLUSDT alone goes stale, at
    the first timer `stale-after` past its last book."""
    lines = []
    for k in range(400):  # 2 s of books every 5 ms
        t = T0 + k * 5 * MS
        lines.append(support.book(t, "2681.62", "2681.63"))
        if k < 100:
            lines.append(_as(SOL, support.book(t + MS, "2681.62", "2681.63")))
    settings = two(feed=FeedSettings(metrics_port=1, stale_after_ms=200))
    strategy = _listener()
    Engine(settings, iter(lines), strategy=strategy).run()

    stale = [
        (t, m.symbol)
        for t, _, m in strategy.log
        if isinstance(m, FeedStatus) and m.state is FeedState.STALE
    ]
    last_sol = T0 + 99 * 5 * MS + MS
    assert [symbol for _, symbol in stale] == [SOL]
    assert last_sol + 200 * MS <= stale[0][0] < last_sol + 220 * MS


# -- refusals


def test_the_scalper_refuses_several_symbols() -> None:
    settings = support.settings(more_symbols=(SOL,))
    with pytest.raises(BacktestError, match=r'\[strategy\] kind = "market-maker"'):
        Engine(settings, iter([support.book(T0, "2681.62", "2681.63")]))


def test_a_maker_following_the_scanners_one_symbol_refuses_several() -> None:
    with pytest.raises(BacktestError, match=r'follow = "market-making"'):
        Engine(two(QUOTING), iter([support.book(T0, "2681.62", "2681.63")]))


def test_a_maker_listing_a_symbol_without_data_refuses() -> None:
    section = msgspec.structs.replace(QUOTING, symbols=(ETH, "BTCUSDT"))
    with pytest.raises(BacktestError, match="lists BTCUSDT, which the run has no data for"):
        Engine(two(section), iter([support.book(T0, "2681.62", "2681.63")]))


def test_a_symbol_the_venue_does_not_list_is_refused() -> None:
    with pytest.raises(BacktestError, match="does not list NOPEUSDT"):
        Engine(two(more_symbols=("NOPEUSDT",)), iter([support.book(T0, "1", "2")]))


def test_a_symbol_cannot_be_given_twice() -> None:
    with pytest.raises(ValueError, match="given twice"):
        support.settings(more_symbols=(ETH,))


# -- one symbol as before


def test_a_one_symbol_run_writes_no_symbols_field() -> None:
    assert "symbols" not in settings_echo(support.settings())
    assert settings_echo(two())["symbols"] == [ETH, SOL]


def test_the_settings_take_one_symbol_or_several() -> None:
    one = load_settings(DEFAULT_SETTINGS_PATH, ETH)
    assert load_settings(DEFAULT_SETTINGS_PATH, [ETH]) == one
    several = load_settings(DEFAULT_SETTINGS_PATH, [SOL, ETH])
    assert (several.symbol, several.symbols) == (SOL, (SOL, ETH))


# -- the command line


def test_the_cli_runs_two_files_of_two_symbols(tmp_path: Path, sol: Path) -> None:
    out = tmp_path / "files.json"
    assert main([str(REPLAY), str(sol), "--out", str(out), *MM_SET]) == 0
    document = json.loads(out.read_bytes())
    assert document["settings"]["symbols"] == [ETH, SOL]
    assert {row["symbol"] for row in document["metrics"]["per_symbol"]} == {ETH, SOL}
    assert all(row["fills"] > 0 for row in document["metrics"]["per_symbol"])


def test_the_cli_reads_a_day_of_two_symbols_as_their_files(tmp_path: Path, sol: Path) -> None:
    day = tmp_path / "recordings" / "2024-08-08"
    day.mkdir(parents=True)
    shutil.copy(REPLAY, day / "ETHUSDT.frames.gz")
    shutil.copy(sol, day / "SOLUSDT.frames.gz")
    files, days = tmp_path / "files.json", tmp_path / "day.json"
    assert main([str(REPLAY), str(sol), "--out", str(files), *MM_SET]) == 0
    recordings = ["--recordings", str(tmp_path / "recordings"), "--day", "2024-08-08"]
    symbols = ["--symbol", ETH, "--symbol", SOL]
    assert main([*recordings, *symbols, "--out", str(days), *MM_SET]) == 0
    assert days.read_bytes() == files.read_bytes()


def test_the_cli_refuses_the_scalper_on_two_symbols(
    tmp_path: Path, sol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "r.json")
    assert main([str(REPLAY), str(sol), "--out", out, "--quiet"]) == 2
    assert "the momentum scalper trades one symbol" in capsys.readouterr().err


def test_the_cli_refuses_the_cache_with_two_files(
    tmp_path: Path, sol: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "r.json")
    assert main([str(REPLAY), str(sol), "--cache", "--out", out, *MM_SET]) == 2
    assert "--cache takes exactly one recording FILE" in capsys.readouterr().err


def test_the_feed_frames_of_another_symbol_only_move_the_venue(sol: Path) -> None:
    """A one-symbol run over both files: SOLUSDT's frames are neither the feed's nor the
    venue's (it lists ETHUSDT alone), as before several symbols were possible."""
    settings = mm_settings(QUOTING, 2.0)
    engine = Engine(settings, recording_lines([REPLAY, sol]))
    seen = _logged_sessions(engine)
    engine.run()
    assert set(seen) == {ETH}
    assert all(topic.endswith(ETH) for topic in seen[ETH])
