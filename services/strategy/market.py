"""The scalper's view of its market: the listing, its feed, the trading state, the latest data.

`MarketView` is one part of `machine.MomentumScalper` (see core.py for how the parts fit). It
takes the universe's UniverseChanged, the feed's FeedReady and FeedStatus, the latest Quote
and the Trade window, and answers whether data is current, what blocks an entry besides
the signal, and whether the wait for the feed and the universe to agree is overdue. It
sends nothing and knows no state: the scalper's state machine (`core.ScalperCore`) asks.
"""

from collections import Counter
from dataclasses import dataclass

from services.strategy.api import Output, Resync, make_alert
from services.strategy.book import Book
from services.strategy.orders import Listing, Trigger
from services.strategy.settings import StrategySettings
from services.strategy.signals import NS_PER_S, TopOfBook, TradeWindow
from shared.schema import (
    FeedReady,
    FeedState,
    FeedStatus,
    InstrumentRules,
    Quote,
    Trade,
    TradingState,
    UniverseChanged,
)


class MarketView:
    """The listing to trade, its feed's readiness, the rules, the latest quote and trades."""

    def __init__(self, settings: StrategySettings, counters: Counter[str]) -> None:
        self.counters = counters  # shared with the other parts: counted events
        self.rules: dict[str, InstrumentRules] = {}
        self.listing: Listing | None = None  # what the universe says to trade
        self.feed_ready = False  # FeedReady seen for `listing`
        self.early_feed_ready: tuple[str, int] | None = None  # (symbol, epoch) not announced yet
        self.feed_live = True  # the feed's last FeedStatus for `listing` was not bad
        self.trading_state = TradingState.ACTIVE
        self.quote: Quote | None = None
        self.top: TopOfBook | None = None
        self.window = TradeWindow(settings.vwap_trades)
        self.trigger = Trigger(0, 0)  # the market data behind the next command
        self.feed_wait_since_ns = 0  # waiting for a FeedReady or UniverseChanged since (0: not)
        self._patience_s = settings.feed_patience_s
        self._patience_ns = int(settings.feed_patience_s * NS_PER_S)

    # -- market data ----------------------------------------------------------------------

    def current(self, symbol: str, epoch: int, now_ns: int) -> bool:
        """Whether data of `symbol` and `epoch` is the listing's; else it is counted."""
        listing = self.listing
        if listing is not None and symbol == listing.symbol and epoch == listing.epoch:
            return True
        if listing is None or symbol != listing.symbol:
            self.counters["other_symbol_md"] += 1
        else:
            self.counters["other_epoch_md"] += 1
        if listing is not None and epoch > listing.epoch:  # its announcement is not here yet
            self.note_feed_wait(now_ns, newer_epoch_seen=True)
        return False

    def take_quote(self, quote: Quote) -> None:
        """The latest quote: the top of book, and the trigger of what it decides."""
        self.quote = quote
        self.top = TopOfBook(
            float(quote.bid_price),
            float(quote.bid_qty),
            float(quote.ask_price),
            float(quote.ask_qty),
            quote.ts_recv_ns,
        )
        self.trigger = Trigger(quote.ts_recv_ns, quote.ts_event_ns, quote.trace_id)

    def take_trade(self, trade: Trade, *, decides: bool) -> None:
        """A trade into the momentum window; the trigger too when it may decide an entry."""
        self.window.push(float(trade.price), float(trade.qty), trade.ts_recv_ns)
        if decides:
            self.trigger = Trigger(trade.ts_recv_ns, trade.ts_event_ns, trade.trace_id)

    def entry_block(self) -> str | None:
        """The counter name of what in the market forbids an entry (gate and signal aside)."""
        if self.top is None or self.quote is None or self.listing is None:
            return "entry_blocked_no_quote"
        if not (self.feed_ready and self.feed_live):
            return "entry_blocked_feed"
        if self.trading_state is not TradingState.ACTIVE:
            return "entry_blocked_trading_state"
        if self.listing.symbol not in self.rules:
            return "entry_blocked_no_rules"
        return None

    # -- the universe and the feed --------------------------------------------------------

    def adopt_universe(self, event: UniverseChanged, now_ns: int) -> bool:
        """Take a newer listing (its market data starts anew); False for a stale one."""
        previous = self.listing
        if previous is not None and event.epoch <= previous.epoch:
            self.counters["stale_universe"] += 1
            return False
        self.listing = Listing(event.symbol, event.epoch)
        early = self.early_feed_ready
        self.feed_ready = early == (event.symbol, event.epoch)
        if early is not None and early[1] <= event.epoch:
            self.early_feed_ready = None
        self.feed_live = True
        self.note_feed_wait(now_ns)
        self.window.reset()
        self.quote = None
        self.top = None
        return True

    def adopt_feed_ready(self, event: FeedReady, now_ns: int, out: list[Output]) -> bool:
        """Whether the FeedReady makes the listing's feed ready (early ones are kept)."""
        listing = self.listing
        if listing is None or event.epoch > listing.epoch:
            # The feed was quicker than the scanner's UniverseChanged reached us: two
            # publishers, no order between them. Kept until that epoch is announced.
            self.counters["early_feed_ready"] += 1
            self.early_feed_ready = (event.symbol, event.epoch)
            self.note_feed_wait(now_ns)
            return False
        if (event.symbol, event.epoch) != (listing.symbol, listing.epoch):
            self.counters["stale_feed_ready"] += 1
            detail = f"FeedReady {event.symbol} epoch {event.epoch}, trading {listing}"
            out.append(make_alert("stale_feed_ready", detail, now_ns))
            return False
        self.feed_ready = True
        self.feed_live = True
        self.note_feed_wait(now_ns)
        return True

    def adopt_feed_status(self, event: FeedStatus) -> None:
        listing = self.listing
        if listing is None or (event.symbol, event.epoch) != (listing.symbol, listing.epoch):
            self.counters["other_symbol_feed_status"] += 1
            return
        self.feed_live = event.state is FeedState.LIVE

    def note_feed_wait(self, now_ns: int, *, newer_epoch_seen: bool = False) -> None:
        """Start (or end) the wait for the feed and the universe to agree on the listing."""
        waiting = newer_epoch_seen or not self.feed_ready or self.early_feed_ready is not None
        if not waiting:
            self.feed_wait_since_ns = 0
        elif not self.feed_wait_since_ns:
            self.feed_wait_since_ns = now_ns

    def feed_overdue(self, now_ns: int) -> Resync | None:
        """A Resync of the scanner and the feed when they have not agreed for the patience."""
        since = self.feed_wait_since_ns
        if not since or now_ns - since < self._patience_ns:
            return None
        self.counters["resync_feed"] += 1
        self.feed_wait_since_ns = now_ns  # ask again after another wait
        reason = f"feed and universe not agreed on {self.listing} for {self._patience_s} s"
        return Resync(("scanner", "feed"), reason, now_ns)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the scalper's parts share: the book, the market view, and one event counter."""

    book: Book
    market: MarketView
    counters: Counter[str]
