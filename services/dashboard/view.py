"""The view: one JSON-shaped document (docs/dashboard.md) and the changes made to it.

Every change goes through `View.set`, `View.delete` or `View.append`, which apply it and
record it as a delta entry ({"path", "op", "value"}); `take()` hands the recorded entries
over with the earliest bus send time behind them. A set to the value already there records
nothing. Lists are bounded: an append beyond the bound drops the oldest item (the page
drops the same). Pure: no clock, no I/O.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

Path = tuple[str, ...]
Change = dict[str, Any]

ALERTS_KEPT: Final = 200
FILLS_KEPT: Final = 200
DENIALS_KEPT: Final = 200
EQUITY_KEPT: Final = 2000
PRICES_KEPT: Final = 1200
LATENCY_KEPT: Final = 1800  # one point a scrape: an hour at 2 s


@dataclass(frozen=True)
class Header:
    """What the view says about the run itself."""

    mode: str
    run_dir: str
    controls_enabled: bool
    daily_loss_limit_usdt: str | None


def initial_state(header: Header) -> dict[str, Any]:
    """The view before anything was heard: unknowns are None, never 0."""
    empty_latency: dict[str, Any] = {"p50": None, "p90": None, "p99": None, "series": []}
    return {
        "generated_ns": 0,
        "settings": {
            "mode": header.mode,
            "run_dir": header.run_dir,
            "controls_enabled": header.controls_enabled,
        },
        "health": {
            "services": {},
            "bus": {"dropped": {}, "gaps": {}, "lost": {}},
            "breakers": {},
            "trading_state": None,
            "trading_reason": "",
            "reconciled": None,
            "metrics_errors": {},
        },
        "alerts": [],
        "money": {
            "positions": {},
            "unrealised_pnl_usdt": "0",  # flat: nothing unrealised (None once one is unknown)
            "equity": [],
            "realised_pnl": [],
            "fees_usdt": None,
            "pnl_day": None,
            "pnl_unknown_reason": "",
            "daily_loss_usdt": None,
            "daily_loss_limit_usdt": header.daily_loss_limit_usdt,
            "balance": None,
        },
        "orders": {"working": {}, "fills": [], "denials": []},
        "market": {"symbols": {}, "ranking": [], "ranking_ts_ns": None, "mm_selection": []},
        "strategies": {},
        "latency": {
            "tick_to_order_ms": dict(empty_latency, series=[]),
            "order_to_ack_ms": dict(empty_latency, series=[]),
            "mm_stages_us": {},
        },
    }


def money(value: Decimal | None) -> str | None:
    """A Decimal as the page gets it: a plain string ("100", never "1E+2"); None stays None."""
    return None if value is None else format(value, "f")


class View:
    """The document and the changes not yet handed over."""

    def __init__(self, header: Header) -> None:
        self.state = initial_state(header)
        self._changes: list[Change] = []
        self._ts_sent_ns = 0  # the earliest bus send time behind the recorded changes
        self._sampled = False  # some of them are sampled market data
        self.took_sampled = False  # what take() last handed over had sampled market data
        self.scratch: dict[str, Any] = {}  # what folding needs to remember, never sent

    def behind(self, ts_sent_ns: int, *, sampled: bool = False) -> None:
        """Note that the next changes come from a bus frame sent at `ts_sent_ns` (0: polled);
        `sampled`: market data held back by the sampler (its wait is in the latency)."""
        if ts_sent_ns and (not self._ts_sent_ns or ts_sent_ns < self._ts_sent_ns):
            self._ts_sent_ns = ts_sent_ns
        self._sampled = self._sampled or (sampled and bool(ts_sent_ns))

    def get(self, path: Sequence[str]) -> Any:
        """The value at `path`, or None when any key on the way is missing."""
        node: Any = self.state
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def set(self, path: Sequence[str], value: Any) -> None:
        parent = self._parent(path)
        key = path[-1]
        if key in parent and parent[key] == value:
            return
        parent[key] = value
        self._changes.append({"path": list(path), "op": "set", "value": value})

    def merge(self, path: Sequence[str], values: dict[str, Any]) -> None:
        """Set each key of `values` under `path` (the dict there is created if missing)."""
        for key, value in values.items():
            self.set((*path, key), value)

    def delete(self, path: Sequence[str]) -> None:
        parent = self._parent(path, create=False)
        if parent is None or path[-1] not in parent:
            return
        del parent[path[-1]]
        self._changes.append({"path": list(path), "op": "delete", "value": None})

    def append(self, path: Sequence[str], item: Any, bound: int) -> None:
        """Append `item` to the list at `path`, dropping the oldest beyond `bound`."""
        items = self.get(path)
        if not isinstance(items, list):
            items = []
            self._parent(path)[path[-1]] = items
        items.append(item)
        if len(items) > bound:
            del items[: len(items) - bound]
        self._changes.append({"path": list(path), "op": "append", "value": item})

    def pending(self) -> bool:
        return bool(self._changes)

    def take(self) -> tuple[list[Change], int]:
        """The changes recorded since the last call and the earliest send time behind them."""
        changes, ts = self._changes, self._ts_sent_ns
        self.took_sampled = self._sampled
        self._changes, self._ts_sent_ns, self._sampled = [], 0, False
        return changes, ts

    def _parent(self, path: Sequence[str], *, create: bool = True) -> Any:
        node: Any = self.state
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                if not create:
                    return None
                child = node[key] = {}
            node = child
        return node


def apply_change(state: dict[str, Any], change: Change, bounds: dict[str, int]) -> None:
    """Apply one delta entry to a copy of the document (the page's rule; used by tests).

    `bounds` maps a list's last path key to its bound (e.g. {"fills": FILLS_KEPT}).
    """
    path = change["path"]
    node = state
    for key in path[:-1]:
        node = node.setdefault(key, {})
    key = path[-1]
    if change["op"] == "set":
        node[key] = change["value"]
    elif change["op"] == "delete":
        node.pop(key, None)
    else:
        items = node.setdefault(key, [])
        items.append(change["value"])
        bound = bounds.get(key)
        if bound is not None and len(items) > bound:
            del items[: len(items) - bound]


def ensure_service(view: View, name: str) -> None:
    """Create health.services.<name> with every field unknown, unless it is there."""
    if view.get(("health", "services", name)) is None:
        view.set(
            ("health", "services", name),
            {
                "state": None,
                "pid": None,
                "uptime_s": None,
                "restarts": None,
                "last_heartbeat_ns": None,
                "alive": None,
                "detail": "",
                "bus_state": None,
                "bus_state_source": None,
                "bus_status": None,
                "supervisor_error": None,
            },
        )


LIST_BOUNDS: Final = {
    "alerts": ALERTS_KEPT,
    "fills": FILLS_KEPT,
    "denials": DENIALS_KEPT,
    "equity": EQUITY_KEPT,
    "realised_pnl": EQUITY_KEPT,
    "prices": PRICES_KEPT,
    "series": LATENCY_KEPT,
}
