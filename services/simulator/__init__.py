"""The simulator: a local Bybit-V5-compatible venue on loopback, for paper trading.

It speaks Bybit's V5 REST and websocket API for `category=linear` (USDT perpetuals) so the
scanner, feed and executor run unchanged against it. Its pure core (`instruments`, `market`,
`candles`, `book`, `matching`, `accounts`, `account_views`, and the `venue` package whose
`Venue` is the one facade the HTTP layer and a backtest call; `exchange` is its old name) holds
a seeded universe of ~40 symbols whose prices follow a regime-switching random walk with a
synthetic 24 h history (or, replaying a recording, whose books are the recorded L2 ladders),
an order book per symbol made of that liquidity plus the accounts' own resting orders
(price-time priority, queue position, maker and taker fees), one-way positions, a USDT
wallet and venue-side stop-loss / take-profit per account. The core does no I/O and reads no
clock: the HTTP/websocket layer passes the time in (integer milliseconds) and encodes the
`shared.bybit.wire` Structs the core returns.
"""
