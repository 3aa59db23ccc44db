"""Market data refused at the feed's boundary: counted by defect, alerted, never published.

Pure: `RefusalAlerts.refuse` counts one refused report in the session's counters
(`refused_<report>_<defect>`, exported as `feed_events{kind=...}`) and returns the Alert to
publish on `alert.feed.`, at most one per counter kind every `interval_ns` so that a venue
sending garbage on every frame cannot flood the bus; an alert held back is counted too
(`refusal_alerts_held`).
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from shared.bybit.validate import Refusal
from shared.schema import Alert, AlertSeverity

SOURCE: Final = "feed"
ALERT_CODE: Final = "invalid_market_data"
ALERT_INTERVAL_NS: Final = 10_000_000_000


@dataclass
class RefusalAlerts:
    counters: Counter[str]
    interval_ns: int = ALERT_INTERVAL_NS
    _last_alert_ns: dict[str, int] = field(default_factory=dict)

    def refuse(
        self, report: str, symbol: str, refusal: Refusal, action: str, now_ns: int
    ) -> list[Alert]:
        """Count a refused `report` ("book", "trade") of `symbol`; return the alert, if due.

        `action` says what the feed did about it (e.g. "book reset, resyncing").
        """
        kind = f"refused_{report}_{refusal.defect}"
        self.counters[kind] += 1
        last = self._last_alert_ns.get(kind)
        if last is not None and now_ns - last < self.interval_ns:
            self.counters["refusal_alerts_held"] += 1
            return []
        self._last_alert_ns[kind] = now_ns
        detail = f"{symbol} {report} refused: {refusal} ({self.counters[kind]} so far); {action}"
        return [
            Alert(
                source=SOURCE,
                severity=AlertSeverity.WARNING,
                code=ALERT_CODE,
                detail=detail,
                ts_event_ns=now_ns,
            )
        ]
