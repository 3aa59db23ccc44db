"""What both simulator websockets share: the JSON encoder, acks and request decoding."""

from typing import Any, Final

import msgspec

from services.simulator.connections import Connection
from shared.bybit import wire

_encoder: Final = msgspec.json.Encoder()


def encode(message: Any) -> str:
    return _encoder.encode(message).decode()


def send_ack(
    conn: Connection, op: str, req_id: str | None, error: str = "", ret_msg: str = ""
) -> None:
    """Answer a client request: success when `error` is empty, else the error as ret_msg."""
    ack = wire.WsAck(
        success=not error, ret_msg=error or ret_msg, conn_id=conn.conn_id, req_id=req_id, op=op
    )
    conn.send(encode(ack), faultable=False)


def decode_request(conn: Connection, text: str) -> wire.WsRequest | None:
    """Return the client's request, or None after answering an undecodable one."""
    try:
        return msgspec.json.decode(text, type=wire.WsRequest)
    except msgspec.DecodeError as e:
        send_ack(conn, "", None, error=f"invalid request: {e}")
        return None
