"""The scanner: chooses the one USDT perpetual the system trades, and says so on the bus.

Every `interval-s` it reads the venue's linear tickers and instruments-info over REST, keeps
the USDT perpetuals in status Trading that pass the filters (24 h turnover, blacklist, price,
spread), scores them turnover x |24 h change| x whitelist boost, and switches symbol only
when a challenger beats the current one by the hysteresis factor or the current one became
ineligible. It publishes `UniverseChanged` (symbol, epoch, top-N ranking) on the universe
endpoint, answers snapshot requests for late joiners, and publishes a `ServiceStatus` after
every scan (DEGRADED, keeping its symbol, while the venue fails). The epoch survives restarts
in <run dir>/scanner-state.json.

With `mm-top-n` > 0 the same scan also selects the symbols to make markets in (making.py:
filters on 24 h turnover, spread, tick size / price and depth at the touch; score turnover /
max(spread, tick) in bps) and publishes `MarketMakingUniverse` on `universe.mm.` whenever the
selected symbols change (the last one is in the snapshot).
"""
