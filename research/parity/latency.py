"""The session's own latencies as the backtest's `Latency(samples_ns=...)`.

What a session records, per order, on one machine's clock (ns): the strategy made the
command (`ts_created_ns`, in the journaled command), the executor sent the create request
(`intents.ts_request_sent_ns`), the venue's answer arrived (`intents.ts_ack_ns`: its
`order_to_ack`, the executor's histogram of that name), and the recorder received the
`OrderAccepted` the executor then published (`executor.events.gz`: the bus hop the
strategy's copy also takes). The venue's own arrival time is not recorded at ns (its
execTime is in ms), so the round trip is split in half:

    entry    (strategy -> venue)  = (sent - created) + order_to_ack / 2
    response (venue -> strategy)  = order_to_ack - order_to_ack / 2 + (recorded - ack)

The bus hop is the recorder's, taken as the strategy's (both subscribe to the same
publisher); without recorded events it is left out, and said so. Orders never sent or
never answered (in doubt, resent) give no sample. Cancels: a `cancel` event to the order's
`Canceled` status in the journal, shown as a figure (the backtest's cancels ride the entry
channel).
"""

import sqlite3
import statistics
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from research.backtest.settings import Latency
from research.parity.live import Intent, SessionUnreadable
from shared.recordings import day_dirs, read_events
from shared.schema import OrderAccepted


@dataclass(frozen=True, slots=True)
class SessionLatencies:
    entry: Latency
    response: Latency
    order_to_ack_ns: tuple[int, ...]
    cancel_ns: tuple[int, ...]
    bus_hop_known: bool  # the response samples include the recorded bus hop

    def describe(self) -> str:
        hop = "" if self.bus_hop_known else " (no recorded events: bus hop left out)"
        return (
            f"entry {_figure(self.entry.samples_ns)}; response {_figure(self.response.samples_ns)}"
            f"{hop}; order_to_ack {_figure(self.order_to_ack_ns)};"
            f" cancel {_figure(self.cancel_ns)}"
        )


def _figure(samples: tuple[int, ...]) -> str:
    if not samples:
        return "no samples"
    ms = sorted(s / 1e6 for s in samples)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"{len(ms)} samples, p50 {statistics.median(ms):.3f} ms, p90 {p90:.3f} ms"


def accepted_times(recordings: Path) -> dict[str, int] | None:
    """client order id -> when the recorder received its OrderAccepted; None without events."""
    days = [d for d in day_dirs(recordings) if (recordings / d / "executor.events.gz").exists()]
    if not days:
        return None
    return {
        m.client_order_id: recv_ns
        for day in days
        for recv_ns, m in read_events(recordings, day)
        if isinstance(m, OrderAccepted)
    }


def cancel_samples(journal: Path) -> tuple[int, ...]:
    """Cancel requested -> the order's Canceled status, per order that was cancelled (ns)."""
    if not journal.is_file():
        raise SessionUnreadable(f"{journal}: no such journal")
    try:
        with closing(sqlite3.connect(f"{journal.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT c.ts_ns, min(s.ts_ns) FROM events c JOIN events s"
                " ON s.client_order_id = c.client_order_id AND s.kind = 'status'"
                " AND s.status = 'Canceled' AND s.id > c.id"
                " WHERE c.kind = 'cancel' GROUP BY c.id ORDER BY c.id"
            ).fetchall()
    except sqlite3.Error as e:
        raise SessionUnreadable(f"{journal}: {e}") from e
    return tuple(int(done) - int(asked) for asked, done in rows if int(done) >= int(asked))


def session_latencies(
    intents: list[Intent], accepted_recv_ns: dict[str, int] | None, cancels: tuple[int, ...]
) -> SessionLatencies:
    """The entry and response samples of the session's answered orders (module docstring)."""
    entry: list[int] = []
    response: list[int] = []
    order_to_ack: list[int] = []
    for intent in intents:
        sent, acked, created = intent.ts_request_sent_ns, intent.ts_ack_ns, intent.ts_created_ns
        if not sent or not acked or acked < sent or sent < created:
            continue
        round_trip = acked - sent
        hop = 0
        if accepted_recv_ns is not None:
            recorded = accepted_recv_ns.get(intent.decision.client_order_id)
            if recorded is None or recorded < acked:
                continue  # its acknowledgement was not recorded: no whole sample
            hop = recorded - acked
        order_to_ack.append(round_trip)
        entry.append(sent - created + round_trip // 2)
        response.append(round_trip - round_trip // 2 + hop)
    if not entry:
        raise SessionUnreadable(
            "no order of the session was sent and answered: no latency samples (use --latency zero)"
        )
    return SessionLatencies(
        entry=Latency(samples_ns=tuple(entry)),
        response=Latency(samples_ns=tuple(response)),
        order_to_ack_ns=tuple(order_to_ack),
        cancel_ns=cancels,
        bus_hop_known=accepted_recv_ns is not None,
    )


def run_latencies(journal: Path, recordings: Path, strategy_id: str) -> SessionLatencies:
    """The latencies a recorded run measured for `strategy_id`'s orders (module docstring):
    its journal, and its recordings directory for the bus hop when events were recorded."""
    from research.parity.live import read_journal  # the journal reader, at the edge

    intents = read_journal(journal, strategy_id).intents
    return session_latencies(intents, accepted_times(recordings), cancel_samples(journal))
