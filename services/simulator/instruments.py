"""The simulator's default universe: USDT linear perpetuals with Bybit-like filters.

Thirty-three real symbols (tick sizes, quantity steps and limits as Bybit lists them) and five
made-up small caps. Start prices span 0.0001 .. 100000, 24 h turnovers 1e5 .. 5e9 USDT and
annualised volatilities 0.4 .. 3.0, so ranking by turnover x |24 h change| has a real choice
to make. `InstrumentSpec` is the frozen description of one symbol; `to_instrument` renders it
as Bybit's instruments-info entry; `select` picks a subset by name.
"""

from decimal import Decimal
from typing import Final

import msgspec

from shared.bybit import wire

_MAX_PRICE_TICKS: Final = 19_999_998  # Bybit: maxPrice = tickSize x 19999998


class InstrumentSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol of the universe: venue filters plus the parameters of its synthetic market."""

    symbol: str
    base_coin: str
    start_price: Decimal  # a multiple of tick_size; the last price when the simulator starts
    tick_size: Decimal  # its exponent is the price scale ("0.010" -> 3 decimals)
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal  # Limit and PostOnly orders
    max_mkt_qty: Decimal  # Market orders
    min_notional: Decimal = Decimal(5)
    turnover_24h: float  # USDT per 24 h, the synthetic market's typical activity
    volatility: float  # annualised sigma of log returns in quiet spells
    spread_bps: float = 0.0  # typical synthetic spread (0 = one tick)
    max_leverage: Decimal
    symbol_id: int
    launch_time_ms: int
    funding_interval_min: int = 480
    funding_cap: str = "0.005"
    price_limit_x: str = "0.05"  # market-order protection band, as a fraction of the mark
    price_limit_y: str = "0.1"  # limit-order price band, as a fraction of the mark

    @property
    def price_places(self) -> int:
        """Decimals of a price (Bybit's priceScale)."""
        return places_of(self.tick_size)

    @property
    def qty_places(self) -> int:
        """Decimals of a quantity."""
        return places_of(self.qty_step)


def places_of(value: Decimal) -> int:
    """Number of decimals in `value` as written ("0.10" -> 2, "100" -> 0)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite decimal: {value}")
    return max(0, -exponent)


# Venue filters. symbol, start price, tick size, qty step (= min qty, as on Bybit for these
# symbols), max order qty, max market order qty.
_FILTERS: Final = """
BTCUSDT       97250.00   0.10       0.001  1190.000   119.000
ETHUSDT       3385.50    0.01       0.01   10000.00   2000.00
SOLUSDT       182.450    0.010      0.1    96000.0    12000.0
XRPUSDT       2.3120     0.0001     0.1    7500000.0  1500000.0
DOGEUSDT      0.32150    0.00001    1      43678900   5991100
SUIUSDT       4.1230     0.00010    10     330000     66000
1000PEPEUSDT  0.0185420  0.0000010  100    110000000  42000000
ADAUSDT       0.9512     0.0001     1      1500000    590000
BNBUSDT       692.40     0.10       0.01   940.00     370.00
WIFUSDT       2.10120    0.00001    1      1500000    300000
AVAXUSDT      38.215     0.001      0.1    110000.0   22000.0
LINKUSDT      22.481     0.001      0.1    41000.0    15000.0
AAVEUSDT      331.25     0.01       0.01   1200.00    460.00
LTCUSDT       104.37     0.01       0.1    8800.0     3000.0
NEARUSDT      5.1234     0.0001     0.1    469060.0   66470.0
ARBUSDT       0.78310    0.00001    0.1    21500000.0 4300000.0
DOTUSDT       7.2145     0.0001     0.1    198890.0   32140.0
BCHUSDT       452.30     0.10       0.01   6500.00    1300.00
APTUSDT       9.5123     0.0001     0.01   800000.00  160000.00
UNIUSDT       13.512     0.001      0.1    32000.0    11000.0
TRXUSDT       0.25013    0.00001    1      1500000    460000
OPUSDT        1.91230    0.00001    0.1    1080000.0  540000.0
HBARUSDT      0.28123    0.00001    1      7416400    1064600
SHIB1000USDT  0.021536   0.000001   10     134076000  15555000
TIAUSDT       5.5123     0.0001     0.1    1000000.0  200000.0
SEIUSDT       0.45123    0.00001    1      5000000    1000000
ETCUSDT       27.143     0.001      0.1    10000.0    3300.0
XLMUSDT       0.42123    0.00001    1      730000     260000
INJUSDT       24.1230    0.0010     0.1    60140.0    6020.0
FILUSDT       5.3121     0.0001     0.1    295750.0   60730.0
ATOMUSDT      6.8123     0.0001     0.1    139180.0   22100.0
1000000SATSUSDT 0.0123450 0.0000010 1     4100000    820000
YFIUSDT       6512       1          0.0001 20.0000    4.0000
GLIMMERUSDT   0.004215   0.000001   10     50000000   10000000
ZORPUSDT      1.3377     0.0001     0.1    2000000.0  400000.0
WOBBLEUSDT    0.09134    0.00001    1      5000000    1000000
KRAKLEUSDT    13.370     0.001      0.01   100000.00  20000.00
MOONPIEUSDT   0.008765   0.000001   100    90000000   18000000
"""

# The synthetic market and the rest. symbol, 24 h turnover (USDT), annualised volatility, max
# leverage, symbol id, launch time (ms), typical spread (bps; 0 = one tick),
# priceLimitRatioX/Y, funding interval (min), funding cap.
_MARKET: Final = """
BTCUSDT       5.0e9 0.45 100  5    1584230400000 0  0.01/0.02 480 0.005
ETHUSDT       2.6e9 0.60 100  6    1615766400000 0  0.02/0.04 480 0.005
SOLUSDT       1.3e9 0.80 100  38   1634256000000 0  0.05/0.1  480 0.005
XRPUSDT       9.1e8 0.75 100  8    1620898440000 0  0.05/0.1  480 0.005
DOGEUSDT      6.5e8 0.90 75   33   1622630640000 0  0.05/0.1  480 0.0058
SUIUSDT       4.2e8 1.10 50   309  1683029724000 1  0.05/0.1  480 0.01
1000PEPEUSDT  3.5e8 1.30 50   310  1683108271000 1  0.05/0.1  480 0.01
ADAUSDT       3.2e8 0.85 75   27   1610668800000 0  0.05/0.1  480 0.0058
BNBUSDT       2.1e8 0.45 50   36   1624951080000 0  0.05/0.1  480 0.01
WIFUSDT       1.8e8 1.40 50   418  1704965504000 2  0.05/0.1  240 0.01
AVAXUSDT      1.6e8 0.95 50   52   1631664000000 0  0.02/0.1  480 0.01
LINKUSDT      1.5e8 0.90 50   26   1514764800000 0  0.05/0.1  480 0.01
AAVEUSDT      1.2e8 0.95 75   32   1620897660000 0  0.05/0.1  480 0.0058
LTCUSDT       1.1e8 0.70 50   24   1514764800000 0  0.05/0.1  480 0.01
NEARUSDT      1.0e8 1.00 50   68   1633910400000 0  0.05/0.1  480 0.01
ARBUSDT       9.0e7 1.00 50   305  1679563660000 1  0.05/0.1  480 0.01
DOTUSDT       8.0e7 0.85 50   28   1616060040000 0  0.05/0.1  480 0.01
BCHUSDT       7.5e7 0.75 50   23   1514764800000 0  0.05/0.1  480 0.01
APTUSDT       7.0e7 1.00 50   252  1666107272000 0  0.05/0.1  480 0.01
UNIUSDT       6.5e7 0.95 50   29   1638230400000 0  0.05/0.1  480 0.01
TRXUSDT       6.0e7 0.40 75   40   1628726400000 0  0.05/0.1  480 0.0058
OPUSDT        5.5e7 1.05 50   212  1654059063000 1  0.05/0.1  480 0.01
HBARUSDT      5.4e7 1.00 50   78   1635120000000 1  0.05/0.1  480 0.01
SHIB1000USDT  5.0e7 0.95 50   57   1634688000000 1  0.05/0.1  480 0.01
TIAUSDT       4.5e7 1.20 50   382  1698768749000 1  0.05/0.1  240 0.01
SEIUSDT       4.0e7 1.15 50   349  1692156527000 2  0.1/0.2   480 0.01
ETCUSDT       3.9e7 0.80 50   35   1624950240000 0  0.05/0.1  480 0.01
XLMUSDT       3.8e7 0.90 50   39   1628726400000 1  0.05/0.1  480 0.01
INJUSDT       3.5e7 1.10 50   224  1660694400000 1  0.05/0.1  480 0.01
FILUSDT       3.0e7 0.95 25   37   1624950900000 1  0.05/0.1  480 0.02
ATOMUSDT      2.5e7 0.85 75   51   1633910400000 1  0.05/0.1  480 0.0063
1000000SATSUSDT 1.5e7 1.60 12.5 389  1700127695000 5  0.15/0.3  240 0.04
YFIUSDT       8.0e6 0.85 25   58   1638930769000 3  0.1/0.2   480 0.02
GLIMMERUSDT   2.0e6 2.50 25   9001 1767225600000 12 0.15/0.3  240 0.025
ZORPUSDT      9.0e5 2.80 20   9002 1768435200000 15 0.15/0.3  240 0.025
WOBBLEUSDT    6.0e5 3.00 20   9003 1769644800000 20 0.15/0.3  240 0.025
KRAKLEUSDT    2.5e5 2.20 12.5 9004 1770854400000 18 0.15/0.3  240 0.04
MOONPIEUSDT   1.0e5 2.60 10   9005 1772064000000 25 0.15/0.3  240 0.04
"""


def _parse(filters: str, market: str) -> InstrumentSpec:
    symbol, price, tick, step, max_qty, max_mkt = filters.split()
    (name, turnover, vol, lev, sid, launch, spread, limits, funding, cap) = market.split()
    if name != symbol:
        raise ValueError(f"instrument tables disagree: {symbol} != {name}")
    limit_x, limit_y = limits.split("/")
    return InstrumentSpec(
        symbol=symbol,
        base_coin=symbol.removesuffix("USDT"),
        start_price=Decimal(price),
        tick_size=Decimal(tick),
        qty_step=Decimal(step),
        min_qty=Decimal(step),
        max_qty=Decimal(max_qty),
        max_mkt_qty=Decimal(max_mkt),
        turnover_24h=float(turnover),
        volatility=float(vol),
        spread_bps=float(spread),
        max_leverage=Decimal(lev),
        symbol_id=int(sid),
        launch_time_ms=int(launch),
        funding_interval_min=int(funding),
        funding_cap=cap,
        price_limit_x=limit_x,
        price_limit_y=limit_y,
    )


DEFAULT_UNIVERSE: Final[tuple[InstrumentSpec, ...]] = tuple(
    _parse(f, m)
    for f, m in zip(_FILTERS.strip().splitlines(), _MARKET.strip().splitlines(), strict=True)
)
SPECS_BY_SYMBOL: Final[dict[str, InstrumentSpec]] = {s.symbol: s for s in DEFAULT_UNIVERSE}


def select(symbols: tuple[str, ...] | list[str] | None = None) -> tuple[InstrumentSpec, ...]:
    """Return the specs named (in that order), or the whole default universe for None."""
    if symbols is None:
        return DEFAULT_UNIVERSE
    unknown = [s for s in symbols if s not in SPECS_BY_SYMBOL]
    if unknown:
        raise ValueError(f"unknown simulator symbols: {', '.join(unknown)}")
    if len(set(symbols)) != len(symbols):
        raise ValueError("duplicate simulator symbols")
    return tuple(SPECS_BY_SYMBOL[s] for s in symbols)


def _with_places(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places))


def _leverage_text(value: Decimal) -> str:
    return format(_with_places(value, 2), "f")


def to_instrument(spec: InstrumentSpec) -> wire.Instrument:
    """The instruments-info entry of `spec`, shaped like Bybit's (see the captured fixture)."""
    qp = spec.qty_places
    max_qty = _with_places(spec.max_qty, qp)
    return wire.Instrument(
        symbol=spec.symbol,
        contract_type="LinearPerpetual",
        status="Trading",
        base_coin=spec.base_coin,
        quote_coin="USDT",
        launch_time=str(spec.launch_time_ms),
        delivery_time="0",
        delivery_fee_rate="",
        price_scale=str(spec.price_places),
        leverage_filter=wire.LeverageFilter(
            min_leverage="1",
            max_leverage=_leverage_text(spec.max_leverage),
            leverage_step="0.01",
        ),
        price_filter=wire.PriceFilter(
            min_price=spec.tick_size,
            max_price=spec.tick_size * _MAX_PRICE_TICKS,
            tick_size=spec.tick_size,
        ),
        lot_size_filter=wire.LotSizeFilter(
            max_order_qty=max_qty,
            min_order_qty=_with_places(spec.min_qty, qp),
            qty_step=spec.qty_step,
            post_only_max_order_qty=max_qty,
            max_mkt_order_qty=_with_places(spec.max_mkt_qty, qp),
            min_notional_value=spec.min_notional,
        ),
        unified_margin_trade=True,
        funding_interval=spec.funding_interval_min,
        settle_coin="USDT",
        copy_trading="both",
        upper_funding_rate=spec.funding_cap,
        lower_funding_rate="-" + spec.funding_cap,
        is_pre_listing=False,
        pre_listing_info=None,
        risk_parameters=wire.RiskParameters(
            price_limit_ratio_x=spec.price_limit_x, price_limit_ratio_y=spec.price_limit_y
        ),
        display_name="",
        symbol_type="",
        forbid_upl_withdrawal=False,
        symbol_id=spec.symbol_id,
    )
