"""Every linear or generic Bybit capture in tests/fixtures/bybit decodes into its wire type."""

from pathlib import Path
from typing import Any

import msgspec
import pytest

from shared.bybit import wire
from tests.helpers.fixtures import BYBIT_FIXTURES as FIXTURES

# REST bodies: the envelope, then `result` decoded from the Raw bytes (as rest.py does).
REST: dict[str, Any] = {
    "rest_account_wallet_balance_response_docexample.json": wire.WalletList,
    "rest_execution_list_response_docexample.json": wire.ExecutionList,
    "rest_market_instruments_info_linear.json": wire.InstrumentsPage,
    "rest_market_tickers_linear.json": wire.TickerList,
    "rest_order_create_response_docexample.json": wire.OrderIds,
    "rest_order_realtime_response_docexample.json": wire.OrderList,
    "rest_position_list_response_docexample.json": wire.PositionList,
}

# Websocket frames, whole. Kline frames have no wire type yet: only the probe is checked.
WS: dict[str, Any] = {
    "ws_client_subscribe_request_linear.json": wire.WsRequest,
    "ws_client_subscribe_request_orderbook50.json": wire.WsRequest,
    "ws_private_auth_success.json": wire.WsAck,
    "ws_private_execution_linear_docexample.json": wire.PrivateMessage[wire.ExecutionEvent],
    "ws_private_execution_spot.json": wire.PrivateMessage[wire.ExecutionEvent],
    "ws_private_order_option_docexample.json": wire.PrivateMessage[wire.OrderEvent],
    "ws_private_order_spot_filled.json": wire.PrivateMessage[wire.OrderEvent],
    "ws_private_order_spot_partiallyfilledcanceled.json": wire.PrivateMessage[wire.OrderEvent],
    "ws_private_pong.json": wire.WsPong,
    "ws_private_position_linear_docexample.json": wire.PrivateMessage[wire.PositionEvent],
    "ws_private_subscribe_ack.json": wire.WsAck,
    "ws_private_wallet.json": wire.PrivateMessage[wire.Wallet],
    "ws_public_linear_kline.json": wire.TopicProbe,
    "ws_public_linear_kline_confirm.json": wire.TopicProbe,
    "ws_public_linear_orderbook1_snapshot.json": wire.OrderBookMessage,
    "ws_public_linear_orderbook200_delta.json": wire.OrderBookMessage,
    "ws_public_linear_orderbook200_snapshot.json": wire.OrderBookMessage,
    "ws_public_linear_orderbook500_delta.json": wire.OrderBookMessage,
    "ws_public_linear_orderbook500_snapshot.json": wire.OrderBookMessage,
    "ws_public_linear_orderbook50_delta.json": wire.OrderBookMessage,
    "ws_public_linear_orderbook50_snapshot.json": wire.OrderBookMessage,
    "ws_public_linear_pong_docexample.json": wire.WsAck,
    "ws_public_linear_publicTrade.json": wire.PublicTradeMessage,
    "ws_public_linear_publicTrade_multi.json": wire.PublicTradeMessage,
    "ws_public_linear_subscribe_ack.json": wire.WsAck,
    "ws_public_linear_subscribe_ack_testnet2023.json": wire.WsAck,
    "ws_public_linear_tickers_delta.json": wire.TickerMessage,
    "ws_public_linear_tickers_snapshot.json": wire.TickerMessage,
}

# Spot-only captures: not our contract.
NOT_LINEAR = {"rest_market_instruments_info_spot.json"}
# Answers of endpoints the project's client does not call: no wire type; the simulator's
# answers are held against their shape in tests/contract/test_simulator_wire_more.py.
SHAPE_ONLY = {
    "rest_account_fee_rate_response_docexample.json",
    "rest_account_transaction_log_response_docexample.json",
    "rest_market_funding_history_response_docexample.json",
    "rest_market_mark_price_kline_response_docexample.json",
    "rest_market_open_interest_response_docexample.json",
    "rest_order_amend_batch_response_docexample.json",
    "rest_order_cancel_batch_response_docexample.json",
    "rest_order_create_batch_response_docexample.json",
    "rest_position_closed_pnl_response_docexample.json",
}


def _errors() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("rest_error_*.json"))


def _linear_or_generic() -> set[str]:
    patterns = ("rest_*.json", "ws_private_*.json", "ws_public_linear_*.json", "ws_client_*.json")
    return {p.name for pattern in patterns for p in FIXTURES.glob(pattern)} - NOT_LINEAR


def test_every_linear_or_generic_fixture_is_checked() -> None:
    checked = set(REST) | set(WS) | set(_errors()) | SHAPE_ONLY

    assert _linear_or_generic() == checked


@pytest.mark.parametrize("name", sorted(REST))
def test_rest_fixture_decodes_into_its_result_type(name: str) -> None:
    envelope = msgspec.json.decode((FIXTURES / name).read_bytes(), type=wire.RawResponse)

    result = msgspec.json.decode(envelope.result, type=REST[name])

    assert envelope.ret_code == 0
    assert isinstance(result, REST[name])


@pytest.mark.parametrize("name", _errors())
def test_rest_error_fixture_decodes_into_the_envelope_with_its_code(name: str) -> None:
    code = int(name.split("_")[2])

    envelope = msgspec.json.decode((FIXTURES / name).read_bytes(), type=wire.RawResponse)

    assert envelope.ret_code == code
    assert envelope.ret_msg


@pytest.mark.parametrize("name", sorted(WS))
def test_ws_fixture_decodes_into_its_wire_type(name: str) -> None:
    data = (FIXTURES / name).read_bytes()

    message = msgspec.json.decode(data, type=WS[name])
    probe = msgspec.json.decode(data, type=wire.TopicProbe)

    assert isinstance(message, msgspec.Struct)
    # Every frame is routable: data frames by topic, replies and requests by op.
    assert (probe.topic is None) != (probe.op is None)


def test_linear_instruments_fixture_has_every_page_field_needed_for_rules() -> None:
    envelope = msgspec.json.decode(
        (FIXTURES / "rest_market_instruments_info_linear.json").read_bytes(),
        type=wire.RawResponse,
    )

    page = msgspec.json.decode(envelope.result, type=wire.InstrumentsPage)

    assert len(page.list) > 500
    assert all(i.price_filter.tick_size > 0 and i.lot_size_filter.qty_step > 0 for i in page.list)


def test_every_shape_only_fixture_is_held_against_the_simulator() -> None:
    contract = Path(__file__).parents[3] / "contract" / "test_simulator_wire_more.py"
    text = contract.read_text()
    assert {name for name in SHAPE_ONLY if f'"{name}"' not in text} == set()
