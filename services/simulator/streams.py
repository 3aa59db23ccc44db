"""The simulator's websockets: /v5/public/linear and /v5/private, as Bybit V5 speaks them."""

import logging
import re
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any, Final

import msgspec
from aiohttp import web

from services.simulator.book_topics import BookTopic
from services.simulator.connections import Connection, ConnectionRegistry, serve
from services.simulator.exchange import Exchange
from services.simulator.faults import FaultInjector
from shared.bybit import wire
from shared.bybit.auth import signatures_match, ws_auth_signature
from shared.runtime.clock import Clock

log = logging.getLogger(__name__)

_encoder: Final = msgspec.json.Encoder()
_PUBLIC_TOPIC: Final = re.compile(
    r"^(orderbook\.(1|50|200|1000)|publicTrade|tickers)\.([A-Z0-9]+)$"
)
PRIVATE_TOPICS: Final = frozenset(
    {
        "order",
        "execution",
        "position",
        "wallet",
        "order.linear",
        "execution.linear",
        "position.linear",
    }
)
TICKER_INTERVAL_MS: Final = 100


def _encode(message: Any) -> str:
    return _encoder.encode(message).decode()


def _decode_request(conn: Connection, text: str) -> wire.WsRequest | None:
    try:
        return msgspec.json.decode(text, type=wire.WsRequest)
    except msgspec.DecodeError as e:
        conn.send(
            _encode(
                wire.WsAck(
                    success=False, ret_msg=f"invalid request: {e}", conn_id=conn.conn_id, op=""
                )
            ),
            faultable=False,
        )
        return None


def ticker_data(t: wire.Ticker) -> wire.TickerData:
    """Return the websocket form of a ticker (its field set differs from REST's)."""
    last, prev = t.last_price, t.prev_price24h
    return wire.TickerData(
        symbol=t.symbol,
        tick_direction="PlusTick" if last >= prev else "MinusTick",
        price24h_pcnt=str(t.price24h_pcnt),
        last_price=str(last),
        prev_price24h=str(prev),
        high_price24h=str(t.high_price24h),
        low_price24h=str(t.low_price24h),
        prev_price1h=t.prev_price1h,
        mark_price=t.mark_price,
        index_price=t.index_price,
        open_interest=t.open_interest,
        open_interest_value=t.open_interest_value,
        turnover24h=str(t.turnover24h),
        volume24h=str(t.volume24h),
        funding_interval_hour="8",
        funding_cap="0.005",
        single_open_interest=t.open_interest,
        single_open_interest_value=t.open_interest_value,
        next_funding_time=t.next_funding_time,
        funding_rate=t.funding_rate,
        bid1_price=t.bid1_price,
        bid1_size=t.bid1_size,
        ask1_price=t.ask1_price,
        ask1_size=t.ask1_size,
        pre_open_price="",
        pre_qty="",
        cur_pre_listing_phase="",
    )


class PublicStream:
    """Order books (snapshot, then deltas with u and seq), public trades and tickers."""

    def __init__(self, exchange: Exchange, faults: FaultInjector, clock: Clock) -> None:
        self._exchange = exchange
        self._faults = faults
        self._clock = clock
        self.registry = ConnectionRegistry(faults)
        self._books: dict[str, BookTopic] = {}
        self._tickers_sent: dict[str, dict[str, Any]] = {}
        self._last_tickers_ms = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.registry, self._on_text)

    def _on_text(self, conn: Connection, text: str) -> None:
        request = _decode_request(conn, text)
        if request is None:
            return
        req_id = request.req_id or ""
        if request.op == "ping":
            conn.send(
                _encode(
                    wire.WsAck(
                        success=True, ret_msg="pong", conn_id=conn.conn_id, req_id=req_id, op="ping"
                    )
                ),
                faultable=False,
            )
            return
        if request.op not in ("subscribe", "unsubscribe"):
            conn.send(
                _encode(
                    wire.WsAck(
                        success=False,
                        ret_msg=f"unknown op {request.op}",
                        conn_id=conn.conn_id,
                        req_id=req_id,
                        op=request.op,
                    )
                ),
                faultable=False,
            )
            return
        topics = [str(t) for t in request.args]
        bad = [t for t in topics if not self._valid(t)]
        if request.op == "subscribe" and bad:
            ack = wire.WsAck(
                success=False,
                ret_msg=f"error:handler not found,topic:{bad[0]}",
                conn_id=conn.conn_id,
                req_id=req_id,
                op="subscribe",
            )
            conn.send(_encode(ack), faultable=False)
            return
        if request.op == "subscribe":
            already = [t for t in topics if t in conn.topics]
            if already:
                ack = wire.WsAck(
                    success=False,
                    ret_msg=f"error:already subscribed,topic:{already[0]}",
                    conn_id=conn.conn_id,
                    req_id=req_id,
                    op="subscribe",
                )
                conn.send(_encode(ack), faultable=False)
                return
        else:
            conn.topics.difference_update(topics)
        conn.send(
            _encode(
                wire.WsAck(
                    success=True, ret_msg="", conn_id=conn.conn_id, req_id=req_id, op=request.op
                )
            ),
            faultable=False,
        )
        if request.op == "subscribe":
            for topic in topics:
                self._send_first(conn, topic)

    def _valid(self, topic: str) -> bool:
        match = _PUBLIC_TOPIC.match(topic)
        return match is not None and self._exchange.has_symbol(match.group(3))

    def _send_first(self, conn: Connection, topic: str) -> None:
        """Send what a new subscriber gets first: a book snapshot, a ticker snapshot."""
        now_ms = self._now_ms()
        if topic.startswith("orderbook."):
            book = self._book(topic)
            self._refresh(book, topic, now_ms)  # existing subscribers first get any delta
            conn.topics.add(topic)  # only now: its first frame must be the snapshot
            bids, asks = book.snapshot()
            conn.send(self._book_frame(topic, "snapshot", book, bids, asks, now_ms))
            return
        conn.topics.add(topic)
        if topic.startswith("tickers."):
            data = self._ticker_fields(topic.removeprefix("tickers."))
            conn.send(
                _encode(
                    {
                        "topic": topic,
                        "type": "snapshot",
                        "data": data,
                        "cs": now_ms,
                        "ts": self._ts(now_ms),
                    }
                )
            )

    def publish(self, now_ms: int) -> None:
        """Send every change since the last call to the subscribers of each topic."""
        topics = {t for c in self.registry.connections for t in c.topics}
        for topic in topics:
            if topic.startswith("orderbook."):
                self._refresh(self._book(topic), topic, now_ms)
        self._publish_trades(topics, now_ms)
        if now_ms - self._last_tickers_ms >= TICKER_INTERVAL_MS:
            self._last_tickers_ms = now_ms
            for topic in topics:
                if topic.startswith("tickers."):
                    self._publish_ticker_delta(topic, now_ms)

    def _book(self, topic: str) -> BookTopic:
        book = self._books.get(topic)
        if book is None:
            _, depth, symbol = topic.split(".")
            book = self._books[topic] = BookTopic(symbol, int(depth))
        return book

    def _refresh(self, book: BookTopic, topic: str, now_ms: int) -> None:
        faults = self._faults.faults
        bids, asks = self._exchange.book_top(book.symbol, book.depth)
        skip = self._faults.hit("u_gap", faults.u_gap_rate)
        delta = book.update(bids, asks, skip_u=skip)
        if (
            delta is not None
            and book.depth > 1
            and self._faults.hit("crossed_book", faults.crossed_book_rate)
        ):
            self._send_delta(book, topic, delta, now_ms)
            delta = book.cross(self._exchange.tick_size(book.symbol))
        if delta is not None:
            self._send_delta(book, topic, delta, now_ms)

    def _send_delta(
        self,
        book: BookTopic,
        topic: str,
        delta: tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]],
        now_ms: int,
    ) -> None:
        subscribers = self.registry.subscribers(topic)
        if not subscribers:
            return
        if book.depth == 1:  # depth 1 is pushed as snapshots only
            frame = self._book_frame(topic, "snapshot", book, *book.snapshot(), now_ms)
        else:
            frame = self._book_frame(topic, "delta", book, *delta, now_ms)
        for conn in subscribers:
            conn.send(frame)

    def _book_frame(
        self,
        topic: str,
        kind: str,
        book: BookTopic,
        bids: list[tuple[Decimal, Decimal]],
        asks: list[tuple[Decimal, Decimal]],
        now_ms: int,
    ) -> str:
        ts = self._ts(now_ms)
        data = wire.OrderBookData(s=book.symbol, b=bids, a=asks, u=book.u, seq=book.seq)
        return _encode(wire.OrderBookMessage(topic=topic, type=kind, ts=ts, data=data, cts=ts - 2))

    def _publish_trades(self, topics: set[str], now_ms: int) -> None:
        by_symbol: dict[str, list[wire.PublicTradeData]] = defaultdict(list)
        for trade in self._exchange.take_public_trades():
            by_symbol[trade.s].append(trade)
        for symbol, trades in by_symbol.items():
            topic = f"publicTrade.{symbol}"
            if topic not in topics:
                continue
            frame = _encode(
                wire.PublicTradeMessage(
                    topic=topic, type="snapshot", ts=self._ts(now_ms), data=trades
                )
            )
            for conn in self.registry.subscribers(topic):
                conn.send(frame)

    def _ticker_fields(self, symbol: str) -> dict[str, Any]:
        fields: dict[str, Any] = msgspec.to_builtins(ticker_data(self._exchange.tickers(symbol)[0]))
        self._tickers_sent[symbol] = fields
        return fields

    def _publish_ticker_delta(self, topic: str, now_ms: int) -> None:
        symbol = topic.removeprefix("tickers.")
        before = self._tickers_sent.get(symbol, {})
        after = self._ticker_fields(symbol)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if not changed:
            return
        changed["symbol"] = symbol
        frame = _encode(
            {"topic": topic, "type": "delta", "data": changed, "cs": now_ms, "ts": self._ts(now_ms)}
        )
        for conn in self.registry.subscribers(topic):
            conn.send(frame)

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _ts(self, now_ms: int) -> int:
        return now_ms - int(self._faults.faults.stale_ms)


class PrivateStream:
    """Authenticated order, execution, position and wallet events per account."""

    def __init__(self, secrets: dict[str, str], faults: FaultInjector, clock: Clock) -> None:
        self._secrets = secrets
        self._faults = faults
        self._clock = clock
        self.registry = ConnectionRegistry(faults)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.registry, self._on_text)

    def _on_text(self, conn: Connection, text: str) -> None:
        request = _decode_request(conn, text)
        if request is None:
            return
        if request.op == "ping":
            pong = wire.WsPong(
                op="pong",
                args=[str(self._clock.now_ns() // 1_000_000)],
                conn_id=conn.conn_id,
                req_id=request.req_id,
            )
            conn.send(_encode(pong), faultable=False)
            return
        if request.op == "auth":
            ok, reason = self._authenticate(request.args)
            if ok:
                conn.account = str(request.args[0])
            ack = wire.WsAck(
                success=ok, ret_msg=reason, conn_id=conn.conn_id, req_id=request.req_id, op="auth"
            )
            conn.send(_encode(ack), faultable=False)
            return
        if request.op in ("subscribe", "unsubscribe"):
            conn.send(_encode(self._subscribe(conn, request)), faultable=False)
            return
        conn.send(
            _encode(
                wire.WsAck(
                    success=False,
                    ret_msg=f"unknown op {request.op}",
                    conn_id=conn.conn_id,
                    req_id=request.req_id,
                    op=request.op,
                )
            ),
            faultable=False,
        )

    def _authenticate(self, args: list[Any]) -> tuple[bool, str]:
        if len(args) != 3:
            return False, "auth needs [api_key, expires, signature]"
        api_key, expires, signature = args
        secret = self._secrets.get(str(api_key))
        if secret is None:
            return False, "error:invalid api key"
        if not isinstance(expires, int) or expires <= self._clock.now_ns() // 1_000_000:
            return False, "error:params error: expires must be a future ms timestamp"
        if not signatures_match(ws_auth_signature(secret, expires), str(signature)):
            return False, "error:signature verification failed"
        return True, ""

    def _subscribe(self, conn: Connection, request: wire.WsRequest) -> wire.WsAck:
        topics = [str(t) for t in request.args]
        if conn.account is None:
            return wire.WsAck(
                success=False,
                ret_msg="error:request not authorized",
                conn_id=conn.conn_id,
                req_id=request.req_id,
                op=request.op,
            )
        bad = [t for t in topics if t not in PRIVATE_TOPICS]
        if bad:
            return wire.WsAck(
                success=False,
                ret_msg=f"error:handler not found,topic:{bad[0]}",
                conn_id=conn.conn_id,
                req_id=request.req_id,
                op=request.op,
            )
        if request.op == "subscribe":
            conn.topics.update(topics)
        else:
            conn.topics.difference_update(topics)
        return wire.WsAck(
            success=True, ret_msg="", conn_id=conn.conn_id, req_id=request.req_id, op=request.op
        )

    def publish(self, events: list[tuple[str, str, Any]]) -> None:
        """Send each (account, topic, data) to that account's subscribers, grouped per topic."""
        now_ms = self._clock.now_ns() // 1_000_000 - int(self._faults.faults.stale_ms)
        grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for account, topic, data in events:
            grouped[(account, topic)].append(data)
        for (account, topic), items in grouped.items():
            for conn in self.registry.connections:
                if conn.account != account:
                    continue
                for name in (topic, f"{topic}.linear"):
                    if name in conn.topics:
                        message = {
                            "id": uuid.uuid4().hex,
                            "topic": name,
                            "creationTime": now_ms,
                            "data": items,
                        }
                        conn.send(_encode(message))
