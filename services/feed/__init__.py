"""Feed: the venue's public websocket -> trusted market data on the bus.

Consumes UniverseChanged (universe.) and the Bybit public stream (orderbook.<depth>.<SYMBOL>,
publicTrade.<SYMBOL>). Keeps a local book from snapshot plus deltas, resyncs on any `u` gap,
flags crossed and stale books, and publishes Quote, BookLevels and Trade (md.<kind>.<SYMBOL>.),
FeedStatus and, once the new symbol's first book is in after a switch, FeedReady(symbol, epoch).
"""
