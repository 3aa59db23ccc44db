"""Print the messages of any bus endpoint as JSON lines: the first tool for debugging a service.

Run it as scripts/tap (which sets up .venv first). See --help.
"""

import argparse
import signal
import sys
import time
from typing import IO, Any

import msgspec

from shared.bus import BusNode, Delivery, Header, Receiver, Signer, SnapshotTimeout
from shared.runtime import LiveClock
from shared.settings import (
    BusSettings,
    Secrets,
    SettingsError,
    SystemSettings,
    load_section,
    resolve_run_dir,
)

_SUBSCRIBABLE = ("universe", "market-data", "execution-events", "strategy-events")
_EXAMPLES = """
endpoints (keys of [bus.endpoints] in the settings file, or a raw address):
  universe           the scanner's UniverseChanged
  market-data        the feed's quotes, trades, books, feed status (md.<kind>.<SYMBOL>.)
  execution-events   the executor's order, fill, position and balance events (exec.)
  strategy-events    the strategy's state, decisions and heartbeats (strategy., hb.)
  ipc://... tcp://...  any publisher's address

examples:
  scripts/tap market-data md.quote.BTCUSDT.     quotes of one symbol
  scripts/tap execution-events --snapshot       the executor's state, then its events
  scripts/tap universe --count 1 --timeout 90   wait for the next universe change
  scripts/tap market-data hb. --heartbeats      who is alive on that socket
"""

_json = msgspec.json.Encoder()


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/tap",
        description="Subscribe to a bus endpoint and print each decoded message as one JSON line.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("endpoint", help="a [bus.endpoints] key or an ipc:// or tcp:// address")
    parser.add_argument("prefixes", nargs="*", default=[""], help="topic prefixes (default: all)")
    parser.add_argument("--count", type=int, help="exit after this many messages")
    parser.add_argument("--timeout", type=float, help="exit after this many seconds")
    parser.add_argument(
        "--snapshot", action="store_true", help="print the publisher's snapshot first (Clone)"
    )
    parser.add_argument("--heartbeats", action="store_true", help="print heartbeats too")
    return parser.parse_args(argv)


def _resolve(
    name: str, bus: BusSettings, run_dir_settings: SystemSettings
) -> tuple[str, str | None]:
    """Return (address, snapshot address or None) for an endpoint key or a raw address."""
    if "://" in name:
        return name, None
    if name not in _SUBSCRIBABLE:
        raise SystemExit(
            f"error: {name!r} is not a publisher endpoint; choose one of {', '.join(_SUBSCRIBABLE)}"
            " (commands travel on PUSH/PULL and are not broadcast: tap execution-events to see"
            " what the executor did with them)"
        )
    endpoints = bus.endpoints.resolved(resolve_run_dir(run_dir_settings))
    field = name.replace("-", "_")
    snapshot_field = {
        "universe": "universe_snapshot",
        "market_data": "market_data_snapshot",
        "execution_events": "execution_snapshot",
        "strategy_events": "strategy_snapshot",
    }[field]
    return getattr(endpoints, field), getattr(endpoints, snapshot_field)


def _line(delivery: Delivery, snapshot: bool) -> bytes:
    record: dict[str, Any] = {
        "topic": delivery.topic.decode(errors="replace"),
        "sender": delivery.header.sender,
        "seq": delivery.header.seq,
        "ts_sent_ns": delivery.header.ts_sent_ns,
        "ts_recv_ns": delivery.ts_recv_ns,
        "latency_us": round((delivery.ts_recv_ns - delivery.header.ts_sent_ns) / 1000, 1),
        "message": delivery.message,
    }
    if snapshot:
        record["snapshot"] = True
    return _json.encode(record) + b"\n"


def _print_snapshot(
    node: BusNode, receiver: Receiver, address: str, prefix: str, out: IO[bytes]
) -> None:
    """Print the publisher's current state, and skip the updates it already contains."""
    reply = node.snapshot_client(address).fetch(prefix, node.settings.snapshot_timeout_ms / 1000)
    receiver.apply_snapshot(reply)
    for topic, message in reply.messages:
        header = Header(0, reply.sender, reply.incarnation, reply.topic_seqs[topic], 0)
        out.write(_line(Delivery(topic, header, message, 0), snapshot=True))
    out.flush()


def _follow(receiver: Receiver, count: int | None, timeout_s: float | None, out: IO[bytes]) -> int:
    """Print messages until `count` were printed or `timeout_s` passed; return how many."""
    printed = 0
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    try:
        while count is None or printed < count:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not receiver.poll(200):
                continue
            for delivery in receiver.drain(max_messages=1000 if count is None else count - printed):
                out.write(_line(delivery, snapshot=False))
                printed += 1
            out.flush()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: a normal way to stop a tap
        pass
    return printed


def main(argv: list[str]) -> int:
    args = _parse(argv)
    try:
        bus = load_section("bus", BusSettings)
        system = load_section("system", SystemSettings)
        address, snapshot_address = _resolve(args.endpoint, bus, system)
    except (SettingsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.snapshot and snapshot_address is None:
        print("error: --snapshot needs an endpoint key, not an address", file=sys.stderr)
        return 2
    signer = Signer(Secrets.from_environment().bus_hmac_key)
    node = BusNode("tap", bus, signer=signer, clock=LiveClock())
    receiver = node.subscriber([address], args.prefixes, deliver_heartbeats=args.heartbeats)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"tap: listening on {address} prefixes={args.prefixes}", file=sys.stderr)
    printed = 0
    try:
        if snapshot_address is not None and args.snapshot:
            _print_snapshot(node, receiver, snapshot_address, args.prefixes[0], sys.stdout.buffer)
        printed = _follow(receiver, args.count, args.timeout, sys.stdout.buffer)
    except SnapshotTimeout:
        print(
            f"error: no snapshot from {snapshot_address}: is its publisher running?",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # the reader (e.g. head) went away
        pass
    finally:
        stats = node.stats
        print(
            f"tap: printed={printed} dropped={dict(stats.dropped)} gaps={dict(stats.gaps)}"
            f" lost={dict(stats.lost)}",
            file=sys.stderr,
        )
        node.close()
    return 0 if args.count is None or printed >= args.count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
