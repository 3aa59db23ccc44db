"""Research tools that run in one process on recorded data: the backtest engine.

Not a service: nothing here binds a socket or joins the bus. It composes the services'
pure cores (the simulator's venue, the feed's session, the strategy, the executor's
decisions), which is why it lives outside `services/` (services never import each other).
"""
