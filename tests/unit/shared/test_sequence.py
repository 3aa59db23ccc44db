from hypothesis import given
from hypothesis import strategies as st

from shared.bus import Header, SequenceTracker, Verdict

A = b"md.quote.BTCUSDT."
B = b"md.trade.BTCUSDT."


def _h(seq: int, incarnation: int = 1, sender: str = "feed") -> Header:
    return Header(1, sender, incarnation, seq, 0)


def test_consecutive_frames_are_in_order() -> None:
    tracker = SequenceTracker()
    assert tracker.check(_h(5), A) == (Verdict.FIRST, 0)
    assert tracker.check(_h(6), A) == (Verdict.IN_ORDER, 0)


def test_gap_reports_how_many_frames_are_missing() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(1), A)
    assert tracker.check(_h(5), A) == (Verdict.GAP, 3)
    assert tracker.check(_h(6), A) == (Verdict.IN_ORDER, 0)


def test_topics_are_numbered_apart_so_interleaving_is_no_gap() -> None:
    # Arrange: a sender's two topics, each with its own sequence
    tracker = SequenceTracker()

    # Act
    verdicts = [tracker.check(_h(seq), topic) for seq in (1, 2, 3) for topic in (A, B)]

    # Assert
    assert verdicts == [(Verdict.FIRST, 0)] * 2 + [(Verdict.IN_ORDER, 0)] * 4


def test_gap_on_one_topic_is_that_topics_alone() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(1), A)
    tracker.check(_h(1), B)
    assert tracker.check(_h(4), A) == (Verdict.GAP, 2)
    assert tracker.check(_h(2), B) == (Verdict.IN_ORDER, 0)
    assert tracker.last_seq("feed", A) == 4
    assert tracker.last_seq("feed", B) == 2


def test_new_incarnation_is_a_restart_not_a_gap() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(100), A)
    assert tracker.check(_h(1, incarnation=2), A) == (Verdict.RESTARTED, 0)
    assert tracker.check(_h(2, incarnation=2), A) == (Verdict.IN_ORDER, 0)


def test_new_incarnation_resets_every_topic_of_the_sender() -> None:
    # Arrange: topics A and B far along in incarnation 1
    tracker = SequenceTracker()
    tracker.check(_h(100), A)
    tracker.check(_h(50), B)

    # Act: incarnation 2 starts on A, then B starts at 1
    restarted = tracker.check(_h(1, incarnation=2), A)
    b_first = tracker.check(_h(1, incarnation=2), B)

    # Assert: B's old 50 is forgotten, its new 1 is not "superseded"
    assert restarted == (Verdict.RESTARTED, 0)
    assert b_first == (Verdict.FIRST, 0)
    assert tracker.check(_h(2, incarnation=2), B) == (Verdict.IN_ORDER, 0)


def test_frames_already_in_a_snapshot_are_superseded() -> None:
    tracker = SequenceTracker()
    tracker.apply_snapshot("feed", 1, {A: 10})
    assert tracker.check(_h(9), A) == (Verdict.SUPERSEDED, 0)
    assert tracker.check(_h(10), A) == (Verdict.SUPERSEDED, 0)
    assert tracker.check(_h(11), A) == (Verdict.IN_ORDER, 0)


def test_snapshot_floors_are_per_topic() -> None:
    # Arrange: A was at 3 and B at 7 when the snapshot was taken
    tracker = SequenceTracker()
    tracker.check(_h(1), A)
    tracker.apply_snapshot("feed", 1, {A: 3, B: 7})

    # Act / Assert: queued older frames of each topic drop, newer ones pass
    assert tracker.check(_h(2), A) == (Verdict.SUPERSEDED, 0)
    assert tracker.check(_h(4), A) == (Verdict.IN_ORDER, 0)
    assert tracker.check(_h(7), B) == (Verdict.SUPERSEDED, 0)
    assert tracker.check(_h(8), B) == (Verdict.IN_ORDER, 0)


def test_topic_absent_from_a_snapshot_starts_fresh() -> None:
    tracker = SequenceTracker()
    tracker.apply_snapshot("feed", 1, {A: 3})
    assert tracker.check(_h(1), B) == (Verdict.FIRST, 0)


def test_snapshot_never_moves_a_topic_back() -> None:
    # Frames newer than the snapshot were accepted while it was in flight.
    tracker = SequenceTracker()
    tracker.check(_h(5), A)
    tracker.apply_snapshot("feed", 1, {A: 3})
    assert tracker.check(_h(6), A) == (Verdict.IN_ORDER, 0)


def test_snapshot_of_a_new_incarnation_replaces_the_old_topics() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(100), A)
    tracker.check(_h(100), B)
    tracker.apply_snapshot("feed", 2, {A: 2})
    assert tracker.check(_h(3, incarnation=2), A) == (Verdict.IN_ORDER, 0)
    assert tracker.check(_h(1, incarnation=2), B) == (Verdict.FIRST, 0)


def test_senders_are_tracked_separately() -> None:
    tracker = SequenceTracker()
    tracker.check(_h(1, sender="a"), A)
    tracker.check(_h(7, sender="b"), A)
    assert tracker.check(_h(2, sender="a"), A) == (Verdict.IN_ORDER, 0)


@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=200))
def test_missing_counts_sum_to_the_frames_skipped(delivered: list[tuple[bool, bool]]) -> None:
    # Two topics interleaved, each frame delivered or lost on its own.
    tracker = SequenceTracker()
    tracker.check(_h(0), A)
    tracker.check(_h(0), B)
    missing_total = 0
    for seq, arrives in enumerate(delivered, start=1):
        for topic, arrived in zip((A, B), arrives, strict=True):
            if arrived:
                missing_total += tracker.check(_h(seq), topic)[1]
    skipped_before_last = 0
    for column in (0, 1):
        flags = [d[column] for d in delivered]
        last = max((s for s, a in enumerate(flags, start=1) if a), default=0)
        skipped_before_last += sum(1 for s, a in enumerate(flags, start=1) if not a and s < last)
    assert missing_total == skipped_before_last
