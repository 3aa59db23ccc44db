"""The sweep's results table: completed trials, best first, one column per swept key."""

from collections.abc import Sequence
from typing import Any

from optuna.trial import FrozenTrial


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def table_text(trials: Sequence[FrozenTrial], keys: Sequence[str], objective: str) -> str:
    """`trials` (already ranked) as an aligned text table."""
    extra = [k for k in ("pnl_net", "fills", "round_trips") if k != objective]
    header = ["rank", "trial", objective, *keys, *extra]
    rows = [header]
    for rank, t in enumerate(trials, 1):
        row = [str(rank), str(t.number), _cell(t.value)]
        row += [_cell(t.params.get(k, "")) for k in keys]
        row += [str(t.user_attrs.get(k, "")) for k in extra]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report_document(
    trials: Sequence[FrozenTrial],
    keys: Sequence[str],
    identity: dict[str, Any],
    summary: dict[str, Any],
    best_lines: Sequence[str],
) -> dict[str, Any]:
    """The sweep as one JSON document (the file the dashboard's Research tab lists):
    what was swept, every trial (ranked completed ones first, then the others), the best."""
    completed = {t.number for t in trials}
    return {
        "kind": "sweep",
        **identity,
        **summary,
        "best": best_lines,
        "trials": [
            {
                "rank": rank,
                "trial": t.number,
                "value": t.value,
                "params": {k: t.params.get(k) for k in keys},
                "figures": {k: v for k, v in sorted(t.user_attrs.items()) if k != "error"},
            }
            for rank, t in enumerate(trials, 1)
        ],
        "completed": len(completed),
    }
