"""Feed: the venue's public websocket -> trusted market data on the bus.

Consumes UniverseChanged (universe.) and the Bybit public stream (orderbook.<depth>.<SYMBOL>,
publicTrade.<SYMBOL>). Keeps a local book from snapshot plus deltas, resyncs on any `u` gap,
flags crossed and stale books, and publishes Quote, BookLevels and Trade (md.<kind>.<SYMBOL>.),
FeedStatus and, once the new symbol's first book is in after a switch, FeedReady(symbol, epoch).
With `[feed] symbols` set it serves every listed symbol at once instead, each with its own
book, gap check, resync and FeedReady (service.py); with `follow = "market-making"` it
serves the scanner's market-making selection (MarketMakingUniverse, universe.mm.) the same
way, adding and removing symbols as the selection changes. Each served symbol's instrument rules
go out first, as InstrumentRulesChanged (md.rules.<SYMBOL>.).
With `record-raw` on, every frame that decodes as an order book or trades frame also goes,
unchanged and with its receive time, to the recorder's tap (VenueFrames on `raw.`, in
batches, after the frame's market data is published: raw_tap.py); a batch the tap cannot
take is counted (`bus_dropped_messages{reason="tap_full"}`, `tap_frames_dropped`), never
waited for.
"""
