"""scripts/parity: replay a recorded paper session through the backtest and compare."""

import argparse
import sys
from pathlib import Path

from research.backtest.engine import BacktestError, venue_grids
from research.backtest.settings import Latency, load_settings
from research.parity.align import METHOD
from research.parity.clock import decision_delay_ns
from research.parity.compare import ParityReport, compare, passed, report_text
from research.parity.latency import accepted_times, cancel_samples, session_latencies
from research.parity.live import Intent, SessionUnreadable, count_denied, read_journal
from research.parity.own_trades import own_prints
from research.parity.records import backtest_decisions, backtest_fills
from research.parity.session import frame_days, locate, run_backtest, session_lines
from research.parity.window import Window, read_window
from shared.recordings import RecordingError
from shared.settings import DEFAULT_SETTINGS_PATH, SettingsError, read_settings

EXAMPLES = """examples:
  scripts/parity --run-dir /tmp/sys-x/run --settings /tmp/sys-x/settings.toml
  scripts/parity --run-dir run --json parity.json --backtest-out backtest.json
  scripts/parity --recordings run/recordings --day 2026-12-06 --symbol BTCUSDT \\
      --journal run/journals/executor-journal.sqlite --settings deploy/settings.toml \\
      --latency zero --min-equal 0.95

exit status: 0 at or above --min-equal, 1 below it, 2 input that cannot be read.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="scripts/parity",
        description="Replay a recorded paper session through the backtest (its settings, its"
        " recorded frames, latencies drawn from the session) and compare the backtest's"
        " decisions (side, order type, limit price, qty, reduce-only, in order) and fills"
        " (side, qty, price, maker/taker, in order) with the executor journal of the live"
        f" run. Alignment: {METHOD}. Prints the share of equal decisions and every difference.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="the session's run directory")
    p.add_argument("--recordings", type=Path, metavar="DIR", help="recordings dir (or run's)")
    p.add_argument("--journal", type=Path, metavar="FILE", help="executor journal (or run's)")
    p.add_argument("--day", metavar="YYYY-MM-DD", help="one UTC day (default: every day)")
    p.add_argument("--symbol", help="the traded symbol (default: the journal's only one)")
    p.add_argument(
        "--settings",
        type=Path,
        default=DEFAULT_SETTINGS_PATH,
        metavar="FILE",
        help="the settings file the session ran with (default: deploy/settings.toml)",
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override [strategy]"
    )
    p.add_argument(
        "--latency",
        choices=("session", "zero"),
        default="session",
        help="entry and response latencies drawn from the session's orders (default), or 0",
    )
    p.add_argument(
        "--strategy-delay",
        choices=("session", "zero"),
        default="session",
        help="the strategy acts this long after the feed received: the session's median of"
        " (command made - trigger received) (default), or 0 (the backtest's own timing)",
    )
    p.add_argument("--seed", type=int, default=1, help="latency draws and venue ids (default 1)")
    p.add_argument(
        "--min-equal",
        type=float,
        default=0.99,
        metavar="SHARE",
        help="exit 1 below this share of equal decisions (default 0.99)",
    )
    p.add_argument(
        "--strategy-log",
        type=Path,
        metavar="FILE",
        help="the live strategy's log, for when it ran (default: <run dir>/logs/strategy.log):"
        " only the frames received in that window are replayed, and backtest decisions"
        " outside it are counted, not compared (a journal of an earlier run: give its log)",
    )
    p.add_argument(
        "--whole-recording",
        action="store_true",
        help="replay every recorded frame and compare every backtest decision, also outside"
        " the live strategy's window",
    )
    p.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON")
    p.add_argument("--backtest-out", type=Path, metavar="FILE", help="write the backtest result")
    return p


def run(args: argparse.Namespace) -> ParityReport:
    if not 0 <= args.min_equal <= 1:
        raise ValueError(f"--min-equal must be within 0 .. 1, was {args.min_equal}")
    journal, recordings = locate(
        run_dir=args.run_dir, recordings=args.recordings, journal=args.journal
    )
    read_settings(args.settings)  # a missing or wrong file is named before any work
    probe = load_settings(args.settings, args.symbol or "BTCUSDT", args.set)
    strategy_id = probe.strategy.strategy_id
    live = read_journal(journal, strategy_id)
    symbol = args.symbol
    if symbol is None:
        if len(live.symbols) != 1:
            found = ", ".join(live.symbols) or "none"
            raise SessionUnreadable(
                f"{journal}: strategy {strategy_id} traded {found}: give --symbol"
            )
        (symbol,) = live.symbols
    intents = [i for i in live.intents if i.symbol == symbol]
    days = frame_days(recordings, symbol, args.day)
    if args.latency == "session":
        lat = session_latencies(intents, accepted_times(recordings), cancel_samples(journal))
        entry, response, latency_text = lat.entry, lat.response, lat.describe()
    else:
        entry = response = Latency()
        latency_text = "zero"
    settings = load_settings(
        args.settings,
        symbol,
        args.set,
        seed=args.seed,
        entry_latency=entry,
        response_latency=response,
    )
    window = _window(args)
    delay_ns = _strategy_delay(args, intents, journal)
    own = own_prints(live.fills, symbol, venue_grids(settings))
    result = run_backtest(settings, session_lines(recordings, symbol, days, window), delay_ns, own)
    if args.backtest_out is not None:
        args.backtest_out.write_bytes(result.to_json())
    all_decisions, bt_denied = backtest_decisions(result)
    bt_decisions = [d for d in all_decisions if window.holds(d.ts_ns)]
    kept = {d.client_order_id for d in bt_decisions}
    bt_fills = [f for f in backtest_fills(result) if f.client_order_id in kept]
    origin = result.summary.first_ns
    decisions = compare([i.decision for i in intents], bt_decisions, lambda d: d.key(), origin)
    fills = compare(live.fills, bt_fills, lambda f: f.key(), origin)
    return ParityReport(
        method=METHOD,
        min_equal=args.min_equal,
        passed=passed(decisions, args.min_equal),
        decisions=decisions,
        fills=fills,
        denied_live=count_denied(recordings, strategy_id),
        denied_backtest=bt_denied,
        session={
            "journal": str(journal),
            "recordings": str(recordings),
            "days": list(days),
            "symbol": symbol,
            "strategy_id": strategy_id,
            "settings": str(args.settings),
            "latency": latency_text,
            "strategy_delay_ms": delay_ns / 1e6,
            "own_trades": own.describe(),
            "live_window": "not used (--whole-recording)"
            if args.whole_recording
            else window.describe(),
            "backtest_decisions_outside_window": len(all_decisions) - len(bt_decisions),
            "frames": result.summary.frames,
            "first_frame_ns": origin,
            "other_strategies_intents": live.other_strategies,
        },
    )


def _window(args: argparse.Namespace) -> Window:
    """The live strategy's window, from its log (unknown without one)."""
    if args.whole_recording:
        return Window(None, None)
    log = args.strategy_log or (args.run_dir / "logs" / "strategy.log" if args.run_dir else None)
    return read_window(log) if log is not None else Window(None, None)


def _strategy_delay(args: argparse.Namespace, intents: list[Intent], journal: Path) -> int:
    if args.strategy_delay == "zero":
        return 0
    median_ns = decision_delay_ns(intents)
    if median_ns is None:
        raise SessionUnreadable(
            f"{journal}: no command with its trigger time: use --strategy-delay zero"
        )
    return median_ns


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        report = run(args)
        if args.json is not None:
            args.json.write_bytes(report.to_json())
    except (
        SessionUnreadable,
        SettingsError,
        RecordingError,
        BacktestError,
        ValueError,
        OSError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    s = report.session
    print(
        f"session    {s['symbol']} on {', '.join(s['days'])}: {s['frames']:,} frames;"
        f" journal {s['journal']}"
    )
    print(f"latency    {s['latency']}")
    print(f"strategy   acts {s['strategy_delay_ms']:.3f} ms after the receive time")
    print(f"own trades {s['own_trades']}")
    print(
        f"window     live strategy {s['live_window']};"
        f" {s['backtest_decisions_outside_window']} backtest decisions outside it (not compared)"
    )
    print(report_text(report))
    return 0 if report.passed else 1
