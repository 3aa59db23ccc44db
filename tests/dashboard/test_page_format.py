"""The page's number formatting (static/format.js), run in Node: a zero has no sign and no
colour, an unknown is n/a, superseded drops are neutral, a ServiceStatus shows when not
RUNNING. Node is the one the playwright package ships (its driver), so these run wherever
the browser tests do, with no Node.js installed."""

import json
import subprocess
from pathlib import Path
from typing import Any

from playwright._impl._driver import compute_driver_executable

FORMAT_JS = Path(__file__).resolve().parents[2] / "services/dashboard/static/format.js"
NODE = compute_driver_executable()[0]


def _run(expressions: dict[str, str]) -> dict[str, Any]:
    """Evaluate each JS expression (format.js's exports in scope as `f`) and return the results."""
    body = ", ".join(f"{json.dumps(k)}: {v}" for k, v in expressions.items())
    script = (
        f"import * as f from {json.dumps(FORMAT_JS.as_uri())};\n"
        f"process.stdout.write(JSON.stringify({{{body}}}));\n"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_value_that_rounds_to_zero_shows_as_an_unsigned_neutral_zero() -> None:
    out = _run(
        {
            "neg_tiny": "f.signed(-0.004, 2)",
            "neg_tiny_str": "f.signed('-0.0049', 2)",
            "neg_tiny_cls": "f.pnlClass(-0.004)",
            "pos_tiny": "f.signed(0.004, 2)",
            "pos_tiny_cls": "f.pnlClass('0.004')",
            "neg_zero": "f.fixed(-0.0001, 2)",
            "neg": "f.signed(-0.005, 2)",
            "neg_cls": "f.pnlClass(-0.006)",
            "pos": "f.signed('0.1252', 2)",
            "pos_cls": "f.pnlClass('0.1252')",
            "fine_cls": "f.pnlClass(-0.004, 4)",
            "big": "f.signed(-1234.5, 2)",
        }
    )
    assert out["neg_tiny"] == "0.00"
    assert out["neg_tiny_str"] == "0.00"
    assert out["neg_tiny_cls"] == ""
    assert out["pos_tiny"] == "0.00"
    assert out["pos_tiny_cls"] == ""
    assert out["neg_zero"] == "0.00"
    assert out["neg"] == "-0.01"  # -0.005 rounds away from zero: shown, so coloured
    assert out["neg_cls"] == "neg"
    assert (out["pos"], out["pos_cls"]) == ("+0.13", "pos")
    assert out["fine_cls"] == "neg"  # at 4 digits it is not zero
    assert out["big"] == "-1,234.50"


def test_an_unknown_is_na_never_zero() -> None:
    out = _run(
        {
            "null": "f.signed(null, 2)",
            "undef": "f.signed(undefined, 2)",
            "empty": "f.fixed('', 2)",
            "cls": "f.pnlClass(null)",
        }
    )
    assert out == {"null": "n/a", "undef": "n/a", "empty": "n/a", "cls": ""}


def test_superseded_drops_are_neutral_other_drops_warn_and_losses_are_bad() -> None:
    out = _run(
        {
            "superseded": "f.busTotalClass('dropped', {superseded: 3})",
            "hwm": "f.busTotalClass('dropped', {superseded: 3, hwm: 1})",
            "none": "f.busTotalClass('dropped', {})",
            "lost": "f.busTotalClass('lost', {feed: 2})",
            "unknown": "f.busTotalClass('gaps', null)",
            "chip_superseded": "f.dropChipClass('dropped', 'superseded')",
            "chip_hwm": "f.dropChipClass('dropped', 'hwm')",
        }
    )
    assert out["superseded"] == ""  # by design: neither amber nor green
    assert out["hwm"] == "warn"
    assert out["none"] == "good"
    assert out["lost"] == "bad"
    assert out["unknown"] == "muted"
    assert (out["chip_superseded"], out["chip_hwm"]) == ("chip", "chip warn")


def test_a_service_status_is_shown_only_when_it_is_not_running() -> None:
    out = _run(
        {
            "running": "f.statusBadge('RUNNING')",
            "none": "f.statusBadge(null)",
            "degraded": "f.statusBadge('DEGRADED')",
            "starting": "f.statusBadge('STARTING')",
        }
    )
    assert out["running"] is None
    assert out["none"] is None
    assert out["degraded"] == {"t": "DEGRADED", "c": "bad"}
    assert out["starting"] == {"t": "STARTING", "c": "warn"}
