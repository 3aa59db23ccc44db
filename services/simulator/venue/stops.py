"""Venue TP/SL: which positions carry a stop, when one triggers, the order it becomes.

`market.stop_accounts` also holds the accounts with untriggered conditional orders there
(`venue.conditional`), so a trade or a mark move checks both.

Stops trigger on the last traded price and close the whole position with a reduce-only
Market order (createType CreateByStopLoss / CreateByTakeProfit). The matching of that order
is clearing's (`clearing.run_stops`); this module only decides.
"""

from services.simulator.accounts import Account, OrderState
from services.simulator.venue.state import Market, VenueState, last_price, protection_price


def untriggered(account: Account, symbol: str) -> list[OrderState]:
    """The account's untriggered conditional orders in `symbol`, oldest first."""
    return [
        o for o in account.open_orders.values() if o.symbol == symbol and o.status == "Untriggered"
    ]


def sync_stops(state: VenueState, account: Account, market: Market) -> None:
    """Track (or stop tracking) the account's stop and conditional orders in this market."""
    pos = account.position(market.spec.symbol)
    if pos.size and (pos.take_profit is not None or pos.stop_loss is not None):
        market.stop_accounts.add(account.key)
        state.stop_check.append(market)
        return
    if not pos.size:
        pos.take_profit = pos.stop_loss = None
    # an account with untriggered orders here was added when they were placed: keep it
    if account.key in market.stop_accounts and not untriggered(account, market.spec.symbol):
        market.stop_accounts.discard(account.key)


def triggered(account: Account, market: Market) -> str:
    """ "StopLoss" or "TakeProfit" when the last price has reached one, else ""."""
    pos = account.position(market.spec.symbol)
    last = last_price(market)
    long = pos.size > 0
    if pos.stop_loss is not None and (last <= pos.stop_loss if long else last >= pos.stop_loss):
        return "StopLoss"
    if pos.take_profit is not None and (
        last >= pos.take_profit if long else last <= pos.take_profit
    ):
        return "TakeProfit"
    return ""


def stop_order(
    state: VenueState, account: Account, market: Market, kind: str, now_ms: int
) -> OrderState:
    """Clear the position's stops and return the Market order that closes it."""
    pos = account.position(market.spec.symbol)
    long = pos.size > 0
    pos.take_profit = pos.stop_loss = None
    sync_stops(state, account, market)
    return OrderState(
        order_id=state.next_order_id(),
        order_link_id="",
        account=account.key,
        symbol=market.spec.symbol,
        is_buy=not long,
        order_type="Market",
        time_in_force="IOC",
        price=protection_price(market, not long),
        qty=abs(pos.size),
        created_ms=now_ms,
        updated_ms=now_ms,
        last_price_on_created=last_price(market),
        reduce_only=True,
        close_on_trigger=True,
        create_type=f"CreateBy{kind}",
        stop_order_type=kind,
    )
