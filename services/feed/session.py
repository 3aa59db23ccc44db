"""The feed's decisions, pure: which symbol is served, when it is ready, what to publish.

A `FeedSession` takes the venue's frames (already decoded) and the universe's choices, and
returns the bus messages to publish. It owns the local book and the hot-swap phases:

    IDLE -> SWITCHING (old unsubscribed, new subscribing) -> AWAITING_SNAPSHOT -> LIVE

Frames of any symbol but the one being served are dropped and counted from the moment a
switch begins, so after FeedReady(new symbol, epoch) nothing of an older symbol is ever
published. Quotes are published only from a tradeable book (snapshot applied, no gap, not
crossed) whose frame is fresh (venue ts within `max_venue_lag_ns` of its arrival).

What the venue says is checked before it is used (shared/bybit/validate.py: prices finite,
> 0 and on the tick grid, sizes finite and on the step grid, > 0 for trades and >= 0 for
book levels, where 0 deletes). The grid is the instrument's, when the service could read
it (`grid`); without it only finiteness and sign are checked. A refused report is counted
(`refused_<book|trade>_<defect>`), alerted (`invalid_market_data`) and never published:

* a trade with a bad price or size is dropped on its own (trades are independent);
* a book frame with one bad level is dropped whole, never applied in part: applying the
  good levels of a delta and not the bad one would leave a book that is neither the old
  one nor the venue's. The local book is reset and resubscribed (`resync_needed`), so the
  next quote comes from a fresh snapshot, like after a sequence gap.
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from msgspec.structs import replace

from services.feed.book import BookUpdate, OrderBook
from services.feed.refusals import RefusalAlerts
from shared.bybit import wire
from shared.bybit.translate import to_trade
from shared.bybit.validate import Grid, book_refusal, trade_refusal
from shared.schema import (
    BookLevel,
    BookLevels,
    BusMessage,
    FeedReady,
    FeedState,
    FeedStatus,
    Quote,
    Symbol,
)

NS_PER_MS = 1_000_000
_BOOK_COUNTERS = {update: f"book_{update.value}" for update in BookUpdate}  # no f-string a frame
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def trace_prefix(start_ns: int) -> str:
    """Return "<start ms in base 36>-": the feed incarnation's part of every trace id.

    A trace id is this prefix and the venue frame's number in the incarnation (1, 2, ...),
    e.g. "mj4k2x9a-1842": unique across feed restarts (docs/decisions/0003-trace-id.md).
    """
    ms, digits = start_ns // NS_PER_MS, ""
    while True:
        ms, digit = divmod(ms, 36)
        digits = _BASE36[digit] + digits
        if not ms:
            return digits + "-"


class Phase(Enum):
    IDLE = "idle"  # no symbol chosen yet
    SWITCHING = "switching"  # waiting for the venue's unsubscribe / subscribe acknowledgements
    AWAITING_SNAPSHOT = "awaiting_snapshot"  # subscribed, no usable book yet
    LIVE = "live"


@dataclass
class FeedSession:
    depth: int
    published_levels: int
    max_venue_lag_ns: int
    stale_after_ns: int
    symbol: str | None = None
    epoch: int = 0
    phase: Phase = Phase.IDLE
    book: OrderBook | None = None
    counters: Counter[str] = field(default_factory=Counter)
    grid: Grid | None = None  # tick size and qty step of the symbol served, when known
    resync_needed: bool = (
        False  # the book gapped: the service resubscribes, then calls subscribed()
    )
    _ready_epoch: int = -1
    _state: FeedState | None = None
    _last_top: tuple[Decimal, Decimal, Decimal, Decimal] | None = None
    _awaiting_since_ns: int = 0
    _refusals: RefusalAlerts = field(init=False)

    def __post_init__(self) -> None:
        self._refusals = RefusalAlerts(self.counters)

    def topics(self, symbol: str) -> list[str]:
        return [f"orderbook.{self.depth}.{symbol}", f"publicTrade.{symbol}"]

    def begin_switch(self, symbol: str, epoch: int, grid: Grid | None = None) -> None:
        """Stop serving the current symbol at once; `symbol` is served after its first book."""
        self.symbol, self.epoch, self.phase, self.grid = symbol, epoch, Phase.SWITCHING, grid
        self.book, self._last_top, self.resync_needed = None, None, False

    def subscribed(self, now_ns: int) -> list[BusMessage]:
        """The venue acknowledged the subscription: wait for the first snapshot."""
        assert self.symbol is not None
        self.phase = Phase.AWAITING_SNAPSHOT
        self._awaiting_since_ns = now_ns
        self.book = OrderBook(self.symbol, self.depth)
        self.resync_needed = False
        return self._status(FeedState.RESYNCING, "waiting for the first snapshot", now_ns)

    def connected(self, now_ns: int) -> list[BusMessage]:
        """The stream (re)connected and re-subscribed: a fresh snapshot is on its way."""
        if self.symbol is None:
            return self._status(FeedState.CONNECTED, "connected, no symbol yet", now_ns)
        return self.subscribed(now_ns)

    def disconnected(self, reason: str, now_ns: int) -> list[BusMessage]:
        self.counters["disconnects"] += 1
        if self.phase is Phase.LIVE:
            self.phase = Phase.AWAITING_SNAPSHOT
        self.book = None
        return self._status(FeedState.DISCONNECTED, reason, now_ns)

    def on_book(
        self, message: wire.OrderBookMessage, recv_ns: int, trace_id: str = ""
    ) -> list[BusMessage]:
        """Apply one book frame; return what to publish (stamped with the frame's `trace_id`)."""
        book = self.book
        if message.data.s != self.symbol or book is None:
            self.counters["wrong_symbol"] += 1
            return []
        if (refusal := book_refusal(message.data, self.grid)) is not None:
            book.reset()  # never apply part of a frame: resync from a fresh snapshot
            self.resync_needed = True
            action = "frame dropped, book reset, resyncing"
            alerts = self._refusals.refuse("book", book.symbol, refusal, action, recv_ns)
            return [*alerts, *self._status(FeedState.RESYNCING, "refused book frame", recv_ns)]
        was_synced = book.synced
        update = book.apply(message, recv_ns)
        if update is BookUpdate.GAP and not was_synced:
            self.counters["before_snapshot"] += 1  # deltas in flight while a snapshot is awaited
            return []
        self.counters[_BOOK_COUNTERS[update]] += 1
        return self._after(update, message, recv_ns, trace_id)

    def _after(
        self, update: BookUpdate, message: wire.OrderBookMessage, recv_ns: int, trace_id: str
    ) -> list[BusMessage]:
        if update is BookUpdate.APPLIED:
            lag_ms = recv_ns // NS_PER_MS - message.ts
            if lag_ms * NS_PER_MS <= self.max_venue_lag_ns:
                return self._publishable(message, recv_ns, trace_id)
            self.counters["stale_frames"] += 1
            return self._status(FeedState.STALE, f"venue ts lags by {lag_ms} ms", recv_ns)
        if update is BookUpdate.GAP:
            self.resync_needed = True
            last_u = self.book.last_u if self.book is not None else 0
            return self._status(FeedState.RESYNCING, f"u gap after {last_u}", recv_ns)
        if update is BookUpdate.CROSSED:
            return self._status(FeedState.CROSSED, "best bid >= best ask", recv_ns)
        return []  # a duplicate

    def bad_book_frame(self, now_ns: int) -> list[BusMessage]:
        """A frame that decoded but could not be applied: the book is not trusted any more."""
        self.counters["bad_frames"] += 1
        if self.book is not None:
            self.book.reset()
            self.resync_needed = True
        return self._status(FeedState.RESYNCING, "unusable book frame", now_ns)

    def on_trades(
        self, message: wire.PublicTradeMessage, recv_ns: int, trace_id: str = ""
    ) -> list[BusMessage]:
        """The trades of the symbol served; one refused is dropped alone (with its alert).

        Every trade of the frame carries the frame's `trace_id`."""
        if self.phase not in (Phase.AWAITING_SNAPSHOT, Phase.LIVE):
            self.counters["wrong_symbol"] += len(message.data)
            return []
        ours = [d for d in message.data if d.s == self.symbol]
        self.counters["wrong_symbol"] += len(message.data) - len(ours)
        out: list[BusMessage] = []
        for d in ours:
            if (refusal := trade_refusal(d, self.grid)) is None:
                trade = to_trade(d, self.epoch, recv_ns)
                out.append(replace(trade, trace_id=trace_id) if trace_id else trade)
            else:
                out += self._refusals.refuse("trade", d.s, refusal, "trade dropped", recv_ns)
        return out

    def snapshot_overdue(self, now_ns: int, patience_ns: int) -> bool:
        """Return True once a book has waited `patience_ns` for its first snapshot."""
        if self.phase is not Phase.AWAITING_SNAPSHOT or self.resync_needed:
            return False
        if now_ns - self._awaiting_since_ns < patience_ns:
            return False
        self.counters["snapshot_overdue"] += 1
        self._awaiting_since_ns = now_ns  # ask once per patience period
        return True

    def check_stale(self, now_ns: int) -> list[BusMessage]:
        """Flag a live book that has not moved for `stale_after_ns` (called on a timer)."""
        if self.phase is not Phase.LIVE or self.book is None:
            return []
        if self.book.is_stale(now_ns, self.stale_after_ns):
            self.counters["stale_books"] += int(self._state is not FeedState.STALE)
            return self._status(FeedState.STALE, "no book update", now_ns)
        return []

    def _publishable(
        self, message: wire.OrderBookMessage, recv_ns: int, trace_id: str
    ) -> list[BusMessage]:
        assert self.book is not None
        assert self.symbol is not None
        out: list[BusMessage] = []
        if self.phase is not Phase.LIVE:
            self.phase = Phase.LIVE
            if self._ready_epoch != self.epoch:
                self._ready_epoch = self.epoch
                out.append(
                    FeedReady(symbol=Symbol(self.symbol), epoch=self.epoch, ts_event_ns=recv_ns)
                )
        if self._state is not FeedState.LIVE:  # (what `_status` checks first)
            out += self._status(FeedState.LIVE, "book live", recv_ns)
        top = self.book.top()
        ts_event_ns = message.ts * NS_PER_MS
        if top is not None and top != self._last_top:
            self._last_top = top
            bid_px, bid_qty, ask_px, ask_qty = top
            out.append(
                Quote(
                    symbol=Symbol(self.symbol),
                    epoch=self.epoch,
                    bid_price=bid_px,
                    bid_qty=bid_qty,
                    ask_price=ask_px,
                    ask_qty=ask_qty,
                    venue_update_id=message.data.u,
                    ts_event_ns=ts_event_ns,
                    ts_recv_ns=recv_ns,
                    trace_id=trace_id,
                )
            )
        if self.depth > 1:
            bids, asks = self.book.levels(self.published_levels)
            out.append(
                BookLevels(
                    symbol=Symbol(self.symbol),
                    epoch=self.epoch,
                    bids=tuple(BookLevel(price=p, qty=q) for p, q in bids),
                    asks=tuple(BookLevel(price=p, qty=q) for p, q in asks),
                    venue_update_id=message.data.u,
                    ts_event_ns=ts_event_ns,
                    ts_recv_ns=recv_ns,
                    trace_id=trace_id,
                )
            )
        return out

    def _status(self, state: FeedState, reason: str, now_ns: int) -> list[BusMessage]:
        """Return a FeedStatus when the state changes (once per transition, not per frame)."""
        if state is self._state:
            return []
        self._state = state
        symbol = Symbol(self.symbol or "")
        return [
            FeedStatus(
                symbol=symbol, epoch=self.epoch, state=state, reason=reason, ts_event_ns=now_ns
            )
        ]
