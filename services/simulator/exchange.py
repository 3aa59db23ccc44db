"""The simulator's venue: the facade the HTTP / websocket layer calls.

`Exchange` owns the market (price process, books, candles), the accounts (keyed by API key)
and the two event streams (public trades, private events). It takes Bybit request Structs
already decoded by the HTTP layer, returns `shared.bybit.wire` Structs, and raises
`VenueError(code, msg)` for what Bybit answers with a non-zero retCode. It does no I/O and
reads no clock: every call that depends on time takes `now_ms`, and the market is advanced
to it first (in fixed steps of `step_ms`), so a seed plus a sequence of calls gives the same
result every time.

Bybit semantics kept: create / amend / cancel return only ids (the acknowledgement); the
outcome arrives as private events, in the order it happened:

* a new order: one `execution` per fill it took on entry, then one `order` with its status
  after the entry match (New, PartiallyFilled, Filled or Cancelled), then `position` and
  `wallet`; amend and cancel: `order`, `position`, `wallet` (a position event on every order
  create / amend / cancel, even with no position change);
* a resting order filled later (by the synthetic flow, by a taker of any account, or because
  the market moved through it): `execution`, `order`, `position`, `wallet` per fill.

Simplifications versus Bybit (beyond those of `accounts`):

* one-way mode (positionIdx 0) and cross margin only; no conditional orders (triggerPrice),
  no trailing stop, no partial TP/SL (tpslMode Full only), no batch endpoints, no SMP:
  an account's orders can trade with each other;
* a taker order's entry match is atomic: one order event with the resulting status, not one
  per intermediate status (New -> PartiallyFilled -> Filled);
* IOC / Market remainders end `Cancelled` with rejectReason `EC_NoImmediateQtyToFill` when
  nothing filled, else `EC_NoError`; FOK that cannot fill completely ends `Cancelled` with
  `EC_NoEnoughQtyToFill`; PostOnly that would cross ends `Cancelled` with
  `EC_PostOnlyWillTakeLiquidity` (also when an amend would make it cross);
* Market orders are IOC up to a protection price: mark x (1 +/- priceLimitRatioX); Limit
  prices beyond mark x (1 +/- priceLimitRatioY) fail with 110003;
* reduce-only orders are capped to the position (each one on its own, not their sum), shrink
  as the position shrinks and are cancelled (CancelByReduceOnly) when it is gone; they are
  exempt from the minimum order value; `qty="0"` with reduceOnly + closeOnTrigger closes the
  whole position;
* amending to the same qty and price fails with 10001 "The order remains unchanged as the
  parameters entered match the existing ones."; a trading-stop that changes nothing fails
  with 34040 "not modified" (as captured); an amend of price or a qty increase loses queue
  priority, a qty decrease keeps it;
* venue TP/SL trigger on the last traded price and close the whole position with a
  reduce-only Market order (createType CreateByStopLoss / CreateByTakeProfit; no
  Untriggered / Triggered order events for them); both are cleared when the position closes
  or flips; if that order cannot fill completely (protection band), the rest of the position
  stays open without a stop; TP/SL attached to a create apply to the position at the order's
  first fill;
* the fills of one taker match are followed by one order, one position and one wallet
  event (Bybit batches them too), not by a position and wallet event per fill;
* the mark and index price are the synthetic mid; funding rate is a constant 0.0001 and is
  never charged; open interest is synthetic;
* order history keeps everything in memory (Bybit's retention rules applied when reading);
  the public-trade and private-event buffers keep the newest `max_buffered_events` entries
  if nobody takes them;
* klines only reach back as far as the candle buffer (`history_minutes`); prices in wire
  Decimal fields are exact multiples of the tick, so encode them with
  `decimal_format=lambda d: format(d, "f")` to avoid exponent notation for tiny ticks.
"""

import hashlib
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

import numpy as np

from services.simulator.accounts import (
    ZERO,
    Account,
    FillOutcome,
    OrderState,
    Position,
    order_event,
    order_to_wire,
    position_event,
    position_info,
    usdt_text,
    wallet_to_wire,
    with_places,
)
from services.simulator.book import Book, RestingOrder
from services.simulator.instruments import InstrumentSpec, select, to_instrument
from services.simulator.market import (
    DAY_MINUTES,
    KLINE_INTERVALS,
    MINUTE_MS,
    CandleSeries,
    PriceProcess,
    SymbolModel,
    synthetic_history,
)
from services.simulator.matching import Fill, Matcher, synthetic_taker
from shared.bybit import wire

_LINK_ID: Final = re.compile(r"[0-9A-Za-z_-]{1,36}")
_SIDES: Final = {"Buy": True, "Sell": False}
_LIMIT_TIFS: Final = frozenset({"GTC", "IOC", "FOK", "PostOnly"})
_RESTING_TIFS: Final = frozenset({"GTC", "PostOnly"})
_DAY_MS: Final = 86_400_000
_FUNDING_RATE: Final = "0.0001"
_OI_FRACTION: Final = Decimal("0.35")
_MAX_STOP_ROUNDS: Final = 100
_ORDER_IDS, _EXEC_IDS, _TRADE_IDS = 1, 2, 3  # id kinds
_MASK64: Final = (1 << 64) - 1
_GOLDEN: Final = 0x9E37_79B9_7F4A_7C15
_GOLDEN_HALF: Final = 0x632B_E59B_D9B4_E019
_KIND_STRIDE: Final = 0x5851_F42D_4C95_7F2D << 20


def _splitmix(value: int) -> int:
    """SplitMix64's finaliser: a well-mixed 64-bit value of `value`."""
    z = value & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & _MASK64
    return z ^ (z >> 31)


PublicLevel = tuple[Decimal, Decimal]
PrivateEvent = tuple[str, str, object]  # (account, topic, wire struct)


class VenueError(Exception):
    """What Bybit answers with a non-zero retCode: `code` is the retCode, `msg` the retMsg."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeConfig:
    """The simulator's knobs. `symbols=None` is the whole default universe."""

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
    refill_ms: int = 1500  # consumed synthetic liquidity comes back after this long
    recent_trades: int = 1000  # per symbol, for /v5/market/recent-trade
    max_buffered_events: int = 100_000


@dataclass(slots=True, eq=False)
class _Market:
    """Everything the venue keeps per symbol."""

    index: int
    spec: InstrumentSpec
    book: Book
    candles: CandleSeries
    recent: deque["_Trade"]
    tick_direction: str = "ZeroPlusTick"
    stop_accounts: set[str] = field(default_factory=set)  # accounts with a TP/SL here
    top_cache: dict[int, tuple[list[PublicLevel], list[PublicLevel]]] = field(default_factory=dict)


# (trade number, time ms, taker buys, price ticks, lots, cross seq, tick direction)
_Trade = tuple[int, int, bool, int, int, int, str]


def _exact(value: Decimal | float) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


FEE_QUANTUM: Final = Decimal("0.00000001")  # Bybit shows fees to 8 decimals


def fee_of(value: Decimal, rate: Decimal) -> Decimal:
    """Return the fee of a fill worth `value` at `rate`, rounded half-up to 8 decimals."""
    return (value * rate).quantize(FEE_QUANTUM, rounding=ROUND_HALF_UP)


def _fail(msg: str) -> VenueError:
    return VenueError(10001, msg)


def _decimal(text: str | None, what: str) -> Decimal:
    if text is None or text == "":
        raise _fail(f"params error: {what} is required")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _fail(f"params error: {what} invalid") from None
    if not value.is_finite():
        raise _fail(f"params error: {what} invalid")
    return value


def _side(text: str) -> bool:
    if text not in _SIDES:
        raise _fail("params error: side invalid")
    return _SIDES[text]


def _time_in_force(order_type: str, tif: str | None) -> str:
    if order_type == "Market":
        return "IOC"  # Bybit: market orders always use IOC
    if order_type != "Limit":
        raise _fail("params error: orderType invalid")
    tif = tif or "GTC"
    if tif not in _LIMIT_TIFS:
        raise _fail("params error: timeInForce invalid")
    return tif


def _check_qty(spec: InstrumentSpec, qty: Decimal, maximum: Decimal) -> None:
    if qty <= 0 or qty % spec.qty_step:
        raise _fail(f"Qty invalid: {qty} is not a positive multiple of qtyStep {spec.qty_step}")
    if qty < spec.min_qty:
        raise _fail(
            "The number of contracts exceeds minimum limit allowed: too small, "
            f"order_qty:{qty} < min_qty:{spec.min_qty}"
        )
    if qty > maximum:
        raise _fail(
            "The number of contracts exceeds maximum limit allowed: too large, "
            f"order_qty:{qty} > max_qty:{maximum}"
        )


def _check_price_step(spec: InstrumentSpec, price: Decimal, what: str = "Price") -> None:
    if price <= 0:
        raise _fail(f"{what} invalid: {price} must be positive")
    if price % spec.tick_size:
        raise _fail(f"{what} invalid: {price} is not a multiple of tickSize {spec.tick_size}")


def _initial_bids(specs: tuple[InstrumentSpec, ...], models: tuple[SymbolModel, ...]) -> list[int]:
    """The synthetic best bid at the start (as the price process would place it)."""
    return [
        max(1, int(spec.start_price / spec.tick_size) - model.spread_ticks // 2)
        for spec, model in zip(specs, models, strict=True)
    ]


class Exchange:
    """A Bybit-V5-compatible venue for category=linear, as pure state and functions."""

    def __init__(self, config: ExchangeConfig, now_ms: int) -> None:
        self._config = config
        self._maker_fee = _exact(config.maker_fee)
        self._taker_fee = _exact(config.taker_fee)
        self._starting_balance = _exact(config.starting_balance)
        self._default_leverage = _exact(config.default_leverage)
        specs = select(config.symbols)
        models = tuple(
            SymbolModel.of(
                s,
                step_ms=config.step_ms,
                volatility_scale=config.volatility_scale,
                trade_rate_scale=config.trade_rate_scale,
            )
            for s in specs
        )
        self._process = PriceProcess(specs, models, seed=config.seed, step_ms=config.step_ms)
        # Ids (orders, executions, trades) differ between two starts of the same seed: a
        # journal kept across simulator restarts must never see an old execId again.
        self._id_key = hashlib.blake2b(f"{config.seed}:{now_ms}".encode(), digest_size=16).digest()
        self._id_salt = int.from_bytes(self._id_key[:8], "big")
        history_rng = np.random.default_rng([config.seed, 0])
        bid0 = _initial_bids(specs, models)
        self._markets: dict[str, _Market] = {}
        self._market_list: list[_Market] = []
        for i, (spec, model) in enumerate(zip(specs, models, strict=True)):
            history = synthetic_history(
                spec, history_rng, end_minute=now_ms // MINUTE_MS, minutes=config.history_minutes
            )
            book = Book(
                book_lots=model.book_lots,
                max_levels=config.book_levels,
                refill_ms=config.refill_ms,
                salt=int.from_bytes(self._id_key[:4], "big") ^ spec.symbol_id,
                bid0=bid0[i],
                ask0=bid0[i] + model.spread_ticks,
            )
            candles = CandleSeries(
                capacity=config.history_minutes + 2,
                unit_value=model.tick * model.lot,
                history=history,
                now_ms=now_ms,
            )
            market = _Market(
                index=i,
                spec=spec,
                book=book,
                candles=candles,
                recent=deque(maxlen=config.recent_trades),
            )
            self._markets[spec.symbol] = market
            self._market_list.append(market)
        self._accounts: dict[str, Account] = {}
        self._public: deque[tuple[_Market, _Trade]] = deque(maxlen=config.max_buffered_events)
        self._private: deque[PrivateEvent] = deque(maxlen=config.max_buffered_events)
        self._last_step_ms = now_ms
        self._now = now_ms
        self._minute = now_ms // MINUTE_MS
        self._seq = 0
        self._trade_no = 0
        self._order_no = 0
        self._exec_no = 0
        self._ctx_market = self._market_list[0]
        self._ctx_now = now_ms
        self._active: OrderState | None = None
        self._stop_check: list[_Market] = []

    # ================================================================ time

    @property
    def now_ms(self) -> int:
        """The venue's time: the latest `now_ms` it was given."""
        return self._now

    def advance(self, now_ms: int) -> None:
        """Move the market to `now_ms` in fixed steps: prices, synthetic trades, fills, stops."""
        step = self._config.step_ms
        while self._last_step_ms + step <= now_ms:
            self._last_step_ms += step
            self._step(self._last_step_ms)
        self._now = max(self._now, now_ms)

    def _step(self, t: int) -> None:
        self._now = max(self._now, t)
        moved = self._process.step()
        bid0, ask0, counts = moved.bid0, moved.ask0, moved.counts
        sides, lots = moved.sides, moved.lots
        k = 0
        for market in self._market_list:
            i = market.index
            book = market.book
            book.move(bid0[i], ask0[i])
            if book.has_orders:
                self._trade_through(market, t)
            n = counts[i]
            for j in range(k, k + n):
                self._synthetic_trade(market, sides[j], lots[j], t)
            k += n
            book.refill(t)
            if book.dirty:
                self._touch(market)
        minute = t // MINUTE_MS
        if minute != self._minute:
            self._minute = minute
            for market in self._market_list:
                market.candles.roll(t)

    def _matcher(self, market: _Market, now: int) -> Matcher:
        self._ctx_market = market
        self._ctx_now = now
        return Matcher(market.book, now, self._on_fill)

    def _synthetic_trade(self, market: _Market, is_buy: bool, lots: int, t: int) -> None:
        self._seq += 1
        self._matcher(market, t).take(synthetic_taker(is_buy, lots), None)
        if self._stop_check:
            self._run_stops(t)

    def _trade_through(self, market: _Market, t: int) -> None:
        self._seq += 1
        self._matcher(market, t).trade_through()
        if self._stop_check:
            self._run_stops(t)

    def _touch(self, market: _Market) -> None:
        book = market.book
        book.u += 1
        book.seq = self._seq
        book.dirty = False
        market.top_cache = {}

    # ================================================================ fills

    def _on_fill(self, fill: Fill) -> None:
        market = self._ctx_market
        now = self._ctx_now
        self._record_trade(market, fill.taker.is_buy, fill.price, fill.lots, now)
        if fill.maker is not None:
            self._account_fill(market, fill.maker, fill, now)
        if fill.taker.account:
            self._account_fill(market, fill.taker, fill, now)

    def _record_trade(self, market: _Market, is_buy: bool, price: int, lots: int, now: int) -> None:
        self._trade_no += 1
        last = market.candles.last
        if price > last:
            direction = "PlusTick"
        elif price < last:
            direction = "MinusTick"
        elif market.tick_direction in ("PlusTick", "ZeroPlusTick"):
            direction = "ZeroPlusTick"
        else:
            direction = "ZeroMinusTick"
        market.tick_direction = direction
        market.candles.record(now, price, lots)
        trade = (self._trade_no, now, is_buy, price, lots, self._seq, direction)
        market.recent.append(trade)
        self._public.append((market, trade))
        if market.stop_accounts:
            self._stop_check.append(market)

    def _account_fill(self, market: _Market, resting: RestingOrder, fill: Fill, now: int) -> None:
        account = self._accounts[resting.account]
        order = account.orders[resting.order_id]
        spec = market.spec
        is_maker = resting is fill.maker
        price = fill.price * spec.tick_size
        qty = fill.lots * spec.qty_step
        value = price * qty
        rate = self._maker_fee if is_maker else self._taker_fee
        fee = fee_of(value, rate)
        pos = account.position(spec.symbol)
        was_long = pos.size > 0
        was_flat = pos.size == 0
        outcome = account.apply_fill(spec.symbol, order.is_buy, price, qty, fee)
        pos.seq = self._seq
        pos.updated_ms = now
        if was_flat or (pos.size != 0 and (pos.size > 0) != was_long):
            pos.created_ms = now
        order.cum_qty += qty
        order.cum_value += value
        order.cum_fee += fee
        order.closed_pnl += outcome.closed_pnl
        order.updated_ms = now
        self._emit_execution(account, market, order, fill, outcome)
        self._after_position_change(account, market, order, was_flat, was_long)
        if is_maker:
            order.status = "Filled" if order.cum_qty >= order.qty else "PartiallyFilled"
            if order.status == "Filled":
                order.resting = None
                account.closed(order)
            self._emit_update(account, market, order)
        self._enforce_reduce_only(account, market, now)

    def _after_position_change(
        self, account: Account, market: _Market, order: OrderState, was_flat: bool, was_long: bool
    ) -> None:
        pos = account.position(market.spec.symbol)
        closed_or_flipped = not was_flat and (pos.size == 0 or (pos.size > 0) != was_long)
        if closed_or_flipped:
            pos.take_profit = pos.stop_loss = None
        attached = order.take_profit or order.stop_loss
        if attached and not order.tpsl_applied and pos.size and (pos.size > 0) == order.is_buy:
            pos.take_profit = order.take_profit or pos.take_profit
            pos.stop_loss = order.stop_loss or pos.stop_loss
            order.tpsl_applied = True  # once, at the first fill
        self._sync_stops(account, market)

    def _sync_stops(self, account: Account, market: _Market) -> None:
        pos = account.position(market.spec.symbol)
        if pos.size and (pos.take_profit is not None or pos.stop_loss is not None):
            market.stop_accounts.add(account.key)
            self._stop_check.append(market)
        else:
            if not pos.size:
                pos.take_profit = pos.stop_loss = None
            market.stop_accounts.discard(account.key)

    def _emit_execution(
        self, account: Account, market: _Market, order: OrderState, fill: Fill, outcome: FillOutcome
    ) -> None:
        spec = market.spec
        is_maker = fill.maker is not None and fill.maker.order_id == order.order_id
        rate = self._maker_fee if is_maker else self._taker_fee
        self._exec_no += 1
        price = fill.price * spec.tick_size
        qty = fill.lots * spec.qty_step
        mark = self._mark_text(market)
        common: dict[str, Any] = {
            "symbol": spec.symbol,
            "order_type": order.order_type,
            "order_link_id": order.order_link_id,
            "side": order.side,
            "index_price": mark,
            "order_id": order.order_id,
            "stop_order_type": order.stop_order_type or "UNKNOWN",
            "leaves_qty": with_places(order.qty - order.cum_qty, spec.qty_places),
            "exec_time": str(self._ctx_now),
            "fee_currency": "USDT",
            "is_maker": is_maker,
            "exec_fee": fee_of(price * qty, rate),
            "fee_rate": format(rate, "f"),
            "exec_id": self._uuid(_EXEC_IDS, self._exec_no),
            "mark_price": mark,
            "exec_price": price,
            "order_qty": with_places(order.qty, spec.qty_places),
            "order_price": with_places(order.price, spec.price_places),
            "exec_value": price * qty,
            "exec_type": "Trade",
            "exec_qty": qty,
            "closed_size": format(with_places(outcome.closed_size, spec.qty_places), "f"),
            "seq": self._seq,
        }
        account.executions.append(wire.Execution(**common))
        event = wire.ExecutionEvent(
            **common, exec_pnl=usdt_text(outcome.closed_pnl), create_type=order.create_type
        )
        self._private.append((account.key, "execution", event))

    def _enforce_reduce_only(self, account: Account, market: _Market, now: int) -> None:
        """Shrink the account's reduce-only orders in this symbol to what they can reduce."""
        symbol = market.spec.symbol
        step = market.spec.qty_step
        for order in list(account.open_orders.values()):
            if order.symbol != symbol or not order.reduce_only or order.resting is None:
                continue
            cap = account.reducible(symbol, order.is_buy)
            lots = int(cap / step)
            if order.resting.leaves <= lots:
                continue
            order.resting.leaves = lots
            if order is self._active:
                continue  # the taker being matched: its final status is set after the match
            order.updated_ms = now
            if lots == 0:
                order.cancel_type = "CancelByReduceOnly"
                self._close(account, market, order, "Cancelled")
            else:
                order.qty = order.cum_qty + cap
                market.book.dirty = True
                self._private.append((account.key, "order", order_event(order, market.spec)))

    # ================================================================ stops

    def _run_stops(self, now: int) -> None:
        for _ in range(_MAX_STOP_ROUNDS):
            if not self._stop_check:
                return
            markets = list(dict.fromkeys(self._stop_check))
            self._stop_check.clear()
            for market in markets:
                for key in sorted(market.stop_accounts or ()):
                    self._check_stop(self._accounts[key], market, now)

    def _check_stop(self, account: Account, market: _Market, now: int) -> None:
        pos = account.position(market.spec.symbol)
        if not pos.size:
            self._sync_stops(account, market)
            return
        last = market.candles.last * market.spec.tick_size
        long = pos.size > 0
        kind = ""
        if pos.stop_loss is not None and (last <= pos.stop_loss if long else last >= pos.stop_loss):
            kind = "StopLoss"
        elif pos.take_profit is not None and (
            last >= pos.take_profit if long else last <= pos.take_profit
        ):
            kind = "TakeProfit"
        if not kind:
            return
        pos.take_profit = pos.stop_loss = None
        self._sync_stops(account, market)
        order = OrderState(
            order_id=self._next_order_id(),
            order_link_id="",
            account=account.key,
            symbol=market.spec.symbol,
            is_buy=not long,
            order_type="Market",
            time_in_force="IOC",
            price=self._protection_price(market, not long),
            qty=abs(pos.size),
            created_ms=now,
            updated_ms=now,
            last_price_on_created=last,
            reduce_only=True,
            close_on_trigger=True,
            create_type=f"CreateBy{kind}",
            stop_order_type=kind,
        )
        account.add_order(order)
        self._execute(account, market, order, now)

    # ================================================================ order execution

    def _execute(self, account: Account, market: _Market, order: OrderState, now: int) -> None:
        """Match a new (or re-priced) order on entry, then rest it or close it."""
        spec = market.spec
        lots = int((order.qty - order.cum_qty) / spec.qty_step)
        limit = int(order.price / spec.tick_size)
        matcher = self._matcher(market, now)
        tif = order.time_in_force
        if tif == "PostOnly" and matcher.crosses(order.is_buy, limit):
            order.reject_reason = "EC_PostOnlyWillTakeLiquidity"
            self._close(account, market, order, "Cancelled")
            return
        if tif == "FOK" and not matcher.fillable(order.is_buy, limit, lots):
            order.reject_reason = "EC_NoEnoughQtyToFill"
            self._close(account, market, order, "Cancelled")
            return
        resting = RestingOrder(
            order_id=order.order_id,
            account=account.key,
            is_buy=order.is_buy,
            price=limit,
            leaves=lots,
            reduce_only=order.reduce_only,
        )
        order.resting = resting
        self._seq += 1
        self._active = order
        try:
            matcher.take(resting, limit)
        finally:
            self._active = None
        order.updated_ms = now
        if resting.leaves > 0 and order.order_type == "Limit" and tif in _RESTING_TIFS:
            order.qty = order.cum_qty + resting.leaves * spec.qty_step
            order.status = "PartiallyFilled" if order.cum_qty else "New"
            market.book.add(resting, now)
            self._emit_update(account, market, order)
        else:
            order.resting = None
            self._finish_taker(account, market, order, shrunk=resting.leaves == 0)
        if market.book.dirty:
            self._touch(market)

    def _finish_taker(
        self, account: Account, market: _Market, order: OrderState, *, shrunk: bool
    ) -> None:
        """Close a taker that did not rest: Filled, or Cancelled with the remainder."""
        if order.cum_qty >= order.qty:
            self._close(account, market, order, "Filled")
            return
        order.reject_reason = "EC_NoError" if order.cum_qty else "EC_NoImmediateQtyToFill"
        if order.reduce_only and shrunk:
            order.cancel_type = "CancelByReduceOnly"
        self._close(account, market, order, "Cancelled")

    def _close(self, account: Account, market: _Market, order: OrderState, status: str) -> None:
        """Give `order` its final status (reasons already set), take it out of the book."""
        order.status = status
        order.updated_ms = max(order.updated_ms, self._now)
        if order.resting is not None:
            market.book.cancel(order.resting)
            order.resting = None
        account.closed(order)
        self._emit_update(account, market, order)

    def _emit_update(self, account: Account, market: _Market, order: OrderState) -> None:
        spec = market.spec
        mark = self._mark(market)
        pos = account.position(spec.symbol)
        self._private.append((account.key, "order", order_event(order, spec)))
        self._private.append((account.key, "position", position_event(pos, spec, mark)))
        self._private.append((account.key, "wallet", wallet_to_wire(account, self._mark_of)))

    # ================================================================ helpers

    def _market(self, symbol: str | None) -> _Market:
        market = self._markets.get(symbol or "")
        if market is None:
            raise _fail("params error: symbol invalid")
        return market

    def _account(self, key: str) -> Account:
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = Account(
                key=key,
                wallet=self._starting_balance,
                default_leverage=self._default_leverage,
            )
        return account

    def open_account(self, key: str, balance: Decimal | None = None) -> None:
        """Create the account of API key `key` (accounts are also created on first use)."""
        account = self._account(key)
        if balance is not None:
            account.wallet = balance

    def _uuid(self, kind: int, number: int) -> str:
        """A version-4-shaped UUID string, unique per (kind, number), derived from the seed."""
        base = self._id_salt + kind * _KIND_STRIDE + number * _GOLDEN
        hi, lo = _splitmix(base), _splitmix(base + _GOLDEN_HALF)
        return (
            f"{hi >> 32:08x}-{(hi >> 16) & 0xFFFF:04x}-4{hi & 0xFFF:03x}-"
            f"{0x8000 | (lo >> 48) & 0x3FFF:04x}-{lo & 0xFFFF_FFFF_FFFF:012x}"
        )

    def _next_order_id(self) -> str:
        self._order_no += 1
        return self._uuid(_ORDER_IDS, self._order_no)

    def _mark_ticks(self, market: _Market) -> int:
        return (market.book.bid0 + market.book.ask0) // 2

    def _mark(self, market: _Market) -> Decimal:
        return self._mark_ticks(market) * market.spec.tick_size

    def _mark_of(self, symbol: str) -> Decimal:
        return self._mark(self._markets[symbol])

    def _mark_text(self, market: _Market) -> str:
        return format(self._mark(market), "f")

    def _last(self, market: _Market) -> Decimal:
        return market.candles.last * market.spec.tick_size

    def _protection_price(self, market: _Market, is_buy: bool) -> Decimal:
        ratio = Decimal(market.spec.price_limit_x)
        mark = Decimal(self._mark_ticks(market))
        if is_buy:
            ticks = (mark * (1 + ratio)).to_integral_value(ROUND_FLOOR)
        else:
            ticks = max(Decimal(1), (mark * (1 - ratio)).to_integral_value(ROUND_CEILING))
        return ticks * market.spec.tick_size

    def _best_price(self, market: _Market, is_buy: bool) -> Decimal:
        """Best price a taker of this side would meet (for margin and notional estimates)."""
        bids, asks = market.book.top(1, self._now)
        levels = asks if is_buy else bids
        ticks = levels[0][0] if levels else self._mark_ticks(market)
        return ticks * market.spec.tick_size

    # ================================================================ market data

    def has_symbol(self, symbol: str) -> bool:
        """Whether the venue lists `symbol`."""
        return symbol in self._markets

    def tick_size(self, symbol: str) -> Decimal:
        """The symbol's tick size."""
        return self._market(symbol).spec.tick_size

    def instruments(self) -> list[wire.Instrument]:
        """Every symbol's instruments-info entry."""
        return [to_instrument(m.spec) for m in self._market_list]

    def tickers(self, symbol: str | None = None) -> list[wire.Ticker]:
        """The 24 h tickers of one symbol or all."""
        markets = [self._market(symbol)] if symbol is not None else self._market_list
        return [self._ticker(m) for m in markets]

    def _ticker(self, market: _Market) -> wire.Ticker:
        spec = market.spec
        tick = spec.tick_size
        stats = market.candles.stats(self._now)
        last = market.candles.last
        change = (
            (Decimal(last) / Decimal(stats.prev_price_24h) - 1).quantize(Decimal("0.000001"))
            if stats.prev_price_24h
            else Decimal("0.000000")
        )
        bids, asks = self.book_top(spec.symbol, 1)
        volume = stats.volume * spec.qty_step
        open_interest = with_places(volume * _OI_FRACTION, spec.qty_places)
        mark = self._mark(market)
        interval_ms = spec.funding_interval_min * MINUTE_MS
        return wire.Ticker(
            symbol=spec.symbol,
            last_price=last * tick,
            index_price=format(mark, "f"),
            mark_price=format(mark, "f"),
            prev_price24h=stats.prev_price_24h * tick,
            price24h_pcnt=change,
            high_price24h=stats.high * tick,
            low_price24h=stats.low * tick,
            prev_price1h=format(stats.prev_price_1h * tick, "f"),
            open_interest=format(open_interest, "f"),
            open_interest_value=format(with_places(open_interest * mark, 2), "f"),
            turnover24h=Decimal(f"{stats.turnover:.4f}"),
            volume24h=volume,
            funding_rate=_FUNDING_RATE,
            next_funding_time=str((self._now // interval_ms + 1) * interval_ms),
            delivery_time="0",
            bid1_price=format(bids[0][0], "f") if bids else "",
            bid1_size=format(bids[0][1], "f") if bids else "",
            ask1_price=format(asks[0][0], "f") if asks else "",
            ask1_size=format(asks[0][1], "f") if asks else "",
        )

    def book_top(self, symbol: str, depth: int) -> tuple[list[PublicLevel], list[PublicLevel]]:
        """The public book (synthetic + account orders), aggregated per price.

        Bids best (highest) first, asks best (lowest) first; at most `depth` levels a side.
        """
        market = self._market(symbol)
        cache = market.top_cache
        assert cache is not None
        cached = cache.get(depth)
        if cached is not None:
            return cached
        spec = market.spec
        market.book.purge()
        raw_bids, raw_asks = market.book.top(depth, self._now)
        tick, step = spec.tick_size, spec.qty_step
        result = (
            [(p * tick, n * step) for p, n in raw_bids],
            [(p * tick, n * step) for p, n in raw_asks],
        )
        cache[depth] = result
        return result

    def orderbook(self, symbol: str, limit: int) -> wire.OrderBookResult:
        """The /v5/market/orderbook snapshot (limit capped to 1 .. 1000)."""
        market = self._market(symbol)
        bids, asks = self.book_top(symbol, max(1, min(limit, 1000)))
        book = market.book
        return wire.OrderBookResult(
            s=symbol, b=list(bids), a=list(asks), ts=self._now, u=book.u, seq=book.seq, cts=book.cts
        )

    def book_ids(self, symbol: str) -> tuple[int, int, int]:
        """(u, seq, cts) of the symbol's book: u grows by one per book change."""
        book = self._market(symbol).book
        return book.u, book.seq, book.cts

    def recent_trades(self, symbol: str, limit: int) -> list[wire.RecentTrade]:
        """The latest public trades of `symbol`, newest first."""
        market = self._market(symbol)
        spec = market.spec
        trades = list(market.recent)[-max(1, limit) :][::-1]
        return [
            wire.RecentTrade(
                exec_id=self._uuid(_TRADE_IDS, no),
                symbol=spec.symbol,
                price=price * spec.tick_size,
                size=lots * spec.qty_step,
                side="Buy" if is_buy else "Sell",
                time=str(t),
                is_block_trade=False,
                is_rpi_trade=False,
                seq=str(seq),
            )
            for no, t, is_buy, price, lots, seq, _ in trades
        ]

    def take_public_trades(self) -> list[wire.PublicTradeData]:
        """Every public trade since the last call (synthetic and the accounts'), in match order."""
        out: list[wire.PublicTradeData] = []
        while self._public:
            market, (no, t, is_buy, price, lots, seq, direction) = self._public.popleft()
            spec = market.spec
            out.append(
                wire.PublicTradeData(
                    T=t,
                    s=spec.symbol,
                    S="Buy" if is_buy else "Sell",
                    v=lots * spec.qty_step,
                    p=price * spec.tick_size,
                    L=direction,
                    i=self._uuid(_TRADE_IDS, no),
                    BT=False,
                    RPI=False,
                    seq=seq,
                )
            )
        return out

    def klines(self, symbol: str, interval: str, limit: int, now_ms: int) -> list[list[str]]:
        """Candles [start, open, high, low, close, volume, turnover] as strings, newest first."""
        if interval not in KLINE_INTERVALS:
            raise _fail("params error: interval invalid")
        self.advance(now_ms)
        market = self._market(symbol)
        spec = market.spec
        tick, step = spec.tick_size, spec.qty_step
        rows = market.candles.klines(interval, max(1, min(limit, 1000)), self._now)
        return [
            [
                str(start),
                format(o * tick, "f"),
                format(h * tick, "f"),
                format(lo * tick, "f"),
                format(c * tick, "f"),
                format(v * step, "f"),
                f"{turnover:.4f}",
            ]
            for start, o, h, lo, c, v, turnover in rows
        ]

    # ================================================================ trading

    def create_order(
        self, account: str, req: wire.OrderCreateRequest, now_ms: int
    ) -> wire.OrderIds:
        """Place an order (POST /v5/order/create). Returns the ids; the outcome is in events."""
        self.advance(now_ms)
        market = self._market(req.symbol)
        self._check_category(req.category)
        acct = self._account(account)
        order = self._new_order(acct, market, req)
        self._check_margin(acct, market, order)
        acct.add_order(order)
        self._execute(acct, market, order, self._now)
        self._run_stops(self._now)
        return wire.OrderIds(order_id=order.order_id, order_link_id=order.order_link_id)

    @staticmethod
    def _check_category(category: str) -> None:
        if category != "linear":
            raise _fail("params error: category invalid (the simulator serves linear only)")

    def _link_id(self, account: Account, link_id: str | None) -> str:
        if not link_id:
            return ""
        if not _LINK_ID.fullmatch(link_id):
            raise _fail("params error: orderLinkId invalid (max 36 chars of [0-9A-Za-z_-])")
        if link_id in account.link_ids:
            raise VenueError(110072, "OrderLinkedID is duplicate")
        return link_id

    def _new_order(
        self, account: Account, market: _Market, req: wire.OrderCreateRequest
    ) -> OrderState:
        spec = market.spec
        is_buy = _side(req.side)
        tif = _time_in_force(req.order_type, req.time_in_force)
        if req.position_idx not in (None, 0):
            raise _fail("position idx not match position mode")
        link_id = self._link_id(account, req.order_link_id)
        reduce_only = bool(req.reduce_only) or bool(req.close_on_trigger)
        qty = self._order_qty(account, market, req, is_buy, reduce_only)
        price = self._order_price(market, req, is_buy)
        take_profit, stop_loss = self._attached_stops(market, req, is_buy, reduce_only)
        if not reduce_only:
            estimate = price if req.order_type == "Limit" else self._best_price(market, is_buy)
            if qty * estimate < spec.min_notional:
                raise VenueError(
                    110094, f"Order does not meet minimum order value {spec.min_notional}USDT"
                )
        return OrderState(
            order_id=self._next_order_id(),
            order_link_id=link_id,
            account=account.key,
            symbol=spec.symbol,
            is_buy=is_buy,
            order_type=req.order_type,
            time_in_force=tif,
            price=price,
            qty=qty,
            created_ms=self._now,
            updated_ms=self._now,
            last_price_on_created=self._last(market),
            reduce_only=reduce_only,
            close_on_trigger=bool(req.close_on_trigger),
            take_profit=take_profit,
            stop_loss=stop_loss,
        )

    def _order_qty(
        self,
        account: Account,
        market: _Market,
        req: wire.OrderCreateRequest,
        is_buy: bool,
        reduce_only: bool,
    ) -> Decimal:
        spec = market.spec
        qty = _decimal(req.qty, "qty")
        maximum = spec.max_mkt_qty if req.order_type == "Market" else spec.max_qty
        reducible = account.reducible(spec.symbol, is_buy) if reduce_only else ZERO
        if qty == 0 and reduce_only and req.close_on_trigger:
            qty = min(reducible, maximum)  # close the whole position
            if qty == 0:
                raise VenueError(110017, "orderQty will be truncated to zero.")
            return qty
        _check_qty(spec, qty, maximum)
        if reduce_only:
            if reducible == 0:
                raise VenueError(110017, "orderQty will be truncated to zero.")
            qty = min(qty, reducible)
        return qty

    def _order_price(self, market: _Market, req: wire.OrderCreateRequest, is_buy: bool) -> Decimal:
        if req.order_type == "Market":
            return self._protection_price(market, is_buy)
        price = _decimal(req.price, "price")
        self._check_limit_price(market, price, is_buy)
        return price

    def _check_limit_price(self, market: _Market, price: Decimal, is_buy: bool) -> None:
        spec = market.spec
        _check_price_step(spec, price)
        band = Decimal(spec.price_limit_y)
        mark = self._mark(market)
        if is_buy and price > mark * (1 + band):
            raise VenueError(
                110003, f"Order price is out of permissible range: buy above {mark * (1 + band)}"
            )
        if not is_buy and price < mark * (1 - band):
            raise VenueError(
                110003, f"Order price is out of permissible range: sell below {mark * (1 - band)}"
            )

    def _attached_stops(
        self, market: _Market, req: wire.OrderCreateRequest, is_buy: bool, reduce_only: bool
    ) -> tuple[Decimal | None, Decimal | None]:
        values: list[Decimal | None] = []
        for text, what in ((req.take_profit, "TakeProfit"), (req.stop_loss, "StopLoss")):
            value = None if text in (None, "", "0") else _decimal(text, what)
            if value is not None:
                if reduce_only:
                    raise _fail("TP/SL cannot be set when reduceOnly is true")
                _check_price_step(market.spec, value, what)
            values.append(value)
        take_profit, stop_loss = values
        base = self._last(market)
        self._check_stop_sides(take_profit, stop_loss, is_buy, base)
        return take_profit, stop_loss

    @staticmethod
    def _check_stop_sides(
        take_profit: Decimal | None, stop_loss: Decimal | None, long: bool, base: Decimal
    ) -> None:
        side = "Buy" if long else "Sell"
        if stop_loss is not None and (stop_loss >= base if long else stop_loss <= base):
            word = "lower" if long else "higher"
            raise _fail(
                f"StopLoss:{stop_loss} set for {side} position should {word} than "
                f"base_price:{base}??LastPrice"
            )
        if take_profit is not None and (take_profit <= base if long else take_profit >= base):
            word = "higher" if long else "lower"
            raise _fail(
                f"TakeProfit:{take_profit} set for {side} position should {word} than "
                f"base_price:{base}??LastPrice"
            )

    def _check_margin(self, account: Account, market: _Market, order: OrderState) -> None:
        if order.reduce_only:
            return
        estimate = order
        if order.order_type == "Market":
            estimate = replace(order, price=self._best_price(market, order.is_buy))
        if account.available((estimate,)) < 0:
            raise VenueError(110007, "ab not enough for new order")

    def _open_order(
        self, account: Account, symbol: str, order_id: str | None, link_id: str | None, verb: str
    ) -> OrderState:
        if not order_id and not link_id:
            raise _fail("params error: orderId or orderLinkId is required")
        order = account.find(order_id, link_id)
        if order is None or not order.is_open or order.symbol != symbol:
            raise VenueError(110001, f"order not exists or too late to {verb}")
        return order

    def amend_order(self, account: str, req: wire.OrderAmendRequest, now_ms: int) -> wire.OrderIds:
        """Change an open order's qty and/or price (POST /v5/order/amend)."""
        self.advance(now_ms)
        market = self._market(req.symbol)
        self._check_category(req.category)
        acct = self._account(account)
        order = self._open_order(
            acct, market.spec.symbol, req.order_id, req.order_link_id, "replace"
        )
        qty, price = self._amended_values(acct, market, order, req)
        self._apply_amend(acct, market, order, qty, price)
        self._run_stops(self._now)
        return wire.OrderIds(order_id=order.order_id, order_link_id=order.order_link_id)

    def _amended_values(
        self, account: Account, market: _Market, order: OrderState, req: wire.OrderAmendRequest
    ) -> tuple[Decimal, Decimal]:
        spec = market.spec
        qty = order.qty if req.qty in (None, "") else _decimal(req.qty, "qty")
        price = order.price if req.price in (None, "") else _decimal(req.price, "price")
        if qty != order.qty:
            _check_qty(spec, qty, spec.max_qty)
        if price != order.price:
            self._check_limit_price(market, price, order.is_buy)
        if qty == order.qty and price == order.price:
            raise _fail(
                "The order remains unchanged as the parameters entered match the existing ones."
            )
        if qty <= order.cum_qty:
            raise VenueError(
                110064,
                "The modified contract quantity cannot be less than or equal to the filled "
                "quantity.",
            )
        if order.reduce_only:
            qty = min(qty, order.cum_qty + account.reducible(spec.symbol, order.is_buy))
            if qty <= order.cum_qty:
                raise VenueError(110017, "orderQty will be truncated to zero.")
        elif (qty - order.cum_qty) * price < spec.min_notional:
            raise VenueError(
                110094, f"Order does not meet minimum order value {spec.min_notional}USDT"
            )
        if not order.reduce_only:
            changed = replace(order, qty=qty, price=price, order_id="amend")
            if account.available((changed,), skip=order.order_id) < 0:
                raise VenueError(110007, "ab not enough for new order")
        return qty, price

    def _apply_amend(
        self, account: Account, market: _Market, order: OrderState, qty: Decimal, price: Decimal
    ) -> None:
        spec = market.spec
        resting = order.resting
        assert resting is not None
        keeps_priority = price == order.price and qty <= order.qty
        order.qty = qty
        order.price = price
        order.updated_ms = self._now
        if keeps_priority:
            resting.leaves = int((qty - order.cum_qty) / spec.qty_step)
            market.book.dirty = True
            self._emit_update(account, market, order)
        else:
            market.book.cancel(resting)
            market.book.purge()
            order.resting = None
            self._execute(account, market, order, self._now)
        if market.book.dirty:
            self._touch(market)

    def cancel_order(
        self, account: str, req: wire.OrderCancelRequest, now_ms: int
    ) -> wire.OrderIds:
        """Cancel an open order (POST /v5/order/cancel)."""
        self.advance(now_ms)
        market = self._market(req.symbol)
        self._check_category(req.category)
        acct = self._account(account)
        order = self._open_order(
            acct, market.spec.symbol, req.order_id, req.order_link_id, "cancel"
        )
        self._cancel(acct, market, order)
        return wire.OrderIds(order_id=order.order_id, order_link_id=order.order_link_id)

    def _cancel(self, account: Account, market: _Market, order: OrderState) -> None:
        order.updated_ms = self._now
        order.cancel_type = "CancelByUser"
        self._close(account, market, order, "Cancelled")
        market.book.purge()
        if market.book.dirty:
            self._touch(market)

    def cancel_all(
        self, account: str, req: wire.CancelAllRequest, now_ms: int
    ) -> wire.CancelAllResult:
        """Cancel every open order of a symbol, base coin or settle coin (POST cancel-all)."""
        self.advance(now_ms)
        self._check_category(req.category)
        if req.symbol:
            symbols = {self._market(req.symbol).spec.symbol}
        elif req.base_coin:
            symbols = {
                m.spec.symbol for m in self._market_list if m.spec.base_coin == req.base_coin
            }
        elif req.settle_coin:
            symbols = set(self._markets) if req.settle_coin == "USDT" else set()
        else:
            raise _fail("params error: symbol, baseCoin or settleCoin is required")
        acct = self._account(account)
        cancelled: list[wire.OrderIds] = []
        for order in list(acct.open_orders.values()):
            if order.symbol in symbols:
                self._cancel(acct, self._markets[order.symbol], order)
                cancelled.append(
                    wire.OrderIds(order_id=order.order_id, order_link_id=order.order_link_id)
                )
        return wire.CancelAllResult(list=cancelled, success="1")

    def set_leverage(self, account: str, req: wire.SetLeverageRequest, now_ms: int) -> None:
        """Set a symbol's leverage (POST /v5/position/set-leverage); result is `{}`."""
        self.advance(now_ms)
        market = self._market(req.symbol)
        self._check_category(req.category)
        buy = _decimal(req.buy_leverage, "buyLeverage")
        sell = _decimal(req.sell_leverage, "sellLeverage")
        if buy != sell:
            raise _fail("buyLeverage must equal sellLeverage in one-way mode")
        if buy < 1 or buy > market.spec.max_leverage or buy % Decimal("0.01"):
            raise _fail(f"leverage invalid: must be 1 .. {market.spec.max_leverage}, step 0.01")
        acct = self._account(account)
        pos = acct.position(market.spec.symbol)
        if buy == pos.leverage:
            raise VenueError(110043, "Set leverage not modified")
        before = pos.leverage
        pos.leverage = buy
        if buy < before and acct.available() < 0:
            pos.leverage = before
            raise VenueError(110044, "Available margin is insufficient")
        pos.updated_ms = self._now
        self._emit_position_and_wallet(acct, market)

    def _emit_position_and_wallet(self, account: Account, market: _Market) -> None:
        pos = account.position(market.spec.symbol)
        event = position_event(pos, market.spec, self._mark(market))
        self._private.append((account.key, "position", event))
        self._private.append((account.key, "wallet", wallet_to_wire(account, self._mark_of)))

    def trading_stop(self, account: str, req: wire.TradingStopRequest, now_ms: int) -> None:
        """Set or clear the position's venue TP / SL (POST /v5/position/trading-stop)."""
        self.advance(now_ms)
        market = self._market(req.symbol)
        self._check_category(req.category)
        if req.position_idx != 0:
            raise _fail("position idx not match position mode")
        if req.tpsl_mode != "Full":
            raise _fail("tpslMode invalid: the simulator supports Full only")
        acct = self._account(account)
        pos = acct.position(market.spec.symbol)
        if not pos.size:
            raise _fail("can not set tp/sl/ts for zero position")
        if req.take_profit is None and req.stop_loss is None:
            raise _fail("params error: takeProfit or stopLoss is required")
        take_profit = self._stop_value(market, req.take_profit, pos.take_profit, "TakeProfit")
        stop_loss = self._stop_value(market, req.stop_loss, pos.stop_loss, "StopLoss")
        self._check_stop_sides(
            take_profit if take_profit != pos.take_profit else None,
            stop_loss if stop_loss != pos.stop_loss else None,
            pos.size > 0,
            self._last(market),
        )
        if take_profit == pos.take_profit and stop_loss == pos.stop_loss:
            raise VenueError(34040, "not modified")
        pos.take_profit = take_profit
        pos.stop_loss = stop_loss
        pos.updated_ms = self._now
        self._sync_stops(acct, market)
        self._emit_position_and_wallet(acct, market)
        self._run_stops(self._now)

    @staticmethod
    def _stop_value(
        market: _Market, text: str | None, current: Decimal | None, what: str
    ) -> Decimal | None:
        if text is None or text == "":
            return current
        value = _decimal(text, what)
        if value == 0:
            return None
        _check_price_step(market.spec, value, what)
        return value

    # ================================================================ queries

    def orders(
        self,
        account: str,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
        open_only: int = 0,
    ) -> list[wire.Order]:
        """/v5/order/realtime: open orders (open_only=0) or the 500 most recent closed (1, 2).

        With an order id or link id: that one order, open or closed. Newest first.
        """
        if symbol is not None:
            self._market(symbol)
        acct = self._accounts.get(account)
        if acct is None:
            return []
        if order_id or order_link_id:
            found = acct.find(order_id, order_link_id)
            chosen = [found] if found is not None else []
        elif open_only == 0:
            chosen = list(acct.open_orders.values())
        elif open_only in (1, 2):
            chosen = list(acct.recent_closed)
        else:
            raise _fail("params error: openOnly invalid")
        return self._render_orders(chosen, symbol)

    def _render_orders(self, orders: Iterable[OrderState], symbol: str | None) -> list[wire.Order]:
        chosen = [o for o in orders if symbol is None or o.symbol == symbol]
        chosen.reverse()
        chosen.sort(key=lambda o: o.created_ms, reverse=True)
        return [order_to_wire(o, self._markets[o.symbol].spec) for o in chosen]

    def order_history(
        self,
        account: str,
        *,
        symbol: str | None = None,
        order_id: str | None = None,
        order_link_id: str | None = None,
    ) -> list[wire.Order]:
        """/v5/order/history: orders of the last 7 days (unfilled cancels: 24 h), newest first."""
        if symbol is not None:
            self._market(symbol)
        acct = self._accounts.get(account)
        if acct is None:
            return []
        if order_id or order_link_id:
            found = acct.find(order_id, order_link_id)
            return self._render_orders([found] if found is not None else [], symbol)
        return self._render_orders((o for o in acct.orders.values() if self._retained(o)), symbol)

    def _retained(self, order: OrderState) -> bool:
        age = self._now - order.updated_ms
        if order.is_open or order.cum_qty:
            return order.is_open or age <= 7 * _DAY_MS
        return age <= _DAY_MS

    def executions(
        self, account: str, *, symbol: str | None = None, start_ms: int | None = None
    ) -> list[wire.Execution]:
        """/v5/execution/list: the account's fills, newest first."""
        if symbol is not None:
            self._market(symbol)
        acct = self._accounts.get(account)
        if acct is None:
            return []
        return [
            e
            for e in reversed(acct.executions)
            if (symbol is None or e.symbol == symbol)
            and (start_ms is None or int(e.exec_time) >= start_ms)
        ]

    def positions(self, account: str, symbol: str | None = None) -> list[wire.PositionInfo]:
        """/v5/position/list: with a symbol, that position even when flat; else the open ones."""
        acct = self._account(account)
        if symbol is not None:
            market = self._market(symbol)
            pos = acct.positions.get(symbol) or Position(
                symbol=symbol, leverage=acct.default_leverage
            )
            return [position_info(pos, market.spec, self._mark(market))]
        return [
            position_info(p, self._markets[p.symbol].spec, self._mark_of(p.symbol))
            for p in sorted(acct.positions.values(), key=lambda p: p.symbol)
            if p.size
        ]

    def wallet(self, account: str) -> wire.Wallet:
        """/v5/account/wallet-balance (accountType UNIFIED, coin USDT)."""
        return wallet_to_wire(self._account(account), self._mark_of)

    def take_private_events(self) -> list[PrivateEvent]:
        """(account, topic, payload) since the last call, in the order they happened.

        topic is "order" (wire.OrderEvent), "execution" (wire.ExecutionEvent), "position"
        (wire.PositionEvent) or "wallet" (wire.Wallet).
        """
        out = list(self._private)
        self._private.clear()
        return out
