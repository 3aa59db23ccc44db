"""The record and registry changes report_core asks for, carried out: one place for the
live shell (venue_events.VenueEvents) and the backtest's (research.backtest.reports), which
differ only in what is around them (a journal, a log, a guard)."""

from typing import assert_never

from services.executor.registry import OrderRegistry
from services.executor.report_core import (
    AckOrder,
    ApplyFill,
    ApplyStatus,
    RememberExecId,
    SetPosition,
)

RegistryEffect = RememberExecId | ApplyFill | AckOrder | ApplyStatus | SetPosition


def apply_to_registry(effect: RegistryEffect, registry: OrderRegistry) -> None:
    match effect:
        case RememberExecId(exec_id=exec_id):
            registry.exec_ids.add(exec_id)
        case ApplyFill(record=record, fill=fill):
            record.apply_fill(fill.exec_id, fill.qty, fill.price, fill.fee)
        case AckOrder(record=record, venue_order_id=venue_order_id, ts_ns=ts_ns):
            record.record_ack(venue_order_id, ts_ns)
            registry.index(record)
        case ApplyStatus(record=record, status=status):
            record.apply_status(status)
        case SetPosition(position=position, seq=seq, streamed_ns=streamed_ns):
            registry.position_seq[position.symbol] = seq
            if streamed_ns is not None:
                registry.position_streamed_ns[position.symbol] = streamed_ns
            registry.positions[position.symbol] = position
        case _:
            assert_never(effect)
