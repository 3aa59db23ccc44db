"""Dashboard benchmark (issue 17): event-to-DOM latency in a real browser, and the service's cost.

scripts/bench dashboard [--quick] (opt-in: it boots the whole paper system and Chromium).
The system runs as scripts/run starts it (tests/browser/dashboard_rig.py, as the browser
tests start it) with the market maker mm1 quoting two symbols beside the scalper: the
settings of tests/system/test_market_maker.py's two-symbol system ([feed] symbols =
BTCUSDT, ETHUSDT, SOLUSDT; [strategy-mm1] symbols = ETHUSDT, SOLUSDT; the executor's
limits raised for a quoter). Once mm1 quotes both sides of both symbols, Debian's Chromium
opens the page (headless, Playwright) and the window is measured:

- `dashboard.event_to_dom_p50_ms` / `_p90_ms` / `_p99_ms`: the page's own
  `window.__dashboard.eventToDomMs` over the window (each delta's bus send time, ts_sent_ns,
  to the frame that rendered it; the page's clock and the senders' are the same host's),
  nearest-rank percentiles. Target: p50 <= 250 ms.
- `dashboard.cpu_pct_one_core`: the dashboard process's utime + stime (/proc/<pid>/stat)
  over the window / its wall time, in % of one core. Target: <= 5 %.
- `dashboard.event_path_p50_ms` / `_p99_ms` and `dashboard.sampled_path_p50_ms` / `_p99_ms`:
  the same latency split by the delta's `sampled` flag (docs/dashboard.md), measured beside
  the page (a WebSocket wrapper installed before it loads: ts_sent_ns to the next frame after
  the delta arrived): market data held by the quote sampler vs the events' own path.
- `dashboard.rss_mb`: its VmRSS at the end of the window (the largest sample in the note).
- `dashboard.deltas_per_s`: eventToDomMs samples a second (how busy the page was).

The figures and their targets are printed to stderr as well, with the miss when there is
one. Window: MEASURE_S (QUICK_S with --quick), from the page's WARM_UP_DELTAS-th delta.
The run dir (/tmp/dashb-*/run: logs, journal) is kept; its path is printed first.
"""

import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import sync_playwright

from scripts.benchmarks.soak import rss_mb
from tests.browser.dashboard_rig import Dashboard, launch, open_page, running_dashboard
from tests.helpers.waiting import eventually_sync
from tests.system.test_market_maker import EXECUTOR, TWO, mm_sections, quoting_both_sides_of_each

Result = dict[str, Any]
MEASURE_S: Final = 60.0
QUICK_S: Final = 20.0
WARM_UP_DELTAS: Final = 50  # deltas rendered before the window starts
SAMPLE_EVERY_S: Final = 1.0
P50_TARGET_MS: Final = 250.0
CPU_TARGET_PCT: Final = 5.0
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
# Beside the page's own figure, split by path: each delta's ts_sent_ns to the next frame after
# it arrived (the frame the page renders it in), for deltas with sampled market data (held
# up to 1/quotes-per-s by the sampler) and for the others (the event path).
SPLIT_JS: Final = """
(() => {
  const split = {sampled: [], event: []};
  window.__bench = split;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        let m;
        try { m = JSON.parse(e.data); } catch (_) { return; }
        if (m.type !== 'delta' || !m.ts_sent_ns) return;
        const sentMs = m.ts_sent_ns / 1e6;
        const into = m.sampled ? split.sampled : split.event;
        requestAnimationFrame(() => into.push(Date.now() - sentMs));
      });
    }
  };
})();
"""


def _say(line: str) -> None:
    print(f"bench: dashboard: {line}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` in seconds (/proc/<pid>/stat fields 14 and 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def nearest_rank(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 < q <= 1) by nearest rank, or None without values."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def _system_sections() -> tuple[dict[str, dict[str, str]], str]:
    symbols = ", ".join(f'"{s}"' for s in ("BTCUSDT", *TWO))
    quoted = ", ".join(f'"{s}"' for s in TWO)
    overrides = {"executor": EXECUTOR, "feed": {"symbols": f"[{symbols}]"}}
    return overrides, mm_sections(f"symbols = [{quoted}]")


def _measure(dashboard: Dashboard, seconds: float) -> Result:
    """The page's latencies and the dashboard process's CPU and RSS over `seconds`."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = open_page(browser, dashboard.url, on_page=lambda p: p.add_init_script(SPLIT_JS))
        page.wait_for_function(  # past the first snapshot and the charts' first draw
            f"() => window.__dashboard.eventToDomMs.length >= {WARM_UP_DELTAS}", timeout=60_000
        )
        page.evaluate(
            "() => { window.__dashboard.eventToDomMs.length = 0;"
            " window.__bench.sampled.length = 0; window.__bench.event.length = 0; }"
        )
        pid = dashboard.pid()
        started, cpu_started = time.monotonic(), cpu_seconds(pid)
        rss: list[float] = []
        while (elapsed := time.monotonic() - started) < seconds:
            assert dashboard.pid() == pid, "the dashboard restarted during the window"
            rss.append(rss_mb(pid) or 0.0)
            time.sleep(SAMPLE_EVERY_S)  # the sampling period of the measured window
        cpu = cpu_seconds(pid) - cpu_started
        elapsed = time.monotonic() - started
        latencies = page.evaluate("() => Array.from(window.__dashboard.eventToDomMs)")
        split = page.evaluate("() => window.__bench")
        rss.append(rss_mb(pid) or 0.0)
        browser.close()
    return {
        "latencies": sorted(latencies),
        "split": {path: sorted(values) for path, values in split.items()},
        "cpu_s": cpu,
        "elapsed_s": elapsed,
        "rss": rss,
    }


def _verdict(value: float | None, target: float, unit: str) -> str:
    if value is None:
        return "no samples"
    if value <= target:
        return f"target <= {target:g} {unit}: met"
    missed = f"MISSED by {value - target:.1f} {unit} ({value / target:.1f}x the target)"
    return f"target <= {target:g} {unit}: {missed}"


def _results(measured: Result) -> Iterator[Result]:
    latencies: list[float] = measured["latencies"]
    elapsed = measured["elapsed_s"]
    note = f"{len(latencies)} deltas over {elapsed:.0f} s, the page's eventToDomMs"
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        exact = nearest_rank(latencies, q)
        value = None if exact is None else round(exact, 1)
        line: Result = {
            "name": f"dashboard.event_to_dom_{name}_ms",
            "value": value,
            "unit": "ms",
            "samples": len(latencies),
            "note": note,
        }
        if name == "p50":
            line["target"] = f"<= {P50_TARGET_MS:g}"
            _say(f"event to DOM p50 {value} ms ({_verdict(value, P50_TARGET_MS, 'ms')})")
        else:
            _say(f"event to DOM {name} {value} ms")
        yield line
    yield from _split(measured["split"])
    cpu_pct = round(measured["cpu_s"] / elapsed * 100, 2)
    _say(f"CPU {cpu_pct} % of one core ({_verdict(cpu_pct, CPU_TARGET_PCT, '%')})")
    yield {
        "name": "dashboard.cpu_pct_one_core",
        "value": cpu_pct,
        "unit": "%",
        "target": f"<= {CPU_TARGET_PCT:g}",
        "note": f"utime+stime {measured['cpu_s']:.2f} s over {elapsed:.1f} s (/proc/<pid>/stat)",
    }
    rss = measured["rss"]
    _say(f"RSS {rss[-1]:.1f} MB (largest sample {max(rss):.1f} MB)")
    yield {
        "name": "dashboard.rss_mb",
        "value": round(rss[-1], 1),
        "unit": "MB",
        "note": f"VmRSS at the end; largest of {len(rss)} samples {max(rss):.1f} MB",
    }
    yield {
        "name": "dashboard.deltas_per_s",
        "value": round(len(latencies) / elapsed, 1),
        "unit": "1/s",
    }


def _split(split: dict[str, list[float]]) -> Iterator[Result]:
    for path, values in split.items():
        for name, q in (("p50", 0.5), ("p99", 0.99)):
            exact = nearest_rank(values, q)
            value = None if exact is None else round(exact, 1)
            _say(f"{path} path {name} {value} ms ({len(values)} deltas)")
            yield {
                "name": f"dashboard.{path}_path_{name}_ms",
                "value": value,
                "unit": "ms",
                "samples": len(values),
                "note": "ts_sent_ns to the frame after the delta arrived, deltas with"
                f" sampled={'true' if path == 'sampled' else 'false'}",
            }


def run(quick: bool) -> Iterator[Result]:
    seconds = QUICK_S if quick else MEASURE_S
    directory = Path(tempfile.mkdtemp(prefix="dashb-", dir="/tmp"))  # ipc paths <= 107 bytes
    overrides, sections = _system_sections()
    _say(f"run dir {directory / 'run'}; mm1 quoting {', '.join(TWO)}; window {seconds:g} s")
    with running_dashboard(directory, overrides, extra_sections=sections) as dashboard:
        eventually_sync(
            lambda: quoting_both_sides_of_each(dashboard.system), timeout_s=120, interval_s=0.5
        )
        _say(f"mm1 quotes both sides of {', '.join(TWO)}; the page opens: {dashboard.url}")
        measured = _measure(dashboard, seconds)
    yield from _results(measured)
