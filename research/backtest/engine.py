"""The backtest's event loop: one process, one time axis (ns), no bus.

The recorded market drives the simulator's venue core (`services.simulator.venue.Venue`,
market_source "recorded") and the live strategy class; the feed's own `FeedSession` turns
each frame into the bus messages the strategy would receive, and the executor's pure
decisions stand between them (desk.py, reports.py).

Time axis: the recorder's local receive time. A frame received at `recv` happened at the
venue at `recv - feed_latency` (a setting, 0 by default): the frame's own venue `ts` is
not used for ordering, as it is another machine's clock (in the ETHUSDT fixture it runs
1.2 s ahead of the receive time). The venue's clock (ms, the time in its reports) is this
axis too.

Several symbols (`BacktestSettings.symbols`, a market maker's: symbols.py says which
strategies may run them): the venue lists every one, each has its own `FeedSession` (as
`[feed] symbols` serves them live), a frame's feed messages go to the session of its topic,
and the desk and the strategy know every symbol's instrument rules. The symbols' lines come
merged by receive time (`recording_lines`, `symbols_day_lines`), so one loop runs them all;
a run of one symbol does exactly what it did before several were possible.

THE CONTRACT: the order of events (tested in tests/unit/research/test_backtest_order.py)

1. Start, at the first frame's venue time: the strategy is given each symbol's instrument
   rules (`set_rules`, in the run's order), then told what the live system tells a
   starting strategy, in this order: UniverseChanged (the run's first symbol, epoch 1),
   the scanner's MarketMakingUniverse (the run's symbols; only to a market maker that
   follows it), each symbol's feed session status in the run's order (subscribed,
   waiting for the first snapshot), the executor's reconciled ExecutionSnapshot,
   TradingStateChanged(Active). Each symbol's FeedReady follows with its first usable
   book, as live. A Resync of the scanner gets UniverseChanged and that selection again,
   of the feed each symbol's last FeedStatus and FeedReady.
2. A recorded frame is applied at the venue at its venue time: the venue advances to it
   and matches it against the resting orders first (queue positions move, trades and
   crossings fill, services/simulator/venue/flow.py). The reports this causes reach the
   executor, which publishes its events to the strategy, after the response latency.
3. The same frame reaches the feed session, and the session's messages (Quote, Trade,
   FeedReady, FeedStatus, BookLevels) reach the executor stand-in (its last trade price)
   and then the strategy, at the frame's receive time. A frame of a topic the feed does
   not subscribe to (orderbook.500 when the feed reads orderbook.1) moves the venue only.
4. A command the strategy returns at t is decided by the executor at t (a denial reaches
   the strategy at t, after what is already due at t) and reaches the venue at
   t + entry latency; the venue's answer (ack, rejection, refused cancel) and the reports
   of that call reach the strategy at the venue time + response latency, the answer first.
   Each channel keeps its order: a drawn latency never makes a message overtake the one
   sent before it on the same channel.
5. Timers: the feed's stale check (each symbol's session, in the run's order), then the
   strategy's `on_timer`, every
   `timer_interval` (20 ms, the live loop's upkeep) from the start up to the last frame's
   receive time. After that, what is in flight is settled, without timers.

Ties at the same ns go by kind, in this order: (a) a frame at the venue, (b) a call
reaching the venue, (c) a frame's market data to the strategy, (d) a delivery to the
strategy (answers, reports, denials, snapshots), (e) a timer; within a kind, first
scheduled first. So with no latency at all a frame is matched by the venue, then the
strategy sees it, then the reports it caused; an order reaching the venue at the same ns
as a frame comes after that frame; a timer comes last. Two frames at the same receive
time (two symbols' or one's) keep the order of the merged lines: the file (or symbol)
given first, then each file's own order, as `heapq.merge` keeps ties; the venue and the
feed see them in that order alike.

Memory is bounded whatever the length of the recording: lines are streamed, frames wait
only during the feed latency, the executor's registry and the venue keep bounded
histories; what grows is the result (orders, fills, one equity point a minute).
"""

import heapq
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import chain
from typing import Any, Final

from research.backtest.columnar import ColumnarRecording
from research.backtest.desk import ACCOUNT, Answer, BacktestDesk, VenueCall
from research.backtest.latency import Channel
from research.backtest.market import MarketFrame, MarketFrames
from research.backtest.portfolio import SymbolsLedger
from research.backtest.reports import ReportShell
from research.backtest.result import BacktestResult, Ledger
from research.backtest.settings import BacktestSettings
from research.backtest.summary import build_result
from research.backtest.symbols import EPOCH, run_refusal, selection, universe
from services.feed.session import FeedSession
from services.simulator.instruments import SPECS_BY_SYMBOL
from services.simulator.venue import ExchangeConfig, Grid, RecordedTrade, Venue
from services.strategy.api import COMMANDS, EntrySkipped, Output, Resync, Strategy, Transition
from services.strategy.kinds import build_strategy
from shared.bybit import wire
from shared.bybit.translate import instrument_rules
from shared.schema import (
    Alert,
    BusMessage,
    FeedReady,
    FeedStatus,
    TradingState,
    TradingStateChanged,
)

AT_VENUE_MARKET: Final = 0  # (a) a frame applied at the venue
AT_VENUE_CALL: Final = 1  # (b) a create / cancel reaching the venue
MARKET_DATA: Final = 2  # (c) a frame's feed messages
TO_STRATEGY: Final = 3  # (d) answers, reports, denials, snapshots
TIMER: Final = 4  # (e)
_NEVER: Final = 1 << 62
_FEED_STATE: Final = (FeedReady, FeedStatus)  # tuples: no union built per message
_COMMANDS: Final = COMMANDS  # every kind: submits, amends, cancels, batches


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a long run is: frames done, and the recorded time covered (ns)."""

    frames: int
    covered_ns: int


class BacktestError(Exception):
    """Input the engine cannot run on (no frames, a symbol the venue does not list, a
    strategy that cannot trade the run's symbols)."""


class Engine:
    """One backtest run over `lines` ((receive ns, frame) pairs, streamed), or over one
    recording through its columnar cache (`columnar.ColumnarRecording`: the same run)."""

    def __init__(
        self,
        settings: BacktestSettings,
        lines: Iterable[tuple[int, bytes]] | ColumnarRecording,
        *,
        strategy: Strategy | None = None,
        progress: Callable[[Progress], None] | None = None,
        venue_skip: Callable[[RecordedTrade], bool] | None = None,
    ) -> None:
        """`venue_skip`: recorded trades the venue does not apply (the feed still gets
        them): parity's own prints of the live session (research/parity/own_trades.py)."""
        self.settings = s = settings
        self._venue_skip = venue_skip
        self._progress = progress
        self._progress_every = 1 << 16
        _check_symbols(s, given_strategy=strategy is not None)
        first: tuple[int, bytes] | None = None
        if isinstance(lines, ColumnarRecording):
            first_ns = lines.first_recv_ns()
        else:
            lines = iter(lines)
            first = next(lines, None)
            first_ns = None if first is None else first[0]
        if first_ns is None:
            raise BacktestError("no lines in the data")
        self.venue = Venue(_exchange(s), (first_ns - s.feed_latency_ns) // 1_000_000)
        grids = self.venue.grids()
        # Each symbol its own feed session, as live; a frame goes to its topic's session.
        self.sessions = {symbol: _feed_session(s) for symbol in s.symbols}
        self.session = self.sessions[s.symbol]  # the first symbol's
        self._routes = {
            topic: session
            for symbol, session in self.sessions.items()
            for topic in session.topics(symbol)
        }
        self._stale_checks = tuple(session.check_stale for session in self.sessions.values())
        self.market = MarketFrames(
            grids, self._routes, s.feed_latency_ns, self.venue.recorded_depth
        )
        self._frames: Iterator[MarketFrame] = (
            lines.frames(self.market, grids)
            if isinstance(lines, ColumnarRecording)
            else self.market.frames_of(chain([first], lines) if first is not None else lines)
        )
        self._next: MarketFrame | None = next(self._frames, None)
        if self._next is None:
            raise BacktestError("no public frames in the data")
        self.start_ns = self._next.venue_ns
        listed = {i.symbol: instrument_rules(i) for i in self.venue.instruments()}
        rules = [listed[symbol] for symbol in s.symbols]
        self.strategy = strategy or build_strategy(s.strategy, self.start_ns)
        for each in rules:  # as the feed's InstrumentRulesChanged, one a symbol
            self.strategy.set_rules(each)
        self.desk = BacktestDesk(s.executor, *rules)
        self.reports = ReportShell(self.desk.registry, self.desk.counters)
        self.ledger = (
            Ledger(s.starting_balance)
            if not s.more_symbols
            else SymbolsLedger(s.starting_balance, s.symbols)
        )
        self._selection: list[BusMessage] = []  # the scanner's selection, when followed
        self._entry = Channel(s.entry_latency, s.seed, "entry")
        self._response = Channel(s.response_latency, s.seed, "response")
        self._heap: list[tuple[int, int, int, Any]] = []
        self._seq = 0
        self._feed_queue: deque[MarketFrame] = deque()
        self._feed_last: dict[tuple[type, str], FeedReady | FeedStatus] = {}
        self.counters: Counter[str] = Counter()
        self.alerts: Counter[str] = Counter()
        self.now_ns = self.start_ns
        self._last_recv_ns = self.start_ns
        self._next_timer = self.start_ns + s.timer_interval_ns
        self._next_equity = self.start_ns + s.equity_interval_ns
        self._wallet_start = _wallet_balance(self.venue)

    def wallet_change(self) -> Decimal:
        """The venue's wallet balance now, less at the start."""
        return _wallet_balance(self.venue) - self._wallet_start

    # -- the loop

    def run(self) -> BacktestResult:
        """Run to the end of the data, settle what is in flight, return the result."""
        self._start()
        heap, feed_queue = self._heap, self._feed_queue
        while True:
            frame = self._next
            tv = frame.venue_ns if frame is not None else _NEVER
            tf = feed_queue[0].recv_ns if feed_queue else _NEVER
            th = heap[0][0] if heap else _NEVER
            tt = self._next_timer
            if frame is None and not feed_queue and tt > self._last_recv_ns:
                tt = _NEVER  # the data is over: settle what is in flight, no more timers
            if tv <= th and tv <= tf and tv <= tt and frame is not None:
                self._at_venue(frame)
            elif heap and (th < tf or (th == tf and heap[0][1] < MARKET_DATA)) and th <= tt:
                self._scheduled(heapq.heappop(heap))
            elif feed_queue and tf <= tt:
                self._market_data(feed_queue.popleft())
            elif tt != _NEVER:
                self._timer(tt)
            else:
                break
        self.ledger.data_ended(self._last_recv_ns)
        return build_result(self)

    def _start(self) -> None:
        s, t = self.settings, self.start_ns
        self._selection = selection(s, t)
        hello: list[BusMessage] = [universe(s, t), *self._selection]
        for symbol, session in self.sessions.items():
            session.begin_switch(symbol, EPOCH, None)
            hello += session.subscribed(t)
        hello += [
            self.desk.snapshot(t),
            TradingStateChanged(state=TradingState.ACTIVE, reason="backtest", ts_event_ns=t),
        ]
        self._tell(hello, t)

    def _schedule(self, at_ns: int, kind: int, item: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at_ns, kind, self._seq, item))

    def _advance(self, t: int) -> None:
        self.now_ns = max(self.now_ns, t)

    # -- (a) a frame at the venue

    def _at_venue(self, frame: MarketFrame) -> None:
        self.now_ns = max(self.now_ns, frame.venue_ns)
        on_market, skip = self.venue.on_market, self._venue_skip
        if skip is None:
            for event in frame.venue_events:
                on_market(event)
        else:
            for event in frame.venue_events:
                if not (isinstance(event, RecordedTrade) and skip(event)):
                    on_market(event)
        if self.venue.has_reports():
            self._reports_out(None)
        if frame.feed_frame is not None:
            self._feed_queue.append(frame)
        self._last_recv_ns = max(self._last_recv_ns, frame.recv_ns)
        self._next = next(self._frames, None)
        if self._progress is not None and self.market.frames % self._progress_every == 0:
            self._progress(Progress(self.market.frames, self.now_ns - self.start_ns))

    def _reports_out(self, answer: Answer | None) -> None:
        """Send the venue's answer and its pending reports back (response latency)."""
        reports = self.venue.drain_reports()
        if answer is not None or reports:
            self.counters["venue_reports"] += len(reports)
            self._schedule(self._response.arrival(self.now_ns), TO_STRATEGY, (answer, reports))

    # -- (b), (c) what is in flight

    def _scheduled(self, entry: tuple[int, int, int, Any]) -> None:
        t, kind, _, item = entry
        self._advance(t)
        if kind == AT_VENUE_CALL:
            self.counters[f"venue_{item.kind}"] += 1
            self._reports_out(self.desk.perform(item, self.venue, self.now_ns))
            return
        if isinstance(item, list):  # messages of the executor's own: denials, snapshots
            self._tell(item, self.now_ns)
            return
        answer, reports = item
        messages: list[BusMessage] = []
        if answer is not None:
            messages, calls = self.desk.answered(answer, self.now_ns)
            self._calls(calls)
        messages += self.reports.apply(reports, self.now_ns)
        self._tell(messages, self.now_ns)

    def _calls(self, calls: list[VenueCall]) -> None:
        for call in calls:
            self._schedule(self._entry.arrival(self.now_ns), AT_VENUE_CALL, call)

    # -- (d) market data, (e) timers

    def _market_data(self, frame: MarketFrame) -> None:
        t = frame.recv_ns
        self.now_ns = max(self.now_ns, t)
        feed = frame.feed_frame
        assert feed is not None  # only frames of the feed's topics are queued
        session = self._routes[feed.topic]
        if isinstance(feed, wire.OrderBookMessage):
            messages = session.on_book(feed, t)
        else:
            messages = session.on_trades(feed, t)
        if messages:
            self._tell(messages, self.now_ns)

    def _timer(self, t: int) -> None:
        self._advance(t)
        self._next_timer = t + self.settings.timer_interval_ns
        if t >= self._next_equity:
            self.ledger.sample(t)
            self._next_equity += self.settings.equity_interval_ns * (
                1 + (t - self._next_equity) // self.settings.equity_interval_ns
            )
        self.counters["timer_ticks"] += 1
        for check_stale in self._stale_checks:  # every symbol's session, in the run's order
            stale = check_stale(t)
            if stale:
                self._tell(stale, t)
        self._act(self.strategy.on_timer(t), t)

    # -- the strategy's side

    def _tell(self, messages: list[BusMessage], now_ns: int) -> None:
        """The executor and the strategy are told `messages`, in order."""
        desk, ledger, strategy = self.desk, self.ledger, self.strategy
        for message in messages:
            if isinstance(message, _FEED_STATE):
                self._feed_last[type(message), message.symbol] = message
            desk.on_market(message)
            ledger.on_event(message, now_ns)
            outputs = strategy.on_message(message, now_ns)
            if outputs:
                self._act(outputs, now_ns)

    def _act(self, outputs: list[Output], now_ns: int) -> None:
        """Commands first (as the live loop), then the strategy's notes."""
        for output in outputs:
            if isinstance(output, _COMMANDS):
                self.counters[f"sent_{type(output).__name__}"] += 1
                self.ledger.on_command(output, now_ns)
                denials, calls = self.desk.command(output, now_ns)
                self._calls(calls)
                if denials:
                    self._schedule(now_ns, TO_STRATEGY, denials)
        for output in outputs:
            if isinstance(output, Alert):
                self.alerts[output.code] += 1
            elif isinstance(output, Transition):
                self.counters[f"transition_{output.from_state}_{output.to_state}"] += 1
            elif isinstance(output, EntrySkipped):
                self.counters["entry_skipped"] += 1
            elif isinstance(output, Resync):
                self._resync(output, now_ns)

    def _resync(self, resync: Resync, now_ns: int) -> None:
        """A strategy's Resync answered as the peers' snapshots would answer it."""
        self.counters["resyncs"] += 1
        again: list[BusMessage] = []
        if "scanner" in resync.peers:  # its snapshot: the symbol, the selection as sent
            again += [universe(self.settings, now_ns), *self._selection]
        if "feed" in resync.peers:  # each symbol's last status and FeedReady
            again += self._feed_last.values()
        if "executor" in resync.peers:
            again.append(self.desk.snapshot(now_ns))
        self._schedule(now_ns, TO_STRATEGY, again)


def _check_symbols(s: BacktestSettings, *, given_strategy: bool) -> None:
    """Refuse a symbol the venue does not list, or a strategy built from the settings that
    cannot trade the run's symbols (a strategy given to the engine is told every one)."""
    unlisted = [symbol for symbol in s.symbols if symbol not in SPECS_BY_SYMBOL]
    if unlisted:
        known = ", ".join(sorted(SPECS_BY_SYMBOL))
        raise BacktestError(f"the venue does not list {', '.join(unlisted)} (it lists {known})")
    refusal = None if given_strategy else run_refusal(s)
    if refusal is not None:
        raise BacktestError(refusal)


def venue_grids(settings: BacktestSettings) -> dict[str, Grid]:
    """The grids of the venue a run with `settings` builds (a columnar cache is keyed by them)."""
    return Venue(_exchange(settings), 0).grids()


def _feed_session(s: BacktestSettings) -> FeedSession:
    return FeedSession(
        depth=s.feed.depth,
        published_levels=s.feed.published_levels,
        max_venue_lag_ns=s.feed.max_venue_lag_ms * 1_000_000,
        stale_after_ns=s.feed.stale_after_ms * 1_000_000,
    )


def _exchange(s: BacktestSettings) -> ExchangeConfig:
    return ExchangeConfig(
        seed=s.seed,
        symbols=s.symbols,
        maker_fee=s.maker_fee,
        taker_fee=s.taker_fee,
        starting_balance=s.starting_balance,
        market_source="recorded",
        queue_model=s.queue_model,
        queue_power=s.queue_power,
        history_minutes=60,
        max_buffered_events=1_000,
    )


def _wallet_balance(venue: Venue) -> Decimal:
    return venue.wallet(ACCOUNT).coin[0].wallet_balance
