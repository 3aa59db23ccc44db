"""The simulator's /v5/public/linear: order books (snapshot, then deltas with u and seq),
public trades and tickers, as Bybit V5 sends them."""

import re
from collections import defaultdict
from decimal import Decimal
from typing import Any, Final

import msgspec
from aiohttp import web

from services.simulator.book_topics import BookTopic
from services.simulator.connections import Connection, ConnectionRegistry, serve
from services.simulator.faults import FaultInjector
from services.simulator.kline_topic import INTERVALS as KLINE_INTERVALS
from services.simulator.kline_topic import KlineTopics
from services.simulator.venue import Venue
from services.simulator.ws_frames import decode_request, encode, send_ack
from shared.bybit import wire
from shared.runtime.clock import Clock

_PUBLIC_TOPIC: Final = re.compile(
    rf"^(orderbook\.(1|50|200|1000)|publicTrade|tickers|kline\.(?:{KLINE_INTERVALS}))\.([A-Z0-9]+)$"
)
TICKER_INTERVAL_MS: Final = 100


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

    def __init__(self, venue: Venue, faults: FaultInjector, clock: Clock) -> None:
        self._venue = venue
        self._faults = faults
        self._clock = clock
        self.registry = ConnectionRegistry(faults)
        self._books: dict[str, BookTopic] = {}
        self._tickers_sent: dict[str, dict[str, Any]] = {}
        self._last_tickers_ms = 0
        self._klines = KlineTopics(venue)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        return await serve(request, self.registry, self._on_text)

    def _on_text(self, conn: Connection, text: str) -> None:
        request = decode_request(conn, text)
        if request is None:
            return
        req_id = "" if request.req_id is None else request.req_id
        if request.op == "ping":
            send_ack(conn, "ping", req_id, ret_msg="pong")
            return
        if request.op not in ("subscribe", "unsubscribe"):
            send_ack(conn, request.op, req_id, error=f"unknown op {request.op}")
            return
        topics = [str(t) for t in request.args]
        if request.op == "unsubscribe":
            conn.topics.difference_update(topics)
            send_ack(conn, request.op, req_id)
            return
        bad = [t for t in topics if not self._valid(t)]
        already = [t for t in topics if t in conn.topics]
        if bad or already:
            reason = (
                f"handler not found,topic:{bad[0]}"
                if bad
                else f"already subscribed,topic:{already[0]}"
            )
            send_ack(conn, "subscribe", req_id, error=f"error:{reason}")
            return
        send_ack(conn, "subscribe", req_id)
        for topic in topics:
            self._send_first(conn, topic)

    def _valid(self, topic: str) -> bool:
        match = _PUBLIC_TOPIC.match(topic)
        return match is not None and self._venue.has_symbol(match.group(3))

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
        if topic.startswith("kline."):
            conn.send(self._klines.first(topic, now_ms, self._ts(now_ms)))
        if topic.startswith("tickers."):
            data = self._ticker_fields(topic.removeprefix("tickers."))
            conn.send(
                encode(
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
        self._klines.publish(self.registry, topics, now_ms, self._ts(now_ms))
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
        bids, asks = self._venue.book_top(book.symbol, book.depth)
        skip = self._faults.hit("u_gap", faults.u_gap_rate)
        delta = book.update(bids, asks, skip_u=skip)
        if (
            delta is not None
            and book.depth > 1
            and self._faults.hit("crossed_book", faults.crossed_book_rate)
        ):
            self._send_delta(book, topic, delta, now_ms)
            delta = book.cross(self._venue.tick_size(book.symbol))
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
        return encode(wire.OrderBookMessage(topic=topic, type=kind, ts=ts, data=data, cts=ts - 2))

    def _publish_trades(self, topics: set[str], now_ms: int) -> None:
        by_symbol: dict[str, list[wire.PublicTradeData]] = defaultdict(list)
        for trade in self._venue.take_public_trades():
            by_symbol[trade.s].append(trade)
        for symbol, trades in by_symbol.items():
            topic = f"publicTrade.{symbol}"
            if topic not in topics:
                continue
            frame = encode(
                wire.PublicTradeMessage(
                    topic=topic, type="snapshot", ts=self._ts(now_ms), data=trades
                )
            )
            for conn in self.registry.subscribers(topic):
                conn.send(frame)

    def _ticker_fields(self, symbol: str) -> dict[str, Any]:
        fields: dict[str, Any] = msgspec.to_builtins(ticker_data(self._venue.tickers(symbol)[0]))
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
        frame = encode(
            {"topic": topic, "type": "delta", "data": changed, "cs": now_ms, "ts": self._ts(now_ms)}
        )
        for conn in self.registry.subscribers(topic):
            conn.send(frame)

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _ts(self, now_ms: int) -> int:
        return now_ms - int(self._faults.faults.stale_ms)
