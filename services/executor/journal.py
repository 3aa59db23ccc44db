"""The order journal: SQLite in WAL mode, written before anything is sent to the venue.

Durability: `PRAGMA synchronous=NORMAL` by default (`journal-synchronous` in [executor]):
a WAL commit survives a kill -9 (it is in the OS page cache), but the newest commits may be
lost on a power loss or kernel crash; the venue then wins at reconciliation (orders by
orderLinkId, fills by execId, positions), with alerts; what it does not give back is in the
README's "Journal durability". FULL fsyncs the WAL on every commit, so a returned
`record_intent` also survives a power loss, at one fsync per commit in the caller's thread
(`scripts/bench executor`: `executor.journal_commit_p50_us`, and `_full` for FULL).
The intent and its "sent" mark are one commit, made before the request is sent.

Group commit (`group_commits`, how the executor runs it): the later writes (acks, events,
fills) of one event-loop turn share one transaction, committed by `flush()` at the end of
the turn (the executor's outbox publishes what they tell only after that commit: nothing is
published that is not journaled) or by the next intent's commit, whichever comes first.
Each write is a savepoint of its own: one that fails is rolled back alone. A crash before
the commit loses what it would have written, exactly as if the venue's reports had come a
moment later: reconciliation books them from the venue.

Tables: `intents` (one row per SubmitOrder, keyed by client_order_id: the command as
msgspec JSON, so it evolves with the schema; plus the latest status, venue id, send and
ack times, updated in the transaction of the event that changes them), `events`
(append-only: sent, ack, status, fill, in_doubt, resend, cancel ...), `fills` (keyed by
exec_id: a fill is stored once), `trading_state` (a daily-loss HALT outlives a restart)
and `schema_version`; their DDL and the records read back are in journal_records.py. A fill
row that is not a sane fill is never replayed (JournaledOrder.quarantined, quarantine_fills).
"""

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NamedTuple

import msgspec

from services.executor.journal_records import (
    FILL_COLUMNS,
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    EventKind,
    Fill,
    JournaledOrder,
    JournalState,
    QuarantinedFill,
    parse_fill_row,
)
from services.executor.order_state import TERMINAL_STATUSES
from shared.schema import ClientOrderId, OrderStatus, SubmitOrder, TradingState, VenueOrderId

_INTENDED: Final = str(OrderStatus.INTENDED)
_SUBMITTED: Final = str(OrderStatus.SUBMITTED)
_TERMINAL: Final = tuple(sorted(str(s) for s in TERMINAL_STATUSES))
_OPEN_FILTER: Final = f"status NOT IN ({', '.join('?' * len(_TERMINAL))})"
_ORDER_COLUMNS: Final = "command, status, venue_order_id, ts_request_sent_ns, ts_ack_ns, trace_id"
_encoder: Final = msgspec.json.Encoder()
_command_decoder: Final = msgspec.json.Decoder(SubmitOrder)
_payload_decoder: Final = msgspec.json.Decoder(dict[str, str])


class JournalVersionError(Exception):
    """The database was written by another schema version."""


class _Event(NamedTuple):
    client_order_id: str
    kind: EventKind
    ts_ns: int
    status: OrderStatus | None
    venue_order_id: str | None
    payload: Mapping[str, Any] | None
    sent_ns: int = 0  # when the create request left, if this event tells


class Journal:
    """The executor's order journal (one writer: the executor process, one thread)."""

    def __init__(
        self, path: Path, synchronous: str = "NORMAL", *, group_commits: bool = False
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        self._db = sqlite3.connect(path, isolation_level=None)  # autocommit; explicit BEGIN
        self._group_commits = False  # set once the schema is checked (its own commit)
        self._open = False  # a group transaction is open (group_commits only)
        # Called when a group transaction opens: the owner schedules flush() for the end of
        # the turn (the executor: loop.call_soon).
        self.on_group_open: Callable[[], None] = lambda: None
        try:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise RuntimeError(f"journal {path}: journal_mode is {mode}, not wal")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(f"BEGIN IMMEDIATE; {SCHEMA} COMMIT;")
            self._check_version(path)
        except BaseException:
            self._db.close()
            raise
        self._group_commits = group_commits

    def close(self) -> None:
        self.flush()
        self._db.close()

    @property
    def pending(self) -> bool:
        """Writes of this turn not committed yet (group commits)."""
        return self._open

    def flush(self) -> None:
        """Commit the turn's group transaction, if one is open."""
        if self._open:
            self._open = False
            self._db.execute("COMMIT")

    def record_intent(self, command: SubmitOrder, ts_ns: int, *, sent_ns: int = 0) -> bool:
        """Write an intent (as it will be sent), committed and fsynced; False if known.

        With `sent_ns`, the same row says it was sent (status Submitted) at that time: one
        statement, one commit (no "sent" event row; resends have theirs).
        """
        status = _SUBMITTED if sent_ns else _INTENDED
        cursor = self._db.execute(  # autocommit, or in the open group then committed with it
            "INSERT OR IGNORE INTO intents (client_order_id, strategy_id, symbol, command,"
            " ts_recorded_ns, status, ts_request_sent_ns, trace_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                command.client_order_id,
                command.strategy_id,
                command.symbol,
                _encoder.encode(command).decode(),
                ts_ns,
                status,
                sent_ns,
                command.trace_id,
            ),
        )
        self.flush()
        return cursor.rowcount == 1

    def record_event(
        self,
        client_order_id: ClientOrderId,
        kind: EventKind,
        ts_ns: int,
        *,
        status: OrderStatus | None = None,
        venue_order_id: VenueOrderId | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one event; `status` is the order's status after it, if it changed."""
        with self._transaction() as db:
            _append_event(db, _Event(client_order_id, kind, ts_ns, status, venue_order_id, payload))

    def record_ack(
        self,
        client_order_id: ClientOrderId,
        ts_ns: int,
        venue_order_id: VenueOrderId,
        sent_ns: int,
        status: OrderStatus | None = None,
    ) -> None:
        """The venue's create response; `sent_ns`, when the request's last bytes left, replaces
        the intent's "sent" mark (written before the send); `status`: the order's after it."""
        event = _Event(client_order_id, EventKind.ACK, ts_ns, status, venue_order_id, None, sent_ns)
        with self._transaction() as db:
            _append_event(db, event)

    def record_fill(
        self,
        fill: Fill,
        ts_ns: int,
        status: OrderStatus | None = None,
        detail: Mapping[str, str] | None = None,
    ) -> bool:
        """Store a fill once; return False (and write nothing) for a known exec_id.

        A new fill is written with its "fill" event (carrying `status`, the order's status
        after the fill, and `detail`, e.g. the symbol and side of an order we did not send)
        in one transaction.
        """
        with self._transaction() as db:
            values = msgspec.to_builtins(fill) | {"ts_recorded_ns": ts_ns}
            cursor = db.execute(
                f"INSERT OR IGNORE INTO fills ({FILL_COLUMNS}, ts_recorded_ns)"
                f" VALUES ({', '.join(f':{name}' for name in values)})",
                values,
            )
            if cursor.rowcount != 1:
                return False
            coid = fill.client_order_id
            payload = {"exec_id": fill.exec_id, "qty": fill.qty, **(detail or {})}
            _append_event(
                db, _Event(coid, EventKind.FILL, ts_ns, status, fill.venue_order_id, payload)
            )
            return True

    def record_trading_state(self, state: TradingState, reason: str, ts_ns: int) -> None:
        """Remember the trading state, so a HALT outlives a restart."""
        self._db.execute(
            "INSERT OR REPLACE INTO trading_state (id, state, reason, ts_ns) VALUES (1, ?, ?, ?)",
            (str(state), reason, ts_ns),
        )

    def record_day_start(self, day: str, equity_usdt: Decimal, ts_ns: int) -> None:
        """Remember the equity the daily loss of `day` (UTC) is measured from."""
        self._db.execute(
            "INSERT OR REPLACE INTO day_start_equity (day, equity_usdt, ts_ns) VALUES (?, ?, ?)",
            (day, str(equity_usdt), ts_ns),
        )

    def first_intent_ns(self) -> int | None:
        """When the journal's first intent was recorded (None for an empty journal)."""
        row = self._db.execute("SELECT min(ts_recorded_ns) FROM intents").fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def day_start(self, day: str) -> Decimal | None:
        row = self._db.execute(
            "SELECT equity_usdt FROM day_start_equity WHERE day = ?", (day,)
        ).fetchone()
        return None if row is None else Decimal(row[0])

    def open_intents(self) -> list[SubmitOrder]:
        """Return the intents whose latest status is not terminal (restart recovery)."""
        return [order.command for order in self.load().open_orders]

    def find(self, client_order_id: ClientOrderId) -> JournaledOrder | None:
        """Return one journaled order, open or not."""
        row = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM intents WHERE client_order_id = ?", (client_order_id,)
        ).fetchone()
        return None if row is None else self._order_from_row(row)

    def find_traced(self, trace_id: str) -> list[JournaledOrder]:
        """Return the orders whose command carried `trace_id`, in the order journaled."""
        if not trace_id:
            return []  # orders from before issue 14 (or an operator's) share the empty one
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM intents WHERE trace_id = ? ORDER BY rowid", (trace_id,)
        ).fetchall()
        return [self._order_from_row(row) for row in rows]

    def load(self) -> JournalState:
        """Return the state to rebuild the executor's registry from after a restart."""
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM intents WHERE {_OPEN_FILTER} ORDER BY rowid", _TERMINAL
        ).fetchall()
        exec_ids = tuple(
            row[0] for row in self._db.execute("SELECT exec_id FROM fills ORDER BY rowid")
        )
        state = self._db.execute("SELECT state, reason FROM trading_state").fetchone()
        return JournalState(
            open_orders=[self._order_from_row(row) for row in rows],
            exec_ids=exec_ids,
            trading_state=None if state is None else TradingState(state[0]),
            trading_state_reason="" if state is None else state[1],
        )

    def quarantine_fills(self, fills: Sequence[QuarantinedFill], ts_ns: int) -> None:
        """Move fill rows that failed the checks to `quarantined_fills`, in one commit."""
        with self._transaction() as db:
            for fill in fills:
                db.execute(
                    f"INSERT OR REPLACE INTO quarantined_fills ({FILL_COLUMNS}, ts_recorded_ns,"
                    f" reason, ts_quarantined_ns) SELECT {FILL_COLUMNS}, ts_recorded_ns, ?, ?"
                    " FROM fills WHERE exec_id = ?",
                    (str(fill.refusal), ts_ns, fill.exec_id),
                )
                db.execute("DELETE FROM fills WHERE exec_id = ?", (fill.exec_id,))

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write: its own transaction, or a savepoint in the turn's group transaction."""
        if not self._group_commits:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return
        if not self._open:
            self._db.execute("BEGIN IMMEDIATE")
            self._open = True
            self.on_group_open()
        self._db.execute("SAVEPOINT write")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK TO write")
            self._db.execute("RELEASE write")
            raise
        self._db.execute("RELEASE write")

    def _check_version(self, path: Path) -> None:
        """Stamp a new journal; migrate an older one step by step (one commit); refuse a
        newer one (or one no migration starts from)."""
        with self._transaction() as db:
            row = db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                return
            version = row[0]
            while version != SCHEMA_VERSION and version in MIGRATIONS:
                for statement in MIGRATIONS[version]:
                    db.execute(statement)
                version += 1
            if version != SCHEMA_VERSION:
                raise JournalVersionError(f"{path}: version {row[0]}, want {SCHEMA_VERSION}")
            if version != row[0]:
                db.execute("UPDATE schema_version SET version = ?", (version,))

    def _order_from_row(self, row: tuple[Any, ...]) -> JournaledOrder:
        command = self._amended(_command_decoder.decode(row[0]))
        fills = self._db.execute(
            f"SELECT {FILL_COLUMNS} FROM fills WHERE client_order_id = ? ORDER BY rowid",
            (command.client_order_id,),
        )
        parsed = [parse_fill_row(fill) for fill in fills]
        return JournaledOrder(
            command=command,
            status=OrderStatus(row[1]),
            venue_order_id=None if row[2] is None else VenueOrderId(row[2]),
            ts_request_sent_ns=row[3],
            ts_ack_ns=row[4],
            fills=tuple(f for f in parsed if isinstance(f, Fill)),
            quarantined=tuple(f for f in parsed if isinstance(f, QuarantinedFill)),
            trace_id=row[5],
        )

    def _amended(self, command: SubmitOrder) -> SubmitOrder:
        """The intent with the qty and price of its last accepted amend, if any."""
        row = self._db.execute(
            "SELECT payload FROM events WHERE client_order_id = ? AND kind = ?"
            " ORDER BY id DESC LIMIT 1",
            (command.client_order_id, str(EventKind.AMEND)),
        ).fetchone()
        if row is None:
            return command
        change = _payload_decoder.decode(row[0])
        qty, price = change.get("qty"), change.get("limit_price")
        return msgspec.structs.replace(
            command,
            qty=Decimal(qty) if qty else command.qty,
            limit_price=Decimal(price) if price and price != "None" else command.limit_price,
        )


def _append_event(db: sqlite3.Connection, event: _Event) -> None:
    values = {
        **event._asdict(),
        "kind": str(event.kind),
        "status": None if event.status is None else str(event.status),
        "payload": _encoder.encode(event.payload or {}).decode(),
        "sent_ns": event.ts_ns
        if event.kind in (EventKind.SENT, EventKind.RESEND)
        else event.sent_ns,
        "acked": event.kind is EventKind.ACK,
    }
    db.execute(
        "INSERT INTO events (client_order_id, kind, status, venue_order_id, payload, ts_ns)"
        " VALUES (:client_order_id, :kind, :status, :venue_order_id, :payload, :ts_ns)",
        values,
    )
    db.execute(
        "UPDATE intents SET status = coalesce(:status, status),"
        " venue_order_id = coalesce(:venue_order_id, venue_order_id),"
        " ts_request_sent_ns = CASE WHEN :sent_ns THEN :sent_ns ELSE ts_request_sent_ns END,"
        " ts_ack_ns = CASE WHEN :acked AND ts_ack_ns = 0 THEN :ts_ns ELSE ts_ack_ns END"
        " WHERE client_order_id = :client_order_id",
        values,
    )
