"""The venue's order history past the live part: archived, compressed, found by id.

An account keeps its last `history_kept` finished orders live (Account.finished), for the
listings. An older one is archived here: rendered as Bybit renders it, with its executions,
msgspec-encoded and zlib-compressed with the account's first archived order as the preset
dictionary (about 135 bytes instead of 660 without it; with the ids that index it, an
archived order holds about 480 bytes against 3.6 KB live). It still answers a query by
orderId or orderLinkId (/v5/order/realtime, /v5/order/history, /v5/execution/list with
orderId), and its orderLinkId stays taken (110072), so that an executor resolving an old
order in doubt gets the truth. Archived orders are dropped after Bybit's order-history
retention of 7 days.
"""

import zlib
from typing import Final

import msgspec

from services.simulator.account_views import order_to_wire
from services.simulator.accounts import Account
from services.simulator.venue.state import VenueState
from shared.bybit import wire

RETENTION_MS: Final = 7 * 86_400_000


class ArchivedOrder(msgspec.Struct, frozen=True):
    order: wire.Order
    executions: list[wire.Execution]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(ArchivedOrder)


def archive_old(state: VenueState, account: Account) -> None:
    """Archive what the account let go of; drop archived orders past the retention."""
    for order, executions in account.let_go():
        rendered = order_to_wire(order, state.markets[order.symbol].spec)
        raw = _encoder.encode(ArchivedOrder(rendered, executions))
        if not account.archive_zdict:
            account.archive_zdict = raw  # field names and most values recur in every order
        packer = zlib.compressobj(zdict=account.archive_zdict)
        account.archive[order.order_id] = (order.updated_ms, packer.compress(raw) + packer.flush())
        if order.order_link_id:
            account.archived_links[order.order_link_id] = order.order_id
    archive = account.archive
    while archive:
        order_id, (updated_ms, blob) = next(iter(archive.items()))
        if state.now - updated_ms <= RETENTION_MS:
            break
        del archive[order_id]
        link_id = _unpack(account, blob).order.order_link_id
        if account.archived_links.get(link_id) == order_id:
            del account.archived_links[link_id]


def archived(account: Account, order_id: str | None, link_id: str | None) -> ArchivedOrder | None:
    """The archived order of this id (orderId wins over orderLinkId), if any."""
    key = order_id or account.archived_links.get(link_id or "")
    entry = account.archive.get(key) if key else None
    return None if entry is None else _unpack(account, entry[1])


def _unpack(account: Account, blob: bytes) -> ArchivedOrder:
    unpacker = zlib.decompressobj(zdict=account.archive_zdict)
    return _decoder.decode(unpacker.decompress(blob) + unpacker.flush())
