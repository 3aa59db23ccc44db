"""The figures of a chaos run, computed from plain values: the journal, the venue, the bus.

Pure: no I/O. scripts/chaos.py collects the inputs (journal rows, the venue's executions,
open orders and positions, the FeedReady marks heard on the bus, the timed position
checks after each restart) and prints the report this module builds. The invariants are
those of architecture.md section 4 that a crash can break:

  double_entries            two entries (not reduce-only) of one strategy working at once
  orphan_orders             venue orders the journal never heard of
  open_orders_at_end        venue orders still open once the executor has stopped
  journal_open_at_end       intents the journal still thinks are working at the end
  fill_mismatches           venue trade executions missing from the journal's fills, fills
                            the venue does not list, fills recorded more than once
  final_position_mismatches symbols whose venue position differs from the journal's fills
  restarts_position_late    restarts after which the executor's position did not equal the
                            venue's within the limit (5 s)
  trades_before_feed_ready  orders sent for a (symbol, epoch) with no FeedReady before them
  run_exit_code             scripts/run's exit code at the clean stop (set by the caller)
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

import msgspec

POSITION_LIMIT_S: Final = 5.0
INVARIANTS: Final = (
    "double_entries",
    "orphan_orders",
    "open_orders_at_end",
    "journal_open_at_end",
    "fill_mismatches",
    "final_position_mismatches",
    "restarts_position_late",
    "trades_before_feed_ready",
    "run_exit_code",  # set by the caller: scripts/run's exit code (0: every service stopped clean)
)
_EXAMPLES: Final = 5  # details kept per invariant: enough to start debugging


@dataclass(frozen=True)
class Intent:
    """One journaled order intent, with its first send and first terminal status times."""

    client_order_id: str
    strategy_id: str
    symbol: str
    epoch: int
    side: str
    reduce_only: bool
    ts_created_ns: int  # the strategy made the command
    ts_sent_ns: int  # the executor first sent it (0: never sent, e.g. denied)
    ts_terminal_ns: int | None  # the journal's first terminal status (None: still working)


@dataclass(frozen=True)
class JournalFill:
    exec_id: str
    client_order_id: str
    qty: Decimal
    external: tuple[str, str] | None = None  # (symbol, side) of an order we did not send


@dataclass(frozen=True)
class VenueExecution:
    exec_id: str
    order_link_id: str
    symbol: str
    side: str
    qty: Decimal
    exec_type: str  # only "Trade" is a fill; Funding and the like are not


@dataclass(frozen=True)
class VenueOrder:
    order_link_id: str
    order_id: str
    symbol: str
    status: str


@dataclass(frozen=True)
class FeedReadyMark:
    symbol: str
    epoch: int
    ts_ns: int  # the feed's ts_event_ns


@dataclass(frozen=True)
class RestartCheck:
    """How long after a restart the executor's positions equalled the venue's."""

    label: str  # e.g. "round 3 kill executor"
    equal_after_s: float | None  # None: not equal while we watched


@dataclass(frozen=True)
class ChaosInputs:
    intents: list[Intent]
    fills: list[JournalFill]
    venue_executions: list[VenueExecution]
    venue_orders_seen: list[VenueOrder]  # open orders sampled while the system ran
    venue_orders_at_end: list[VenueOrder]  # open orders once the executor had stopped
    venue_positions_at_end: Mapping[str, Decimal]  # signed qty per symbol
    feed_ready: list[FeedReadyMark]
    restarts: list[RestartCheck]
    position_limit_s: float = POSITION_LIMIT_S


@dataclass
class ChaosReport:
    """Figures by name (invariants and context) and a few examples of each violation."""

    figures: dict[str, int | float] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def violations(self) -> list[str]:
        """Return the invariants that do not hold (an empty list: all hold)."""
        return [name for name in INVARIANTS if self.figures.get(name, 0) != 0]

    def lines(self) -> list[str]:
        """Return the report as `name value` lines, then one JSON line."""
        out = [f"{name} {value}" for name, value in self.figures.items()]
        verdict = self.violations()
        out.append(f"verdict {'PASS' if not verdict else 'FAIL ' + ','.join(verdict)}")
        record = {"figures": self.figures, "violations": verdict, "examples": self.examples}
        out.append(msgspec.json.encode(record).decode())
        return out


def double_entries(intents: Iterable[Intent], end_ns: int) -> list[str]:
    """Return each pair of one strategy's sent entries whose working times overlap.

    An entry works from its first send to its first terminal status (or `end_ns`).
    """
    by_strategy: dict[str, list[Intent]] = defaultdict(list)
    for intent in intents:
        if not intent.reduce_only and intent.ts_sent_ns > 0:
            by_strategy[intent.strategy_id].append(intent)
    pairs: list[str] = []
    for entries in by_strategy.values():
        entries.sort(key=lambda i: i.ts_sent_ns)
        working: list[Intent] = []
        for entry in entries:
            working = [w for w in working if _end(w, end_ns) > entry.ts_sent_ns]
            pairs += [f"{w.client_order_id}+{entry.client_order_id}" for w in working]
            working.append(entry)
    return pairs


def _end(intent: Intent, end_ns: int) -> int:
    return end_ns if intent.ts_terminal_ns is None else intent.ts_terminal_ns


def orphan_orders(orders: Iterable[VenueOrder], known_ids: set[str]) -> list[str]:
    """Return the venue orders (by orderLinkId, else orderId) the journal does not know."""
    return sorted(
        {o.order_link_id or f"orderId={o.order_id}" for o in orders}
        - known_ids
        - {""}  # an orderLinkId is never empty for our orders; orderId= marks those
    )


def fill_mismatches(
    executions: Iterable[VenueExecution], fills: Iterable[JournalFill]
) -> dict[str, list[str]]:
    """Compare the venue's trade executions with the journal's fills, by exec id.

    Returns lists of exec ids: missing (venue only), extra (journal only), duplicated
    (listed more than once by the journal or by the venue), wrong_order (the journal
    books the fill to another order than the venue).
    """
    venue = [e for e in executions if e.exec_type == "Trade"]
    venue_by_id = {e.exec_id: e for e in venue}
    fills = list(fills)
    journal_by_id = {f.exec_id: f for f in fills}
    duplicated = [
        exec_id
        for counts in (Counter(f.exec_id for f in fills), Counter(e.exec_id for e in venue))
        for exec_id, n in counts.items()
        if n > 1
    ]
    return {
        "missing": sorted(venue_by_id.keys() - journal_by_id.keys()),
        "extra": sorted(journal_by_id.keys() - venue_by_id.keys()),
        "duplicated": sorted(duplicated),
        "wrong_order": sorted(
            exec_id
            for exec_id, fill in journal_by_id.items()
            if exec_id in venue_by_id
            and (
                (
                    (fill.external is None)
                    and venue_by_id[exec_id].order_link_id != fill.client_order_id
                )
                or venue_by_id[exec_id].qty != fill.qty
            )
        ),
    }


def journal_positions(
    intents: Iterable[Intent], fills: Iterable[JournalFill]
) -> dict[str, Decimal]:
    """Return the signed position per symbol implied by the journal's fills."""
    by_id = {i.client_order_id: i for i in intents}
    net: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        intent = by_id.get(fill.client_order_id)
        symbol, side = (
            (intent.symbol, intent.side) if intent is not None else fill.external or ("", "")
        )
        if symbol:
            net[symbol] += fill.qty if side == "Buy" else -fill.qty
    return dict(net)


def position_mismatches(
    ours: Mapping[str, Decimal], venue: Mapping[str, Decimal]
) -> dict[str, tuple[Decimal, Decimal]]:
    """Return {symbol: (ours, venue)} for every symbol where the two differ (absent = 0)."""
    return {
        symbol: (ours.get(symbol, Decimal(0)), venue.get(symbol, Decimal(0)))
        for symbol in sorted(ours.keys() | venue.keys())
        if ours.get(symbol, Decimal(0)) != venue.get(symbol, Decimal(0))
    }


def trades_before_feed_ready(
    intents: Iterable[Intent], marks: Iterable[FeedReadyMark]
) -> list[str]:
    """Return the sent orders made before any FeedReady of their (symbol, epoch)."""
    first_ready: dict[tuple[str, int], int] = {}
    for mark in marks:
        key = (mark.symbol, mark.epoch)
        first_ready[key] = min(first_ready.get(key, mark.ts_ns), mark.ts_ns)
    return [
        f"{i.client_order_id}({i.symbol} epoch {i.epoch})"
        for i in intents
        if i.ts_sent_ns > 0
        and first_ready.get((i.symbol, i.epoch), i.ts_created_ns + 1) > i.ts_created_ns
    ]


def late_restarts(checks: Iterable[RestartCheck], limit_s: float) -> list[str]:
    """Return the restarts after which the positions did not agree within `limit_s`."""
    return [
        f"{c.label}: {'never' if c.equal_after_s is None else f'{c.equal_after_s:.2f} s'}"
        for c in checks
        if c.equal_after_s is None or c.equal_after_s > limit_s
    ]


def build_report(inputs: ChaosInputs, end_ns: int) -> ChaosReport:
    """Return every figure of the run; `end_ns` closes the entries still working."""
    known = {i.client_order_id for i in inputs.intents}
    doubles = double_entries(inputs.intents, end_ns)
    orphans = orphan_orders([*inputs.venue_orders_seen, *inputs.venue_orders_at_end], known)
    left = sorted({o.order_link_id or o.order_id for o in inputs.venue_orders_at_end})
    journal_open = sorted(i.client_order_id for i in inputs.intents if i.ts_terminal_ns is None)
    fills = fill_mismatches(inputs.venue_executions, inputs.fills)
    positions = position_mismatches(
        journal_positions(inputs.intents, inputs.fills), inputs.venue_positions_at_end
    )
    late = late_restarts(inputs.restarts, inputs.position_limit_s)
    early = trades_before_feed_ready(inputs.intents, inputs.feed_ready)
    timed = [c.equal_after_s for c in inputs.restarts if c.equal_after_s is not None]
    sent = [i for i in inputs.intents if i.ts_sent_ns > 0]
    report = ChaosReport()
    report.figures = {
        "orders_sent": len(sent),
        "entries_sent": sum(not i.reduce_only for i in sent),
        "journal_fills": len(inputs.fills),
        "venue_trade_executions": sum(e.exec_type == "Trade" for e in inputs.venue_executions),
        "feed_ready_marks": len(inputs.feed_ready),
        "restarts": len(inputs.restarts),
        "double_entries": len(doubles),
        "orphan_orders": len(orphans),
        "open_orders_at_end": len(left),
        "journal_open_at_end": len(journal_open),
        "fill_mismatches": sum(len(ids) for ids in fills.values()),
        "final_position_mismatches": len(positions),
        "restarts_position_late": len(late),
        "position_equal_max_s": round(max(timed, default=0.0), 3),
        "trades_before_feed_ready": len(early),
    }
    report.examples = {
        name: values[:_EXAMPLES]
        for name, values in (
            ("double_entries", doubles),
            ("orphan_orders", orphans),
            ("open_orders_at_end", left),
            ("journal_open_at_end", journal_open),
            *((f"fills_{kind}", ids) for kind, ids in fills.items()),
            (
                "final_position_mismatches",
                [f"{s} ours={o} venue={v}" for s, (o, v) in positions.items()],
            ),
            ("restarts_position_late", late),
            ("trades_before_feed_ready", early),
        )
        if values
    }
    return report
