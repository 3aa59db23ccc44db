"""What both simulator websockets share: the JSON encoder, acks and request decoding."""

from typing import Any, Final

import msgspec

from services.simulator.connections import Connection

_encoder: Final = msgspec.json.Encoder()

ReqId = str | int | None  # Bybit echoes req_id as it came: ccxt sends a number


class ClientRequest(msgspec.Struct, kw_only=True):
    """A client op: subscribe, unsubscribe, ping, auth (wire.WsRequest with any req_id)."""

    op: str
    args: list[Any] = msgspec.field(default_factory=list)
    req_id: ReqId = None


class Ack(msgspec.Struct, kw_only=True):
    """wire.WsAck with the client's req_id as it came."""

    success: bool
    ret_msg: str = ""
    conn_id: str = ""
    req_id: ReqId = None
    op: str


class Pong(msgspec.Struct, kw_only=True):
    """wire.WsPong (the private stream's reply to ping) with the client's req_id."""

    op: str
    args: list[str] = msgspec.field(default_factory=list)
    conn_id: str = ""
    req_id: ReqId = None


def encode(message: Any) -> str:
    return _encoder.encode(message).decode()


def send_ack(conn: Connection, op: str, req_id: ReqId, error: str = "", ret_msg: str = "") -> None:
    """Answer a client request: success when `error` is empty, else the error as ret_msg."""
    ack = Ack(
        success=not error, ret_msg=error or ret_msg, conn_id=conn.conn_id, req_id=req_id, op=op
    )
    conn.send(encode(ack), faultable=False)


def decode_request(conn: Connection, text: str) -> ClientRequest | None:
    """Return the client's request, or None after answering an undecodable one."""
    try:
        return msgspec.json.decode(text, type=ClientRequest)
    except msgspec.DecodeError as e:
        send_ack(conn, "", None, error=f"invalid request: {e}")
        return None
