"""The simulator's venue under its former name: `Exchange` is `venue.Venue`.

The venue core lives in `services.simulator.venue` (see its docstring for the semantics and
the module map); this module keeps the old import path working.
"""

from services.simulator.venue import (
    ExchangeConfig,
    PrivateEvent,
    PublicLevel,
    Venue,
    VenueError,
    fee_of,
)

Exchange = Venue

__all__ = ["Exchange", "ExchangeConfig", "PrivateEvent", "PublicLevel", "VenueError", "fee_of"]
