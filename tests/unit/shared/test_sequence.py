from hypothesis import given
from hypothesis import strategies as st

from shared.bus import Header, SequenceTracker, Verdict


def _h(seq: int, incarnation: int = 1, sender: str = "feed") -> Header:
    return Header(1, sender, incarnation, seq, 0)


def test_consecutive_frames_are_in_order() -> None:
    tracker = SequenceTracker()
    assert tracker.check(_h(5)) == (Verdict.FIRST, 0)
    assert tracker.check(_h(6)) == (Verdict.IN_ORDER, 0)


def test_gap_reports_how_many_frames_are_missing() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(1))
    assert tracker.check(_h(5)) == (Verdict.GAP, 3)
    assert tracker.check(_h(6)) == (Verdict.IN_ORDER, 0)


def test_new_incarnation_is_a_restart_not_a_gap() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(100))
    assert tracker.check(_h(1, incarnation=2)) == (Verdict.RESTARTED, 0)
    assert tracker.check(_h(2, incarnation=2)) == (Verdict.IN_ORDER, 0)


def test_frames_already_in_a_snapshot_are_superseded() -> None:
    tracker = SequenceTracker()
    tracker.apply_snapshot("feed", 1, last_seq=10)
    assert tracker.check(_h(9)) == (Verdict.SUPERSEDED, 0)
    assert tracker.check(_h(10)) == (Verdict.SUPERSEDED, 0)
    assert tracker.check(_h(11)) == (Verdict.IN_ORDER, 0)


def test_senders_are_tracked_separately() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(1, sender="a"))
    tracker.check(_h(7, sender="b"))
    assert tracker.check(_h(2, sender="a")) == (Verdict.IN_ORDER, 0)


@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_missing_counts_sum_to_the_frames_skipped(delivered: list[bool]) -> None:
    tracker = SequenceTracker()
    tracker.check(_h(0))
    missing_total = 0
    for seq, arrives in enumerate(delivered, start=1):
        if arrives:
            missing_total += tracker.check(_h(seq))[1]
    last_delivered = max((s for s, a in enumerate(delivered, start=1) if a), default=0)
    skipped_before_last = sum(
        1 for s, a in enumerate(delivered, start=1) if not a and s < last_delivered
    )
    assert missing_total == skipped_before_last
