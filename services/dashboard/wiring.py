"""What the dashboard reads, from the settings: which sockets, which pages to scrape."""

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from services.dashboard.sources import MD_RESYNC_NS, BusSources, Feed
from shared.bus import BusNode
from shared.settings import BusSettings, Endpoints, instance_endpoints, strategy_instances

_SENDERS: Final = ("status.", "alert.")


def subscribe(sources: BusSources, node: BusNode, eps: Endpoints, bus: BusSettings) -> None:
    """Add every publisher group to `sources`: the executor, every strategy instance, the
    scanner, the feed, the recorder (subscribed now; snapshots asked once running)."""
    add = sources.add
    add(
        Feed(
            "executor",
            node.subscriber([eps.execution_events], ["exec.", *_SENDERS], hwm=bus.events_hwm),
            [eps.execution_snapshot],
            ("exec.snapshot.",),  # its one ExecutionSnapshot answers any prefix
        )
    )
    instances = [instance_endpoints(eps, name) for name in strategy_instances()]
    events = [eps.strategy_events, *(e.strategy_events for e in instances)]
    snapshots = [eps.strategy_snapshot, *(e.strategy_snapshot for e in instances)]
    add(
        Feed(
            "strategies",
            node.subscriber(events, ["strategy.", *_SENDERS]),
            snapshots,
            ("strategy.", "status."),
        )
    )
    add(
        Feed(
            "universe",
            node.subscriber([eps.universe], ["universe.", *_SENDERS]),
            [eps.universe_snapshot],
            ("universe.", "status."),
        )
    )
    market = ["md.quote.", "md.trade.", "md.status.", *_SENDERS]
    add(
        Feed(
            "market",
            node.subscriber([eps.market_data], market, hwm=bus.market_data_hwm),
            [eps.market_data_snapshot],
            ("md.status.", "status."),
            min_resync_ns=MD_RESYNC_NS,
        )
    )
    add(Feed("recorder", node.subscriber([eps.recorder_events], list(_SENDERS)), []))


def metrics_ports(document: dict[str, Any]) -> dict[str, int]:
    """Section -> its metrics-port: every service, each strategy instance, the dashboard;
    the simulator only in paper mode (it runs only then)."""
    system = document.get("system")
    mode = system.get("mode", "paper") if isinstance(system, dict) else "paper"
    return {
        name: int(section["metrics-port"])
        for name, section in document.items()
        if isinstance(section, dict)
        and isinstance(section.get("metrics-port"), int)
        and (name != "simulator" or mode == "paper")
    }


def daily_loss_limit(document: dict[str, Any]) -> str | None:
    executor = document.get("executor")
    value = executor.get("daily-loss-limit-usdt") if isinstance(executor, dict) else None
    if value is None:
        return None
    try:
        return format(Decimal(str(value)), "f")
    except InvalidOperation:
        return None
