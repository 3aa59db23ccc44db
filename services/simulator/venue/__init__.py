"""The simulator's venue core: pure state and functions, no I/O, no clock, no asyncio.

`Venue` owns the market (price process or recorded ladders, books, candles), the accounts
(keyed by API key) and the two event streams (public trades, private events). It takes
Bybit request Structs already decoded by the HTTP layer, returns `shared.bybit.wire`
Structs, and raises `VenueError(code, msg)` for what Bybit answers with a non-zero retCode.
It does no I/O and reads no clock: every call that depends on time takes `now_ms`, and the
market is advanced to it first (in fixed steps of `step_ms`, or by the recorded events), so
a seed (or a recording) plus a sequence of calls gives the same result every time.

Bybit semantics kept: create / amend / cancel return only ids (the acknowledgement); the
outcome arrives as private events, in the order it happened:

* a new order: one `execution` per fill it took on entry, then one `order` with its status
  after the entry match (New, PartiallyFilled, Filled or Cancelled), then `position` and
  `wallet`; amend and cancel: `order`, `position`, `wallet` (a position event on every order
  create / amend / cancel, even with no position change);
* a resting order filled later (by the synthetic flow or a recorded trade, by a taker of any
  account, or because the market moved through it): `execution`, `order`, `position`,
  `wallet` per fill.

Simplifications versus Bybit (beyond those of `accounts`):

* one-way mode (positionIdx 0) and cross margin only; no trailing stop, no partial or limit
  TP/SL (tpslMode Full, Market, triggered by the last price only), no SMP: an account's
  orders can trade with each other; batch orders are their single requests in turn
  (`batch`); what a request asks that the venue cannot do is refused with 10001, never
  dropped (`request_fields` lists every request field's treatment);
* conditional orders (`conditional`): triggerBy IndexPrice watches the mark (the index is
  the mark here); triggers are checked after every match and market step, not at each
  price inside one match; a triggered order that fails its margin check ends Cancelled
  (rejectReason EC_Others), one whose reduce-only position is gone ends Cancelled
  (CancelByReduceOnly); Triggered is an order event alone (no position / wallet event);
  createType is CreateByStopOrder throughout;
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
* the mark and index price are the mid of the market's best bid and ask (synthetic or
  recorded); funding rate is a constant 0.0001 and is
  never charged; open interest is synthetic;
* order history keeps everything in memory (Bybit's retention rules applied when reading);
  the public-trade and private-event buffers keep the newest `max_buffered_events` entries
  if nobody takes them;
* klines only reach back as far as the candle buffer (`history_minutes`); prices in wire
  Decimal fields are exact multiples of the tick, so encode them with
  `decimal_format=lambda d: format(d, "f")` to avoid exponent notation for tiny ticks.

Module map: `state` (config, markets, accounts, ids, marks), `validation` (request checks ->
`VenueError`), `clearing` (matching an order, booking fills, closing orders, firing stops),
`stops` (TP/SL decisions), `conditional` (trigger orders), `request_fields` (the request
types, every field's treatment), `reports` (the private events), `flow` (time: synthetic steps or
recorded events, and the order one recorded event is processed in), `recorded` (raw
recorded Bybit public frames as those events), `trading` (the trading requests),
`market_data`, `queries`, and `facade` (`Venue`, which only delegates). Below the package:
`book` (one symbol's book over a pluggable `depth`: synthetic, or the recorded `ladder`),
`matching`, `queue_model` (queue position in a recorded market), `market_events`.
"""

from services.simulator.market_events import (
    BookTop,
    DepthUpdate,
    MarketEvent,
    RecordedEvent,
    RecordedTrade,
    TradePrint,
)
from services.simulator.venue.facade import Venue
from services.simulator.venue.recorded import (
    Grid,
    RecordedFrames,
    RecordedMarket,
    market_events,
    recorded_events,
)
from services.simulator.venue.state import (
    ExchangeConfig,
    PrivateEvent,
    PublicLevel,
    VenueError,
    fee_of,
)

__all__ = [
    "BookTop",
    "DepthUpdate",
    "ExchangeConfig",
    "Grid",
    "MarketEvent",
    "PrivateEvent",
    "PublicLevel",
    "RecordedEvent",
    "RecordedFrames",
    "RecordedMarket",
    "RecordedTrade",
    "TradePrint",
    "Venue",
    "VenueError",
    "fee_of",
    "market_events",
    "recorded_events",
]
