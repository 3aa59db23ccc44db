"""The venue's state: configuration, markets, accounts, the two report buffers and the ids.

`VenueState` is plain data plus the small look-ups every other venue module needs (a market
by symbol, an account by key, the next id, the mark). It reads no clock: `now` is the latest
time the venue was given.
"""

import hashlib
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Final, Literal

import numpy as np

from services.simulator.accounts import Account
from services.simulator.book import Book
from services.simulator.candles import CandleSeries
from services.simulator.depth import Depth, SyntheticDepth
from services.simulator.instruments import InstrumentSpec, select
from services.simulator.ladder import RecordedDepth
from services.simulator.market import (
    DAY_MINUTES,
    MINUTE_MS,
    PriceProcess,
    SymbolModel,
    synthetic_history,
)
from services.simulator.queue_model import QueueModel, QueueModelName

ORDER_IDS, EXEC_IDS, TRADE_IDS = 1, 2, 3  # id kinds
_MASK64: Final = (1 << 64) - 1
_GOLDEN: Final = 0x9E37_79B9_7F4A_7C15
_GOLDEN_HALF: Final = 0x632B_E59B_D9B4_E019
_KIND_STRIDE: Final = 0x5851_F42D_4C95_7F2D << 20
FEE_QUANTUM: Final = Decimal("0.00000001")  # Bybit shows fees to 8 decimals

PublicLevel = tuple[Decimal, Decimal]
PrivateEvent = tuple[str, str, object]  # (account, topic, wire struct)
# (trade number, time ms, taker buys, price ticks, lots, cross seq, tick direction)
Trade = tuple[int, int, bool, int, int, int, str]
MarketSource = Literal["synthetic", "recorded-tops", "recorded"]


class VenueError(Exception):
    """What Bybit answers with a non-zero retCode: `code` is the retCode, `msg` the retMsg."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


def params_error(msg: str) -> VenueError:
    """Bybit's retCode 10001 (request parameter error)."""
    return VenueError(10001, msg)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeConfig:
    """The simulator's knobs. `symbols=None` is the whole default universe.

    `market_source` says what moves the market:
    - `"synthetic"`: the seeded price process and its synthetic trade flow (paper trading);
    - `"recorded"`: a recording, fed to `Venue.on_market` as `DepthUpdate` / `RecordedTrade`
      (replay, backtests): each book is the recorded L2 ladder, our orders queue in it as
      `queue_model` says (`power`: n of its f(x) = x^n) and no price process runs;
    - `"recorded-tops"`: recorded `BookTop` / `TradePrint` move the synthetic book's top
      and trade against its synthetic depth (a standing market for tests); no price process.
    Without the price process time still rolls the candles (and refills a synthetic book).
    """

    seed: int = 1
    symbols: tuple[str, ...] | None = None
    maker_fee: Decimal | float = Decimal("0.0002")  # floats are read via their str()
    taker_fee: Decimal | float = Decimal("0.00055")
    starting_balance: Decimal | float = Decimal(100_000)
    default_leverage: Decimal | float = Decimal(10)
    step_ms: int = 100
    volatility_scale: float = 1.0  # 0 freezes every mid (handy in tests)
    trade_rate_scale: float = 1.0  # 0 switches the synthetic trade flow off
    history_minutes: int = 3 * DAY_MINUTES
    book_levels: int = 1000  # synthetic levels per side
    book_depth_scale: float = 1.0  # x the size of every synthetic book level
    refill_ms: int = 1500  # consumed synthetic liquidity comes back after this long
    recent_trades: int = 1000  # per symbol, for /v5/market/recent-trade
    max_buffered_events: int = 100_000
    market_source: MarketSource = "synthetic"
    queue_model: QueueModelName = "risk-averse"  # of a recorded market (queue_model.py)
    queue_power: float = 2.0  # n of the probabilistic model's f(x) = x^n
    history_kept: int = 500  # per account: finished orders, executions, transaction-log rows


@dataclass(slots=True, eq=False)
class Market:
    """Everything the venue keeps per symbol."""

    index: int
    spec: InstrumentSpec
    book: Book
    candles: CandleSeries
    recent: deque[Trade]
    tick_direction: str = "ZeroPlusTick"
    stop_accounts: set[str] = field(default_factory=set)  # accounts with a TP/SL here
    top_cache: dict[int, tuple[list[PublicLevel], list[PublicLevel]]] = field(default_factory=dict)


def exact(value: Decimal | float) -> Decimal:
    """A config amount as a Decimal (floats via their str())."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def fee_of(value: Decimal, rate: Decimal) -> Decimal:
    """Return the fee of a fill worth `value` at `rate`, rounded half-up to 8 decimals."""
    return (value * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)


def _splitmix(value: int) -> int:
    """SplitMix64's finaliser: a well-mixed 64-bit value of `value`."""
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & _MASK64
    return z ^ (z >> 31)


def mark_ticks(market: Market) -> int:
    """The mark (and index) price in ticks: the mid of the market's best bid and ask."""
    return (market.book.bid0 + market.book.ask0) // 2


def mark_price(market: Market) -> Decimal:
    """The mark price."""
    return mark_ticks(market) * market.spec.tick_size


def last_price(market: Market) -> Decimal:
    """The last traded price."""
    return market.candles.last * market.spec.tick_size


def protection_price(market: Market, is_buy: bool) -> Decimal:
    """The worst price a Market order may fill at: mark x (1 +/- priceLimitRatioX)."""
    ratio = Decimal(market.spec.price_limit_x)
    mark = Decimal(mark_ticks(market))
    if is_buy:
        ticks = (mark * (1 + ratio)).to_integral_value(ROUND_FLOOR)
    else:
        ticks = max(Decimal(1), (mark * (1 - ratio)).to_integral_value(ROUND_CEILING))
    return ticks * market.spec.tick_size


def best_price(market: Market, is_buy: bool, now_ms: int) -> Decimal:
    """Best price a taker of this side would meet (for margin and notional estimates)."""
    bids, asks = market.book.top(1, now_ms)
    levels = asks if is_buy else bids
    ticks = levels[0][0] if levels else mark_ticks(market)
    return ticks * market.spec.tick_size


class VenueState:
    """The venue's whole mutable state."""

    def __init__(self, config: ExchangeConfig, now_ms: int) -> None:
        self.config = config
        self.maker_fee = exact(config.maker_fee)
        self.taker_fee = exact(config.taker_fee)
        self.starting_balance = exact(config.starting_balance)
        self.default_leverage = exact(config.default_leverage)
        specs = select(config.symbols)
        models = tuple(
            SymbolModel.of(
                s,
                step_ms=config.step_ms,
                volatility_scale=config.volatility_scale,
                trade_rate_scale=config.trade_rate_scale,
                book_depth_scale=config.book_depth_scale,
            )
            for s in specs
        )
        self.process = PriceProcess(specs, models, seed=config.seed, step_ms=config.step_ms)
        self.synthetic = config.market_source == "synthetic"  # the price process runs
        self.recorded = config.market_source == "recorded"  # books are recorded ladders
        self.queue_model = QueueModel(config.queue_model, config.queue_power)
        # Ids (orders, executions, trades) differ between two starts of the same seed: a
        # journal kept across simulator restarts must never see an old execId again.
        id_key = hashlib.blake2b(f"{config.seed}:{now_ms}".encode(), digest_size=16).digest()
        self.id_salt = int.from_bytes(id_key[:8], "big")
        history_rng = np.random.default_rng([config.seed, 0])
        self.markets: dict[str, Market] = {}
        self.market_list: list[Market] = []
        for i, (spec, model) in enumerate(zip(specs, models, strict=True)):
            history = synthetic_history(
                spec, history_rng, end_minute=now_ms // MINUTE_MS, minutes=config.history_minutes
            )
            bid0 = max(1, int(spec.start_price / spec.tick_size) - model.spread_ticks // 2)
            ask0 = bid0 + model.spread_ticks
            depth: Depth = (
                RecordedDepth(bid0=bid0, ask0=ask0)
                if self.recorded
                else SyntheticDepth(
                    book_lots=model.book_lots,
                    max_levels=config.book_levels,
                    refill_ms=config.refill_ms,
                    salt=int.from_bytes(id_key[:4], "big") ^ spec.symbol_id,
                    bid0=bid0,
                    ask0=ask0,
                )
            )
            book = Book(depth)
            candles = CandleSeries(
                capacity=config.history_minutes + 2,
                unit_value=model.tick * model.lot,
                history=history,
                now_ms=now_ms,
            )
            market = Market(
                index=i,
                spec=spec,
                book=book,
                candles=candles,
                recent=deque(maxlen=config.recent_trades),
            )
            self.markets[spec.symbol] = market
            self.market_list.append(market)
        self.accounts: dict[str, Account] = {}
        self.public: deque[tuple[Market, Trade]] = deque(maxlen=config.max_buffered_events)
        self.private: deque[PrivateEvent] = deque(maxlen=config.max_buffered_events)
        self.last_step_ms = now_ms
        self.now = now_ms
        self.minute = now_ms // MINUTE_MS
        self.seq = 0
        self.trade_no = 0
        self.order_no = 0
        self.exec_no = 0
        self.stop_check: list[Market] = []  # markets whose stops a trade may have triggered

    def market(self, symbol: str | None) -> Market:
        """The market of `symbol`, or 10001 "symbol invalid"."""
        market = self.markets.get(symbol or "")
        if market is None:
            raise params_error("params error: symbol invalid")
        return market

    def account(self, key: str) -> Account:
        """The account of API key `key`, created with the starting balance on first use."""
        account = self.accounts.get(key)
        if account is None:
            account = self.accounts[key] = Account(
                key=key,
                wallet=self.starting_balance,
                default_leverage=self.default_leverage,
                history_kept=self.config.history_kept,
            )
        return account

    def uuid(self, kind: int, number: int) -> str:
        """A version-4-shaped UUID string, unique per (kind, number), derived from the seed."""
        base = self.id_salt + kind * _KIND_STRIDE + number * _GOLDEN
        hi, lo = _splitmix(base), _splitmix(base + _GOLDEN_HALF)
        return (
            f"{hi >> 32:08x}-{(hi >> 16) & 0xFFFF:04x}-4{hi & 0xFFF:03x}-"
            f"{0x8000 | (lo >> 48) & 0x3FFF:04x}-{lo & 0xFFFF_FFFF_FFFF:012x}"
        )

    def next_order_id(self) -> str:
        """A fresh order id."""
        self.order_no += 1
        return self.uuid(ORDER_IDS, self.order_no)

    def mark_of(self, symbol: str) -> Decimal:
        """The mark price of `symbol` (for wallet valuation)."""
        return mark_price(self.markets[symbol])

    def touch(self, market: Market) -> None:
        """Record a book change: a new update id, the cross seq, no cached top."""
        book = market.book
        book.u += 1
        book.seq = self.seq
        book.dirty = False
        if market.top_cache:
            market.top_cache = {}
