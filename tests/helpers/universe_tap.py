"""What the feed and strategy rigs share: a fake scanner's announcements and a bus tap."""

from typing import Any

from shared.bus import Delivery, Publisher, Receiver
from shared.schema import Symbol, UniverseChanged


class UniverseTap:
    """Mixin for a rig with a `universe` publisher, a `tap` subscriber and `seen` deliveries."""

    universe: Publisher
    tap: Receiver
    seen: list[Delivery]

    def announce(self, symbol: str, epoch: int) -> None:
        self.universe.send(
            UniverseChanged(
                symbol=Symbol(symbol), epoch=epoch, ranking=(), reason="test", ts_event_ns=0
            )
        )

    def collect(self) -> list[Delivery]:
        self.seen.extend(self.tap.drain(10_000))
        return self.seen

    def messages(self, kind: type) -> list[Any]:
        return [d.message for d in self.collect() if isinstance(d.message, kind)]
