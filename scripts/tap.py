"""Print the messages of any bus endpoint as JSON lines: the first tool for debugging a service.

Run it as scripts/tap (which sets up .venv first). See --help.
"""

import argparse
import os
import signal
import socket
import sys
import time
from pathlib import Path
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

_SUBSCRIBABLE = (
    "universe",
    "market-data",
    "execution-events",
    "strategy-events",
    "recorder-events",
)
_EXAMPLES = """
endpoints (keys of [bus.endpoints] in the settings file, or a raw address):
  universe           the scanner's UniverseChanged
  market-data        the feed's quotes, trades, books, feed status (md.<kind>.<SYMBOL>.)
  execution-events   the executor's order, fill, position and balance events (exec.)
  strategy-events    the strategy's state, decisions and heartbeats (strategy., hb.)
  recorder-events    the recorder's status, alerts and heartbeats (no snapshot)
  ipc://... tcp://...  any publisher's address

examples:
  scripts/tap market-data md.quote.BTCUSDT.     quotes of one symbol
  scripts/tap execution-events --snapshot       the executor's state, then its events
  scripts/tap universe --count 1 --timeout 90   wait for the next universe change
  scripts/tap market-data hb. --heartbeats      who is alive on that socket

With nothing heard for --hint-after seconds, tap says on stderr whether anything is bound
to the endpoint and what to check, and keeps waiting (until --timeout, if given: then it
exits 1 if it printed nothing).
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
    parser.add_argument(
        "--timeout", type=float, help="exit after this many seconds (1 if nothing was printed)"
    )
    parser.add_argument(
        "--hint-after",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="silence after which a hint goes to stderr (default 5)",
    )
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
    if name == "market-data-raw":
        raise SystemExit(
            "error: market-data-raw is the recorder's tap: it has one reader, and a second one"
            " that falls behind would make the feed drop frames for the recorder too; read the"
            ' recordings instead (README "Recorder", shared.recordings)'
        )
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
        "recorder_events": None,
    }[field]
    snapshot = getattr(endpoints, snapshot_field) if snapshot_field else None
    return getattr(endpoints, field), snapshot


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


def probe(address: str) -> str:
    """Whether a publisher is bound at `address`, for people (a connect, nothing sent)."""
    scheme, _, rest = address.partition("://")
    if scheme == "ipc":
        path = Path(rest)
        if not path.exists():
            return f"nothing is bound there: {path} does not exist"
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe_socket:
            try:
                probe_socket.connect(str(path))
            except OSError as e:
                return f"{path} exists but nobody listens ({e.strerror}): a publisher that died"
        return "a publisher is bound there"
    if scheme == "tcp":
        host, _, port = rest.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
                return "a publisher is bound there"
        except (OSError, ValueError) as e:
            return f"nothing is bound there ({e})"
    return f"cannot tell whether anything is bound to a {scheme or 'schemeless'} address"


def silence_hint(address: str, prefixes: list[str], silent_s: float, bound: str) -> str:
    """What to say after `silent_s` seconds without a message."""
    hint = f"tap: nothing on {address} for {silent_s:.0f} s; {bound}."
    if bound.startswith("a publisher"):
        return (
            f"{hint} Check the topic prefixes {prefixes} (default: all), and the bus key:"
            " a sender with another TRADING_BUS_HMAC_KEY is dropped. Still waiting."
        )
    return (
        f"{hint} Is the system running (scripts/status), in this run dir (TRADING_RUN_DIR)?"
        " Still waiting."
    )


class _Silence:
    """Says once per quiet spell, after `after_s`, that nothing came and why it may be."""

    def __init__(self, address: str, prefixes: list[str], after_s: float) -> None:
        self._address, self._prefixes, self._after_s = address, prefixes, after_s
        self._since = time.monotonic()
        self._told = False

    def heard(self) -> None:
        self._since, self._told = time.monotonic(), False

    def check(self) -> None:
        silent_s = time.monotonic() - self._since
        if not self._told and silent_s >= self._after_s:
            self._told = True
            hint = silence_hint(self._address, self._prefixes, silent_s, probe(self._address))
            print(hint, file=sys.stderr, flush=True)


def _follow(
    receiver: Receiver,
    args: argparse.Namespace,
    silence: _Silence,
    out: IO[bytes],
) -> int:
    """Print messages until --count were printed or --timeout passed; return how many."""
    count, printed = args.count, 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        while count is None or printed < count:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not receiver.poll(200):
                silence.check()
                continue
            silence.heard()
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
        print(
            f"error: --snapshot needs an endpoint key with a snapshot socket, not {args.endpoint}",
            file=sys.stderr,
        )
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
        silence = _Silence(address, args.prefixes, args.hint_after)
        printed = _follow(receiver, args, silence, sys.stdout.buffer)
    except SnapshotTimeout:
        print(
            f"error: no snapshot from {snapshot_address}: is its publisher running?",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # the reader (e.g. head) went away: no second error at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        stats = node.stats
        print(
            f"tap: printed={printed} dropped={dict(stats.dropped)} gaps={dict(stats.gaps)}"
            f" lost={dict(stats.lost)}",
            file=sys.stderr,
        )
        node.close()
    if args.count is not None:
        return 0 if printed >= args.count else 1
    if args.timeout is not None and printed == 0:
        print(f"tap: no message on {address} within {args.timeout:g} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
