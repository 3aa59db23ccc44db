"""The whole system under supervisord (scripts/run) on private ports and a private run dir.

Used by the system tests (tests/system/) and by scripts/chaos.
"""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from scripts.control import QUICK_STRATEGY, free_port, settings_text
from scripts.run_processes import stop_run
from shared.bybit.auth import query_string, signed_headers
from shared.settings import REPO_ROOT

API_KEY, API_SECRET = "systemtest", "system-test-secret-not-real-0001"
VENUE_RETRY_S = 10.0  # injected 5xx and rate limits are retried this long


class VenueError(Exception):
    """The paper venue kept refusing a query."""


@dataclass
class System:
    run_dir: Path
    settings: Path
    venue_port: int
    process: subprocess.Popen[bytes]

    def venue(self, path: str, params: dict[str, str]) -> Any:
        """A signed GET on the paper venue with the system's account: its result list.

        Injected 5xx answers and rate limits are retried for up to VENUE_RETRY_S.
        """
        return self.venue_page(path, params)[0]

    def venue_all(self, path: str, params: dict[str, str]) -> list[Any]:
        """Every page of a signed GET (following nextPageCursor)."""
        items: list[Any] = []
        cursor = ""
        while True:
            page, cursor = self.venue_page(
                path, {**params, **({"cursor": cursor} if cursor else {})}
            )
            items += page
            if not cursor:
                return items

    def venue_page(self, path: str, params: dict[str, str]) -> tuple[list[Any], str]:
        """One page of a signed GET and the cursor of the next ("" at the end)."""
        deadline = time.monotonic() + VENUE_RETRY_S
        while True:
            try:
                body = self._venue_get(path, params)
            except urllib.error.HTTPError as e:
                body = {"retCode": e.code, "retMsg": f"HTTP {e.code}"}
            if body["retCode"] == 0:
                result = body["result"]
                return result["list"], result.get("nextPageCursor", "")
            if time.monotonic() > deadline:
                raise VenueError(f"{path} {params}: {body['retCode']} {body['retMsg']}")
            time.sleep(0.2)  # an injected 5xx or the rate limit: ask again shortly

    def _venue_get(self, path: str, params: dict[str, str]) -> Any:
        query = query_string(params)
        timestamp = str(int(time.time() * 1000))
        headers = signed_headers(API_KEY, API_SECRET, timestamp, "5000", query)
        url = f"http://127.0.0.1:{self.venue_port}{path}?{query}"
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return json.loads(r.read())

    def admin(self, path: str, changes: dict[str, Any] | None = None) -> Any:
        """GET (or with `changes`, POST as JSON) an admin endpoint of the simulator."""
        data = None if changes is None else json.dumps(changes).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.venue_port}{path}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.loads(r.read())

    def journal(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        path = self.run_dir / "executor-journal.sqlite"
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
            try:
                return db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return []  # the executor is creating the journal right now
                raise

    def journal_net_qty(self, symbol: str) -> Decimal:
        """Signed position implied by the journal's fills (buys minus sells)."""
        net = Decimal(0)
        rows = self.journal(
            "SELECT f.qty, i.command FROM fills f JOIN intents i USING (client_order_id)"
            " WHERE i.symbol = ?",
            symbol,
        )
        for qty, command in rows:
            side = json.loads(command)["side"]
            net += Decimal(qty) if side == "Buy" else -Decimal(qty)
        external = self.journal(  # fills of orders we did not send (a venue-side stop-loss)
            "SELECT json_extract(payload, '$.qty'), json_extract(payload, '$.side') FROM events"
            " WHERE kind = 'fill' AND json_extract(payload, '$.external') = '1'"
            " AND json_extract(payload, '$.symbol') = ?",
            symbol,
        )
        for qty, side in external:
            net += Decimal(qty) if side == "Buy" else -Decimal(qty)
        return net

    def log(self, service: str) -> str:
        path = self.run_dir / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def running_system(
    directory: Path,
    overrides: dict[str, dict[str, str]] | None = None,
    env: dict[str, str] | None = None,
    extra_sections: str = "",
) -> Iterator[System]:
    """scripts/run --quiet with its own settings and run dir (and `env` on top of this
    process's environment); stopped with scripts/stop if still up at exit. `extra_sections`
    (TOML, e.g. a [strategy-<name>] instance) is appended to the settings file."""
    venue_port = free_port()
    settings = directory / "settings.toml"
    settings.write_text(
        settings_text(venue_port, {"strategy": QUICK_STRATEGY, **(overrides or {})})
        + extra_sections
    )
    run_dir = directory / "run"
    env = {
        **os.environ,
        "TRADING_SETTINGS": str(settings),
        "TRADING_RUN_DIR": str(run_dir),
        "BYBIT_API_KEY": API_KEY,
        "BYBIT_API_SECRET": API_SECRET,
        **(env or {}),
    }
    with (directory / "run.out").open("wb") as out:
        process = subprocess.Popen(
            [str(REPO_ROOT / "scripts" / "run"), "--quiet"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield System(run_dir, settings, venue_port, process)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            stop_run(run_dir, lambda _: None)  # a test that killed scripts/run leaves the rest
