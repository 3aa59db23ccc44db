"""The strategy service: market data and its own order events in, order commands out.

The decision core is pure (no I/O, time passed in as integer ns): `machine.MomentumScalper`
implements the `api.Strategy` protocol, so the live service and a replay drive the same code.
"""
