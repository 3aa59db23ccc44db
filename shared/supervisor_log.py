"""How often this supervisord spawned each program, read from its log: restarts = spawns - 1.

Read by `scripts/status` and the dashboard alike. Counting starts again at the last
"supervisord started" line (a new supervisord). None when the log cannot be read: the
restarts are unknown then, not none.
"""

from pathlib import Path


def spawn_counts(log_path: Path) -> dict[str, int] | None:
    """Spawns per program name since the last supervisord start (None: no readable log)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return None
    counts: dict[str, int] = {}
    for line in text.splitlines():
        if "supervisord started with pid" in line:
            counts = {}  # a new supervisord: count from here
        elif "spawned: '" in line:
            name = line.split("spawned: '", 1)[1].split("'", 1)[0]
            counts[name] = counts.get(name, 0) + 1
    return counts
