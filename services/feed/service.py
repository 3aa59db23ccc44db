"""FeedService: the venue's public stream in, market data out; symbol switches as a protocol.

Three ways to choose what is served (`[feed] symbols` and `follow`):

* `symbols` empty, `follow = "scanner"` (the default): the scanner's one symbol, followed on
  every UniverseChanged (the old one unsubscribed, the new one subscribed, then its
  FeedReady: the hot-swap);
* a list: every listed symbol at once, each its own gap-checked FeedSession (its book,
  staleness, resync and FeedReady), for the whole run at epoch `LISTED_EPOCH`; the
  scanner is not followed. Frames are routed to their session by the venue topic;
* `symbols` empty, `follow = "market-making"`: the symbols of the scanner's market-making
  selection (MarketMakingUniverse on universe.mm.), served as a list is, at epoch
  `LISTED_EPOCH`; a symbol that enters gets its session (rules, subscription, FeedReady), a
  symbol that leaves is unsubscribed and its last values are forgotten from the snapshot
  (counted mm_symbols_added / mm_symbols_removed; an older selection than the one applied
  is counted stale_mm_universe and ignored).

Before a symbol's first subscription its instrument rules go out as
InstrumentRulesChanged (md.rules.<SYMBOL>.), so a reader has them before its FeedReady.
"""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

from services.feed.raw_tap import RawTap
from services.feed.session import FeedSession, Phase, trace_prefix
from services.feed.settings import FeedSettings
from shared.bus import FrameError, Publisher, Receiver, SnapshotServer, SnapshotTimeout
from shared.bybit import wire
from shared.bybit.drops import VenueDropReason
from shared.bybit.errors import BybitError
from shared.bybit.rest import BybitRest
from shared.bybit.stream import BybitStream, StreamConnected, StreamDisconnected, StreamFrame
from shared.bybit.translate import instrument_rules
from shared.bybit.ws_frames import FrameDrop, decode_public
from shared.runtime.bootstrap import ServiceContext, start_metrics, upkeep
from shared.runtime.metrics import CounterCollector
from shared.schema import (
    BusMessage,
    InstrumentRules,
    InstrumentRulesChanged,
    MarketMakingUniverse,
    Symbol,
    UniverseChanged,
    topics,
)

log = logging.getLogger(__name__)

_STALE_CHECK_S: Final = 0.1
_RULES_RETRY_S: Final = 30.0  # a served symbol whose rules could not be read is asked again
LISTED_EPOCH: Final = 1  # the epoch of every symbol served from `[feed] symbols`
_SYMBOL_KINDS: Final = ("quote", "book", "trade", "status", "ready", "rules")  # md.<kind>.


class FeedService:
    name = "feed"

    def __init__(self, settings: FeedSettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self._clock = context.clock
        # The scanner's symbol's session, or the first listed symbol's (the service's own
        # counters are kept in it: decode drops, the tap, REST and subscription failures).
        self.session = self._new_session()
        # `[feed] symbols`: each listed symbol's session, and each of its venue topics'.
        self.sessions: dict[str, FeedSession] = {}
        self._routes: dict[str, FeedSession] = {}  # empty: every frame to `session`
        # follow = "market-making": `sessions` follows the scanner's selection; the counters
        # of a symbol's session that left it are kept here (a counter never goes down).
        self._follow_mm = not settings.symbols and settings.follow == "market-making"
        self._retired: Counter[str] = Counter()
        self._selection_ts_ns: int | None = None  # ts_event_ns of the selection applied
        for symbol in settings.symbols:
            session = self.session if not self.sessions else self._new_session()
            self.sessions[symbol] = session
            self._routes.update((topic, session) for topic in session.topics(symbol))
        self._publisher: Publisher | None = None
        self._tap: RawTap | None = None  # raw frames for the recorder ([feed] record-raw)
        self._universe: Receiver | None = None
        self._snapshots: SnapshotServer | None = None
        self._stream: BybitStream | None = None
        self._rest: BybitRest | None = None  # instruments-info: the grid prices are checked on
        self._grids: dict[str, InstrumentRules] = {}  # by symbol, read at start and on a miss
        self._rules_sent: dict[str, InstrumentRules] = {}  # what InstrumentRulesChanged said
        self._switch_lock = asyncio.Lock()
        self._snapshot_patience_ns = int(3 * settings.subscribe_timeout_s * 1e9)
        self._resync = asyncio.Event()
        self._trace_prefix = ""  # this incarnation's, set at start
        self._frames = 0  # venue frames received: the number in each trace id

    def _new_session(self) -> FeedSession:
        settings = self._settings
        return FeedSession(
            depth=settings.depth,
            published_levels=settings.published_levels,
            max_venue_lag_ns=settings.max_venue_lag_ms * 1_000_000,
            stale_after_ns=settings.stale_after_ms * 1_000_000,
        )

    def served(self) -> Iterable[FeedSession]:
        """The sessions of what is served: each listed symbol's, or the scanner's symbol's."""
        if self._follow_mm:  # `session` serves nothing: it counts the unrouted frames
            return list(self.sessions.values())
        return self.sessions.values() if self.sessions else (self.session,)

    def _serves(self, session: FeedSession) -> bool:
        """Whether `session` is still one of the served (a selection may have dropped it)."""
        return any(served is session for served in self.served())

    def counters(self) -> Counter[str]:
        """Every session's counters together (the service's own are in `session`'s)."""
        if not self.sessions and not self._follow_mm:
            return self.session.counters
        total: Counter[str] = Counter()
        for session in self.sessions.values():
            total.update(session.counters)
        if self._follow_mm:
            total.update(self.session.counters)
            total.update(self._retired)
        return total

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx, eps = self._context, self._context.endpoints
        resources.callback(ctx.node.close)
        self._trace_prefix = trace_prefix(self._clock.now_ns())
        self._publisher = ctx.node.publisher(eps.market_data, hwm=ctx.bus.market_data_hwm)
        snapshots = ctx.node.snapshot_server(eps.market_data_snapshot, self._publisher)
        if self._settings.record_raw:
            sender = ctx.node.tap(eps.market_data_raw, hwm=ctx.bus.market_data_hwm)
            self._tap = RawTap(sender, self.session.counters)
            resources.callback(self._tap.close)  # at stop, before the node closes
        if self._follow_mm:
            self._universe = ctx.node.subscriber([eps.universe], [topics.MM_UNIVERSE])
        elif not self.sessions:  # a listed set is served whatever the scanner chooses
            self._universe = ctx.node.subscriber([eps.universe], [topics.UNIVERSE])
        self._stream = BybitStream(
            ctx.venue.ws_public_url,
            clock=self._clock,
            ping_interval_s=self._settings.ping_interval_s,
        )
        resources.push_async_callback(self._stream.close)
        self._rest = BybitRest(ctx.venue.rest_url, timeout_s=ctx.bybit.timeout_s, clock=self._clock)
        resources.push_async_callback(self._rest.close)
        ctx.registry.register(CounterCollector("feed_events", "Feed events by kind", self.counters))
        ctx.registry.register(
            CounterCollector("feed_stream", "Venue stream events", self._stream_counts)
        )
        start_metrics(ctx, self._settings.metrics_port, resources)
        self._snapshots = snapshots

    async def run(self) -> None:
        assert self._publisher is not None
        assert self._snapshots is not None
        await self._load_grids()
        follow_mm, listed = self._follow_mm, bool(self.sessions)
        if follow_mm:
            await self._join_selection()
        elif listed:
            await self._serve_listed()
        else:
            await self._join_universe()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._read_venue(), name="feed.venue")
            if follow_mm:
                tasks.create_task(self._follow_selection(), name="feed.selection")
            elif not listed:
                tasks.create_task(self._follow_universe(), name="feed.universe")
            tasks.create_task(self._watch(), name="feed.watch")
            tasks.create_task(self._retry_rules(), name="feed.rules")
            # In the group: if heartbeats and snapshot answers stop, the service stops.
            heartbeat_s = self._context.bus.heartbeat_interval_ms / 1000
            tasks.create_task(
                upkeep(self._publisher, self._snapshots, heartbeat_s), name="feed.upkeep"
            )

    async def _join_universe(self) -> None:
        """Clone pattern: already subscribed; ask the scanner's snapshot for the current choice."""
        assert self._universe is not None
        client = self._context.node.snapshot_client(self._context.endpoints.universe_snapshot)
        try:
            reply = await client.fetch_async(
                topics.UNIVERSE, self._context.bus.snapshot_timeout_ms / 1000
            )
        except (SnapshotTimeout, FrameError) as e:
            self.session.counters["universe_snapshot_failures"] += 1
            log.warning("no universe snapshot (%s): waiting for the scanner's next choice", e)
            return
        self._universe.apply_snapshot(reply)
        for _, message in reply.messages:
            if isinstance(message, UniverseChanged):
                await self._switch(message)
            else:  # e.g. the market-making selection, also under universe.
                self.session.counters["other_universe_message"] += 1

    async def _follow_universe(self) -> None:
        assert self._universe is not None
        while True:
            await self._universe.wait(2.0)
            for delivery in self._universe.drain():
                if isinstance(delivery.message, UniverseChanged):
                    await self._switch(delivery.message)
                else:
                    self.session.counters["other_universe_message"] += 1
            # Ask again while there is no symbol: the scanner's first choice may have been
            # published before this subscription connected.
            if self._universe.take_resync_requests() or self.session.symbol is None:
                await self._join_universe()

    async def _switch(self, change: UniverseChanged) -> None:
        """Architecture 4.7: unsubscribe the old symbol (acked), subscribe the new (acked)."""
        session, stream, publisher = self.session, self._stream, self._publisher
        assert stream is not None
        assert publisher is not None
        if change.epoch <= session.epoch and session.symbol is not None:
            self.session.counters["stale_universe"] += 1
            return
        async with self._switch_lock:
            old = session.symbol
            log.info("switching symbol from=%s to=%s epoch=%d", old, change.symbol, change.epoch)
            session.begin_switch(change.symbol, change.epoch)  # old frames are dropped from now
            session.grid = await self._grid_of(change.symbol, session)
            if old is not None:
                for kind in _SYMBOL_KINDS:
                    publisher.forget(f"md.{kind}.{old}.".encode())
                self._rules_sent.pop(old, None)
                await self._venue_call(stream.unsubscribe(session.topics(old)))
            await self._subscribe(session, change.symbol)

    async def _join_selection(self) -> None:
        """Clone pattern for follow = "market-making": the scanner's current selection."""
        assert self._universe is not None
        client = self._context.node.snapshot_client(self._context.endpoints.universe_snapshot)
        try:
            reply = await client.fetch_async(
                topics.MM_UNIVERSE, self._context.bus.snapshot_timeout_ms / 1000
            )
        except (SnapshotTimeout, FrameError) as e:
            self.session.counters["universe_snapshot_failures"] += 1
            log.warning("no market-making selection snapshot (%s): waiting for the next", e)
            return
        self._universe.apply_snapshot(reply)
        for _, message in reply.messages:
            if isinstance(message, MarketMakingUniverse):
                await self.select(message)
            else:
                self.session.counters["other_universe_message"] += 1

    async def _follow_selection(self) -> None:
        assert self._universe is not None
        while True:
            await self._universe.wait(2.0)
            for delivery in self._universe.drain():
                if isinstance(delivery.message, MarketMakingUniverse):
                    await self.select(delivery.message)
                else:
                    self.session.counters["other_universe_message"] += 1
            # Ask again while there is no selection: it may predate this subscription.
            if self._universe.take_resync_requests() or self._selection_ts_ns is None:
                await self._join_selection()

    async def select(self, selection: MarketMakingUniverse) -> None:
        """Serve exactly the selection's symbols: the leavers unsubscribed, the newcomers
        subscribed (each its own session, rules first); the others untouched."""
        if self._selection_ts_ns is not None and selection.ts_event_ns < self._selection_ts_ns:
            self.session.counters["stale_mm_universe"] += 1
            return
        self._selection_ts_ns = selection.ts_event_ns
        wanted = list(dict.fromkeys(selection.symbols))
        async with self._switch_lock:
            for symbol in [s for s in self.sessions if s not in wanted]:
                await self._drop_symbol(symbol)
            for symbol in wanted:
                if symbol not in self.sessions:
                    await self._add_symbol(symbol)
        log.info("serving market-making symbols=%s", ",".join(self.sessions) or "none")

    async def _add_symbol(self, symbol: str) -> None:
        session = self._new_session()
        self.sessions[symbol] = session
        session.begin_switch(symbol, LISTED_EPOCH)
        session.grid = await self._grid_of(symbol, session)
        self._routes.update((topic, session) for topic in session.topics(symbol))
        self.session.counters["mm_symbols_added"] += 1
        await self._subscribe(session, symbol)

    async def _drop_symbol(self, symbol: str) -> None:
        assert self._stream is not None
        assert self._publisher is not None
        session = self.sessions.pop(symbol)
        venue_topics = session.topics(symbol)
        for topic in venue_topics:  # from now its frames count as wrong_symbol in `session`
            self._routes.pop(topic, None)
        for kind in _SYMBOL_KINDS:
            self._publisher.forget(f"md.{kind}.{symbol}.".encode())
        self._rules_sent.pop(symbol, None)
        self._retired.update(session.counters)
        self.session.counters["mm_symbols_removed"] += 1
        await self._venue_call(self._stream.unsubscribe(venue_topics))

    async def _serve_listed(self) -> None:
        """`[feed] symbols`: every listed symbol, each its own session, subscribed in turn."""
        assert self._stream is not None
        async with self._switch_lock:
            for symbol, session in self.sessions.items():
                session.begin_switch(symbol, LISTED_EPOCH)
                session.grid = await self._grid_of(symbol, session)
                await self._subscribe(session, symbol)
        log.info("serving listed symbols=%s", ",".join(self.sessions))

    async def _subscribe(self, session: FeedSession, symbol: str) -> None:
        """The symbol's rules, then its book and its venue subscription."""
        assert self._stream is not None
        self._send_rules(symbol)
        # The book must exist before the subscribe request leaves: the venue sends the
        # snapshot right after its ack, and the reader may see it before we resume.
        self._publish(session.subscribed(self._clock.now_ns()))
        await self._venue_call(self._stream.subscribe(session.topics(symbol)))

    def _send_rules(self, symbol: str) -> None:
        """Publish the symbol's instrument rules when known and not yet said as they are."""
        rules = self._grids.get(symbol)
        if rules is None or self._rules_sent.get(symbol) == rules:
            return
        self._rules_sent[symbol] = rules
        now_ns = self._clock.now_ns()
        self._publish(
            [InstrumentRulesChanged(symbol=Symbol(symbol), rules=rules, ts_event_ns=now_ns)]
        )

    async def _retry_rules(self) -> None:
        """Ask the venue again, every `_RULES_RETRY_S`, for a served symbol whose rules are
        unknown (instruments-info failed): published once read, its prices checked on them."""
        while True:
            await asyncio.sleep(_RULES_RETRY_S)
            for session in list(self.served()):
                symbol = session.symbol
                if symbol is None or symbol in self._grids:
                    continue
                self.session.counters["rules_retries"] += 1
                for rules in await self._instruments(symbol):
                    self._grids[rules.symbol] = rules
                # Not switched, nor dropped from the selection, meanwhile:
                if symbol in self._grids and session.symbol == symbol and self._serves(session):
                    log.info("instrument rules read late symbol=%s", symbol)
                    session.grid = self._grids[symbol]
                    self._send_rules(symbol)

    async def _load_grids(self) -> None:
        """Every instrument's grid, once at start: a switch then waits on no REST call (a
        slow venue would hold the new symbol's FeedReady back). A failure is not fatal: a
        switch to a symbol not read asks for that symbol alone."""
        for rules in await self._instruments(None):
            self._grids[rules.symbol] = rules
        log.info("instrument grids read symbols=%d", len(self._grids))

    async def _grid_of(self, symbol: str, session: FeedSession) -> InstrumentRules | None:
        """The symbol's tick size and qty step; None if unread (then sign and finiteness only)."""
        if symbol not in self._grids:
            for rules in await self._instruments(symbol):
                self._grids[rules.symbol] = rules
        if symbol not in self._grids:
            session.counters["grid_unknown"] += 1
        return self._grids.get(symbol)

    async def _instruments(self, symbol: str | None) -> list[InstrumentRules]:
        assert self._rest is not None
        try:
            found = await asyncio.wait_for(
                self._rest.instruments(symbol), self._settings.subscribe_timeout_s
            )
        except (TimeoutError, BybitError) as e:
            self.session.counters["grid_read_failures"] += 1
            log.warning("instrument rules not read symbol=%s error=%s", symbol or "all", e)
            return []
        return [instrument_rules(i) for i in found]

    async def _venue_call(self, call: "asyncio.Future[None] | object") -> None:
        try:
            await asyncio.wait_for(call, self._settings.subscribe_timeout_s)  # type: ignore[arg-type]
        except (TimeoutError, BybitError) as e:
            # Not fatal: the stream re-sends its topics on reconnect; the book waits for a snapshot.
            self.session.counters["subscribe_failures"] += 1
            log.warning("venue subscription call failed error=%s", e)

    async def _read_venue(self) -> None:
        assert self._stream is not None
        async for event in self._stream.run():
            if isinstance(event, StreamFrame):
                self._on_frame(event)
            elif isinstance(event, StreamConnected):
                for session in self.served():
                    self._publish(session.connected(self._clock.now_ns()))
            elif isinstance(event, StreamDisconnected):
                for session in self.served():
                    self._publish(session.disconnected(event.reason, self._clock.now_ns()))

    def _on_frame(self, frame: StreamFrame) -> None:
        """The hot path: decode, apply, publish. No await, no task, no blocking send."""
        data = frame.data
        self._frames += 1
        decoded = decode_public(data)  # the boundary: a wire type or a counted drop
        if isinstance(decoded, FrameDrop):
            self._drop_frame(decoded, data)
            return
        trace_id = f"{self._trace_prefix}{self._frames}"
        # A listed symbol's session by its topic; else `session` (which counts a frame of a
        # symbol it does not serve as wrong_symbol).
        session = self._routes.get(decoded.topic, self.session)
        try:
            if isinstance(decoded, wire.OrderBookMessage):
                self._publish(session.on_book(decoded, frame.ts_recv_ns, trace_id))
            else:
                self._publish(session.on_trades(decoded, frame.ts_recv_ns, trace_id))
        except (ArithmeticError, ValueError) as e:  # e.g. a NaN price reached the book
            self._publish(session.bad_book_frame(frame.ts_recv_ns))
            log.error(
                "book frame broke the book, resyncing error=%r head=%r trace=%s",
                e,
                data[:80],
                trace_id,
            )
        if session.resync_needed and not self._resync.is_set():
            self._resync.set()
        if self._tap is not None:  # after the market data is out: the tap never delays it
            self._tap.add(decoded.topic, data, frame.ts_recv_ns)

    def _drop_frame(self, drop: FrameDrop, data: bytes) -> None:
        if self._stream is not None:
            self._stream.stats.drop(drop.reason)
        if drop.reason is VenueDropReason.UNKNOWN_TOPIC:
            self.session.counters["unknown_frames"] += 1
            return
        self.session.counters["bad_frames"] += 1
        log.error(
            "dropped venue frame reason=%s error=%s head=%r", drop.reason, drop.detail, data[:80]
        )

    async def _watch(self) -> None:
        """Resubscribe a gapped book (that symbol's alone); flag a silent one as stale."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resync.wait(), _STALE_CHECK_S)
            self._resync.clear()
            now_ns = self._clock.now_ns()
            for session in list(self.served()):
                # A refused or lost subscription (no snapshot in time) is asked again.
                overdue = session.snapshot_overdue(now_ns, self._snapshot_patience_ns)
                if overdue or session.resync_needed:
                    await self._resubscribe(session)
                if self._serves(session):  # not dropped from the selection meanwhile
                    self._publish(session.check_stale(self._clock.now_ns()))
            if self._tap is not None:
                self._tap.flush()  # the recorder gets a quiet market's frames within 100 ms

    async def _resubscribe(self, session: FeedSession) -> None:
        stream = self._stream
        assert stream is not None
        async with self._switch_lock:
            if session.symbol is None or session.phase is Phase.SWITCHING:
                return
            if not self._serves(session):  # dropped from the selection while we waited
                return
            session.counters["resyncs"] += 1
            book_topic = session.topics(session.symbol)[:1]
            log.warning("resyncing book symbol=%s", session.symbol)
            await self._venue_call(stream.unsubscribe(book_topic))
            self._publish(session.subscribed(self._clock.now_ns()))
            await self._venue_call(stream.subscribe(book_topic))

    def _stream_counts(self) -> dict[str, int]:
        stats = self._stream.stats if self._stream is not None else None
        return {} if stats is None else stats.counts()

    def _publish(self, messages: Sequence[BusMessage]) -> None:
        assert self._publisher is not None
        for message in messages:
            self._publisher.send(message)
