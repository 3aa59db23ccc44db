"""ScannerService: scan the venue every interval, publish the chosen symbol and a status."""

import asyncio
import contextlib
import logging
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

import msgspec
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.scanner import making, ranking
from services.scanner.settings import ScannerSettings
from shared.bus import Publisher
from shared.bybit.errors import BybitError
from shared.bybit.rest import BybitRest
from shared.runtime import backoff_delays
from shared.runtime.bootstrap import ServiceContext, cancel_and_wait, start_metrics, upkeep
from shared.schema import (
    DECODE_ERRORS,
    MarketMakingUniverse,
    ServiceState,
    ServiceStatus,
    Symbol,
    UniverseChanged,
)

log = logging.getLogger(__name__)

STATE_FILE: Final = "scanner-state.json"  # in the run dir: the last UniverseChanged


def rules_of(settings: ScannerSettings) -> ranking.RankingRules:
    spread = settings.max_spread_bps
    return ranking.RankingRules(
        min_turnover_24h_usdt=Decimal(repr(settings.min_turnover_24h_usdt)),
        min_price=Decimal(repr(settings.min_price)),
        max_spread_bps=None if spread is None else Decimal(repr(spread)),
        blacklist=frozenset(settings.blacklist),
        whitelist=frozenset(settings.whitelist),
        whitelist_boost=settings.whitelist_boost,
        hysteresis=settings.hysteresis,
    )


def making_rules_of(settings: ScannerSettings) -> making.MakingRules:
    return making.MakingRules(
        top_n=settings.mm_top_n,
        min_turnover_24h_usdt=Decimal(repr(settings.mm_min_turnover_24h_usdt)),
        min_touch_depth_usdt=Decimal(repr(settings.mm_min_touch_depth_usdt)),
        max_spread_bps=Decimal(repr(settings.mm_max_spread_bps)),
        max_tick_bps=Decimal(repr(settings.mm_max_tick_bps)),
        blacklist=frozenset(settings.blacklist),
        hysteresis=settings.mm_hysteresis,
    )


@dataclass(frozen=True)
class Scan:
    """One scan: the one-symbol screening, and the market-making selection (None when off)."""

    screening: ranking.Screening
    selection: making.MakingSelection | None


async def fetch_scan(
    rest: BybitRest,
    rules: ranking.RankingRules,
    making_rules: making.MakingRules,
    selected: Collection[str] = (),
) -> Scan:
    """Read every Trading instrument (all pages) and every linear ticker, screen them, and
    select the market-making symbols when `making_rules.top_n` > 0 (same REST answers;
    `selected`: the current selection, favoured by the hysteresis)."""
    instruments = await rest.instruments()
    tickers = await rest.tickers()
    listings = [ranking.listing_of(i) for i in instruments]
    screening = ranking.screen(listings, map(ranking.market_stats_of, tickers), rules)
    if making_rules.top_n == 0:
        return Scan(screening, None)
    ticks = {i.symbol: i.price_filter.tick_size for i in instruments}
    stats = (making.making_stats_of(t, ticks.get(t.symbol)) for t in tickers)
    return Scan(screening, making.select(listings, stats, making_rules, selected))


async def fetch_screening(rest: BybitRest, rules: ranking.RankingRules) -> ranking.Screening:
    """Read every Trading instrument (all pages) and every linear ticker, and screen them."""
    return (await fetch_scan(rest, rules, making.MakingRules())).screening


def load_state(path: Path) -> UniverseChanged | None:
    """Return the persisted choice, or None; raise RuntimeError if the file is unreadable."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=UniverseChanged)
    except FileNotFoundError:
        return None
    except DECODE_ERRORS as e:  # not JSON, not UTF-8, not a UniverseChanged
        raise RuntimeError(f"scanner state file {path} unreadable ({e!r}); move it away") from e


def save_state(path: Path, choice: UniverseChanged) -> None:
    """Write `choice` atomically (temp file + os.replace): a crash never leaves half a file."""
    temp = path.with_name(path.name + ".tmp")
    with temp.open("wb") as out:
        out.write(msgspec.json.encode(choice))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


class ScannerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.scans = Counter("scanner_scans", "Scans attempted", registry=registry)
        self.failures = Counter(
            "scanner_scan_failures", "Failed scans", ["kind"], registry=registry
        )
        self.switches = Counter("scanner_switches", "Symbol switches", registry=registry)
        self.duration = Gauge("scanner_last_scan_duration_seconds", "Seconds", registry=registry)
        self.epoch = Gauge("scanner_epoch", "Epoch of the current symbol", registry=registry)
        self.candidates = Gauge("scanner_candidates", "Eligible symbols", registry=registry)
        self.mm_selected = Gauge(
            "scanner_mm_selected", "Symbols in the market-making selection", registry=registry
        )
        self.mm_changes = Counter(
            "scanner_mm_changes", "Market-making selections published", registry=registry
        )


class ScannerService:
    """Own the universe: choose the symbol to trade and publish it with its epoch."""

    name = "scanner"

    def __init__(self, settings: ScannerSettings, context: ServiceContext) -> None:
        self._settings = settings
        self._context = context
        self._clock = context.clock
        self._rules = rules_of(settings)
        self._making_rules = making_rules_of(settings)
        self.selection: MarketMakingUniverse | None = None  # the last one published
        self._state_path = context.run_dir / STATE_FILE
        self._metrics = ScannerMetrics(context.registry)
        self.choice: UniverseChanged | None = None  # what was last published (or restored)
        self._publisher: Publisher | None = None
        self._rest: BybitRest | None = None
        self._upkeep: asyncio.Task[None] | None = None

    async def start(self, resources: contextlib.AsyncExitStack) -> None:
        ctx = self._context
        resources.callback(ctx.node.close)
        self._publisher = ctx.node.publisher(ctx.endpoints.universe)
        server = ctx.node.snapshot_server(ctx.endpoints.universe_snapshot, self._publisher)
        resources.callback(server.close)
        self._rest = BybitRest(ctx.venue.rest_url, timeout_s=ctx.bybit.timeout_s, clock=self._clock)
        resources.push_async_callback(self._rest.close)
        start_metrics(ctx, self._settings.metrics_port, resources)
        if (restored := load_state(self._state_path)) is not None:
            reason = f"restored after restart ({restored.reason})"
            now_ns = self._clock.now_ns()
            self._publish(msgspec.structs.replace(restored, reason=reason, ts_event_ns=now_ns))
            log.info("universe restored symbol=%s epoch=%d", restored.symbol, restored.epoch)
        self._status(ServiceState.STARTING, f"first scan pending epoch={self._epoch}")
        hb_s = ctx.bus.heartbeat_interval_ms / 1000
        self._upkeep = asyncio.create_task(upkeep(self._publisher, server, hb_s), name="upkeep")
        resources.push_async_callback(cancel_and_wait, self._upkeep)

    async def run(self) -> None:
        assert self._rest is not None, "start() first"
        settings = self._settings
        delays: Iterator[float] | None = None
        while True:
            self._metrics.scans.inc()
            started_ns = self._clock.now_ns()
            try:
                selected = self.selection.symbols if self.selection is not None else ()
                scan = await fetch_scan(self._rest, self._rules, self._making_rules, selected)
            except BybitError as e:
                delays = delays or backoff_delays(
                    settings.retry_backoff_initial_s, settings.retry_backoff_max_s
                )
                pause_s = next(delays)
                self._on_scan_failed(e, pause_s)
            else:
                delays, pause_s = None, settings.interval_s
                self._metrics.duration.set((self._clock.now_ns() - started_ns) / 1e9)
                if scan.selection is not None:
                    self._on_selected(scan.selection)
                self._on_scanned(scan.screening)
            await self._pause(pause_s)

    def _on_scanned(self, screening: ranking.Screening) -> None:
        current = self.choice.symbol if self.choice else None
        decision = ranking.choose(current, screening.ranking, self._rules, screening.excluded)
        self._metrics.candidates.set(len(screening.ranking))
        counts = f"#candidates={len(screening.ranking)} #excluded={len(screening.excluded)}"
        if self.selection is not None:
            counts += f" mm={','.join(self.selection.symbols) or 'none'}"
        if decision.symbol is None:
            log.warning("nothing to trade epoch=%d reason=%s", self._epoch, decision.reason)
            self._status(ServiceState.DEGRADED, f"{decision.reason}; {counts}")
            return
        if decision.switched:
            self._switch(Symbol(decision.symbol), decision.reason, screening)
        held = next(r for r in screening.ranking if r.symbol == decision.symbol)
        detail = f"{decision.symbol} epoch={self._epoch} score={held.score:.4g} {counts}"
        self._status(ServiceState.RUNNING, detail)
        log.info("scanned symbol=%s decision=%s %s", decision.symbol, decision.reason, counts)

    def _on_selected(self, selection: making.MakingSelection) -> None:
        """Publish the market-making selection when its symbols changed (or at first)."""
        self._metrics.mm_selected.set(len(selection.symbols))
        was = self.selection.symbols if self.selection is not None else None
        if was == selection.symbols:
            return
        shown = max(self._settings.top_n, self._making_rules.top_n)
        before = ", ".join(was) if was else "none"
        now = ", ".join(selection.symbols) if selection.symbols else "none"
        message = MarketMakingUniverse(
            symbols=selection.symbols,
            ranking=selection.ranking[:shown],
            reason=f"{now} selected (were {before}); #eligible={len(selection.ranking)}",
            ts_event_ns=self._clock.now_ns(),
        )
        assert self._publisher is not None, "start() first"
        self.selection = message
        self._publisher.send(message)
        self._metrics.mm_changes.inc()
        log.info("market-making selection symbols=%s was=%s", now, before)

    def _switch(self, symbol: Symbol, reason: str, screening: ranking.Screening) -> None:
        was = self.choice.symbol if self.choice else None
        choice = UniverseChanged(
            symbol=symbol,
            epoch=self._epoch + 1,
            ranking=screening.ranking[: self._settings.top_n],
            reason=reason,
            ts_event_ns=self._clock.now_ns(),
        )
        save_state(self._state_path, choice)  # before sending: an epoch is never reused
        self._publish(choice)
        self._metrics.switches.inc()
        log.info("switched symbol=%s epoch=%d was=%s reason=%s", symbol, choice.epoch, was, reason)

    def _on_scan_failed(self, e: BybitError, retry_s: float) -> None:
        self._metrics.failures.labels(e.kind).inc()
        keep = self.choice.symbol if self.choice else None
        log.warning("scan failed kind=%s keep=%s retry_s=%.2f error=%s", e.kind, keep, retry_s, e)
        detail = f"REST {e.kind}: {str(e)[:160]}; keeping {keep}, retry in {retry_s:.2f} s"
        self._status(ServiceState.DEGRADED, detail)

    @property
    def _epoch(self) -> int:
        return self.choice.epoch if self.choice else 0

    def _publish(self, choice: UniverseChanged) -> None:
        assert self._publisher is not None, "start() first"
        self.choice = choice
        self._metrics.epoch.set(choice.epoch)
        self._publisher.send(choice)

    def _status(self, state: ServiceState, detail: str) -> None:
        assert self._publisher is not None, "start() first"
        now_ns = self._clock.now_ns()
        self._publisher.send(
            ServiceStatus(service=self.name, state=state, detail=detail, ts_event_ns=now_ns)
        )

    async def _pause(self, pause_s: float) -> None:
        """Sleep `pause_s`, but end the service at once if the upkeep task ended."""
        assert self._upkeep is not None
        done, _ = await asyncio.wait({self._upkeep}, timeout=pause_s)
        if done:
            self._upkeep.result()
            raise RuntimeError("scanner upkeep task ended")
