"""scripts/status's pure part: what was read (metrics pages, snapshots, the journal's day)
becomes the status object (plain JSON values), and the status object becomes one screen.

A value nobody could read is `unknown(reason)`, {"unknown": "<who>: <why>"} in the JSON,
"unknown (<who>: <why>)" on the screen: never a zero, never a Python None or repr.
"""

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from scripts.status_market import market_lines
from services.executor.day_summary import DaySummary
from shared.schema import ExecutionSnapshot, StrategyStatus

Metrics = dict[str, float] | str  # a page's `name{labels}` -> value, or why it did not answer
NS_PER_S: Final = 1_000_000_000
_USDT: Final = Decimal("0.0001")
_BUS_COUNTERS: Final = {
    "dropped": "bus_dropped_messages_total",
    "gaps": "bus_gaps_total",
    "lost": "bus_lost_messages_total",
}


def unknown(reason: str) -> dict[str, str]:
    return {"unknown": reason}


def parse_metrics(text: str) -> dict[str, float]:
    """`name{labels}` -> value from a Prometheus text page."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                values[name] = float(value)
            except ValueError:
                continue
    return values


def usdt(value: Decimal) -> str:
    """An amount of USDT for people: 4 decimals, no exponent, no "-0"."""
    rounded = value.quantize(_USDT)
    return f"{rounded + 0:f}" if rounded else "0"


def position(
    execution: ExecutionSnapshot | str, strategy: StrategyStatus | str | None
) -> dict[str, Any]:
    """Positions at the venue (from the executor), and the strategy's own belief."""
    if isinstance(execution, str):
        venue: Any = unknown(execution)
        trading: Any = unknown(execution)
    else:
        venue = [
            {"symbol": p.symbol, "qty": str(p.qty), "avg_entry_price": str(p.avg_entry_price)}
            for p in execution.positions
        ]
        trading = execution.trading_state.value
    if isinstance(strategy, StrategyStatus):
        strategy_qty: Any = str(strategy.position_qty)
    else:
        strategy_qty = unknown(strategy or "strategy: no status in its snapshot")
    return {"venue": venue, "strategy_qty": strategy_qty, "trading_state": trading}


def pnl(day: DaySummary | str, execution: ExecutionSnapshot | str) -> dict[str, Any]:
    """Today's realised PnL from the journal; the open positions' unrealised PnL now."""
    if isinstance(day, str):
        realised: Any = unknown(day)
    elif day.realised_pnl_usdt is None:
        realised = unknown(f"journal: {day.pnl_unknown_reason}")
    else:
        realised = usdt(day.realised_pnl_usdt)
    if isinstance(execution, str):
        unrealised: Any = unknown(execution)
    else:
        unrealised = usdt(sum((p.unrealised_pnl for p in execution.positions), Decimal(0)))
    return {"realised_today_usdt": realised, "unrealised_usdt": unrealised}


def orders(
    day: DaySummary | str, executor: Metrics, execution: ExecutionSnapshot | str
) -> dict[str, Any]:
    """Today's orders and fills (journal), working orders (snapshot), denials (counters)."""
    result: dict[str, Any] = {}
    if isinstance(day, str):
        result["today"] = unknown(day)
    else:
        result["today"] = {
            "day": day.day,
            "sent": day.orders_sent,
            "accepted": day.accepted,
            "rejected": day.rejected,
            "in_doubt": day.in_doubt,
            "fills": day.fills,
        }
    result["working"] = (
        unknown(execution) if isinstance(execution, str) else len(execution.open_orders)
    )
    for kind in ("denied", "in_doubt_resolved"):  # not journaled: the running executor's
        key = f'executor_events_total{{kind="{kind}"}}'
        result[f"{kind}_since_executor_start"] = (
            unknown(f"executor: {executor}")
            if isinstance(executor, str)
            else int(executor.get(key, 0))  # the page answered: a kind not counted yet is 0
        )
    return result


def instance(status: Any) -> Any:
    """A further strategy instance from its StrategyStatus, or unknown with the reason."""
    if isinstance(status, str):
        return unknown(status)
    return {"strategy_id": status.strategy_id, "state": status.state, "symbol": status.symbol}


def services(
    names: tuple[str, ...],
    processes: Mapping[str, Any],
    spawns: Mapping[str, int] | None,
    view: Mapping[str, Any],
) -> dict[str, Any]:
    """Per service: supervisord's state, pid and uptime, restarts (None: supervisord's log
    could not be read), last heartbeat heard."""
    now, heard = view["now_ns"], view["heard_ns"]
    result: dict[str, Any] = {}
    for name in names:
        info = processes.get(name)
        last = heard.get(name)
        result[name] = {
            "state": info.state if info else "UNKNOWN",
            "pid": info.pid if info and info.pid else None,
            "uptime_s": round(info.uptime_s) if info else None,
            "restarts": None if spawns is None else max(0, spawns.get(name, 0) - 1),
            "last_heartbeat_s": None if last is None else round((now - last) / NS_PER_S, 1),
        }
    return result


def counters(metrics: Mapping[str, Metrics]) -> dict[str, Any]:
    """Bus drops, gaps and losses summed over every service, and the drops by service and
    reason (`dropped_by`, only those seen); unknown if a page is missing."""
    silent = {name: page for name, page in metrics.items() if isinstance(page, str)}
    if silent:
        reason = "; ".join(f"{name}: {why}" for name, why in silent.items())
        return dict.fromkeys(("dropped", "gaps", "lost"), unknown(reason))
    totals: dict[str, Any] = {"dropped": 0, "gaps": 0, "lost": 0}
    dropped_by: dict[str, int] = {}
    for service, page in metrics.items():
        assert not isinstance(page, str)
        for name, value in page.items():
            key = next((k for k, prefix in _BUS_COUNTERS.items() if name.startswith(prefix)), None)
            if key is not None:
                totals[key] += int(value)
            if key == "dropped" and value:
                label = f"{service} {_label(name, 'reason') or 'unlabelled'}"
                dropped_by[label] = dropped_by.get(label, 0) + int(value)
    return {**totals, "dropped_by": dropped_by}


def _label(name: str, label: str) -> str | None:
    """The value of `label` in a metric's `name{a="x",b="y"}`, if it has one."""
    marker = f'{label}="'
    start = name.find(marker)
    if start < 0:
        return None
    start += len(marker)
    return name[start : name.find('"', start)]


_BREAKER_STATES: Final = {0: "closed", 1: "half-open", 2: "OPEN"}


def breakers(executor: Metrics) -> dict[str, Any]:
    """The executor's circuit breaker per endpoint group (executor_circuit_state)."""
    if isinstance(executor, str):
        return {"breakers": unknown(f"executor: {executor}")}
    states = {
        group.replace("_", " "): _BREAKER_STATES.get(int(value), f"state {value:g}")
        for name, value in sorted(executor.items())
        if name.startswith("executor_circuit_state{") and (group := _label(name, "group"))
    }
    return states or {"breakers": unknown("the executor exports no executor_circuit_state")}


def recording(recorder: Metrics) -> dict[str, Any]:
    """What the recorder wrote and lost since it started (its recorder_* counters)."""
    if isinstance(recorder, str):
        return {"recording": unknown(f"recorder: {recorder}")}

    def total(family: str, kind: str | None = None) -> int:
        return int(
            sum(
                value
                for name, value in recorder.items()
                if name.startswith(f"{family}_total")
                and (kind is None or _label(name, "kind") == kind)
            )
        )

    return {
        "frames": total("recorder_written_lines", "frames"),
        "events": total("recorder_written_lines", "events"),
        "dropped": total("recorder_dropped_lines"),
        "write_errors": total("recorder_write_errors"),
    }


def latency(executor: Metrics) -> dict[str, Any]:
    """The executor's recent latency percentiles in microseconds."""
    result: dict[str, Any] = {}
    for stage in ("tick_to_order", "order_to_ack"):
        for label, quantile in (("p50", "0.5"), ("p99", "0.99")):
            key = f'executor_latency_recent_us{{quantile="{quantile}",stage="{stage}"}}'
            if isinstance(executor, str):
                result[f"{stage}_{label}"] = unknown(f"executor: {executor}")
            elif key in executor:
                result[f"{stage}_{label}"] = round(executor[key], 1)
            else:
                result[f"{stage}_{label}"] = unknown("no orders in the window yet")
    return result


def human(value: Any) -> str:
    """Any status value as people read it."""
    if isinstance(value, Mapping):
        if set(value) == {"unknown"}:
            return f"unknown ({value['unknown']})"
        shared_unknown = _same_unknown(value)
        if shared_unknown is not None:
            return human(shared_unknown)  # said once, not once per value
        return "  ".join(f"{k.replace('_', ' ')} {human(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(human(v) for v in value) if value else "none"
    for kind, show in _SCALARS:
        if isinstance(value, kind):
            return show(value)
    return str(value)


_SCALARS: Final[tuple[tuple[type, Callable[[Any], str]], ...]] = (
    (type(None), lambda _: "unknown"),
    (bool, lambda v: "yes" if v else "no"),
    (Decimal, lambda v: f"{v.normalize():f}" if v.is_finite() else str(v)),
    (float, lambda v: f"{v:g}"),
    (datetime, lambda v: v.isoformat(sep=" ")),
    (date, lambda v: v.isoformat()),
)


def render(status: Mapping[str, Any]) -> str:
    """The one screen."""
    pos, money = status["position"], status["pnl"]
    lines = [
        f"mode {human(status['mode'])}   symbol {human(status['symbol'])}"
        f"   strategy {human(status['strategy_state'])}"
        f"   trading {human(pos['trading_state'])}",
        f"position venue {_venue(pos['venue'])}   strategy qty {human(pos['strategy_qty'])}",
        f"pnl realised today {_amount(money['realised_today_usdt'])}"
        f"   unrealised {_amount(money['unrealised_usdt'])}",
        *_orders(status["orders"]),
        *_instances(status.get("instances", {})),
        "",
    ]
    width = max([10, *(len(name) for name in status["services"])])
    lines.append(
        f"{'service':<{width}} {'state':<9} {'pid':>7} {'uptime':>7} {'restarts':>8}"
        f" {'heartbeat':>10}"
    )
    for name, s in status["services"].items():
        beat = "-" if s["last_heartbeat_s"] is None else f"{human(s['last_heartbeat_s'])} s ago"
        if name == "simulator":
            beat = "(venue)"
        uptime = "-" if s["uptime_s"] is None else f"{human(s['uptime_s'])}s"
        pid = "-" if s["pid"] is None else human(s["pid"])
        lines.append(
            f"{name:<{width}} {human(s['state']):<9} {pid:>7} {uptime:>7}"
            f" {human(s['restarts']):>8} {beat:>10}"
        )
    lines += ["", "bus " + _bus(status["counters"]), _latency(status["latency_us"])]
    if "breakers" in status:
        lines.append(f"breakers  {human(status['breakers'])}")
    if "recording" in status:
        lines.append(f"recording  {human(status['recording'])}")
    lines += market_lines(status.get("market", unknown("not collected")))
    return "\n".join(lines)


def _instances(instances: Mapping[str, Any]) -> list[str]:
    """One line per further strategy instance: `instance strategy-mm1  id mm1  Quoting  ETHUSDT`."""
    lines = []
    for name, about in instances.items():
        if isinstance(about, Mapping) and "state" in about:
            lines.append(
                f"instance {name}  id {human(about['strategy_id'])}  {human(about['state'])}"
                f"  {human(about['symbol'])}"
            )
        else:
            lines.append(f"instance {name}  {human(about)}")
    return lines


def _bus(counters: Mapping[str, Any]) -> str:
    """`dropped 3 (strategy peer_away 2, feed superseded 1)  gaps 0  lost 0`."""
    by = counters.get("dropped_by") or {}
    line = human({k: v for k, v in counters.items() if k != "dropped_by"})
    if not by:
        return line
    reasons = ", ".join(f"{who} {n}" for who, n in sorted(by.items(), key=lambda kv: -kv[1]))
    dropped = f"dropped {human(counters['dropped'])}"
    return line.replace(dropped, f"{dropped} ({reasons})", 1)


def _latency(lat: Mapping[str, Any]) -> str:
    if _same_unknown(lat) is not None:
        return f"latency us  {human(lat)}"
    return (
        f"latency us  tick->order p50 {human(lat['tick_to_order_p50'])}"
        f" p99 {human(lat['tick_to_order_p99'])}"
        f"   order->ack p50 {human(lat['order_to_ack_p50'])} p99 {human(lat['order_to_ack_p99'])}"
    )


def _same_unknown(values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The one unknown every value of `values` is, if they all are the same unknown."""
    first = next(iter(values.values()), None)
    if len(values) > 1 and isinstance(first, Mapping) and set(first) == {"unknown"}:
        return first if all(v == first for v in values.values()) else None
    return None


def _venue(venue: Any) -> str:
    if not isinstance(venue, list):
        return human(venue)
    if not venue:
        return "flat"
    return ", ".join(
        f"{human(p.get('symbol'))} {human(p.get('qty'))} @ {human(p.get('avg_entry_price'))}"
        if isinstance(p, Mapping)
        else human(p)
        for p in venue
    )


def _amount(value: Any) -> str:
    text = human(value)
    return text if text.startswith("unknown") else f"{text} USDT"


def _orders(section: Mapping[str, Any]) -> list[str]:
    today = section.get("today")
    if isinstance(today, Mapping) and "day" in today:
        rest = {k: v for k, v in today.items() if k != "day"}
        first = f"orders today ({human(today['day'])} UTC, journal)  {human(rest)}"
    else:
        first = f"orders today {human(today)}"
    working = human(section.get("working"))
    denied = human(section.get("denied_since_executor_start"))
    resolved = human(section.get("in_doubt_resolved_since_executor_start"))
    return [
        f"{first}  working {working}",
        f"orders since the executor started  denied {denied}  in-doubt resolved {resolved}",
    ]
