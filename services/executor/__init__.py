"""Executor: the only holder of API keys; turns order commands into venue orders.

Consumes commands on its PULL socket (SubmitOrder, CancelOrder, AmendOrder, CancelAllOrders,
ClosePosition, SetTradingState, RequestSnapshot) and the venue's private stream and REST
answers. Checks every command against the last-line risk limits, journals each intent in
SQLite before sending it, tracks each order through a transition table, deduplicates fills
by execId and reconciles with the venue on start and after every private-stream reconnect.
Publishes order, fill, position, trading-state and alert events (exec.*) and snapshots.
"""
