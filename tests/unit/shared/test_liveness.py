from shared.bus import PeerLiveness

INTERVAL_NS = 1_000_000_000


def test_peer_is_alive_until_three_intervals_of_silence() -> None:
    liveness = PeerLiveness(INTERVAL_NS, max_missed=3)
    liveness.heard("feed", now_ns=0)
    assert liveness.is_alive("feed", now_ns=3 * INTERVAL_NS - 1)
    assert not liveness.is_alive("feed", now_ns=3 * INTERVAL_NS)
    assert liveness.dead_peers(now_ns=3 * INTERVAL_NS) == ["feed"]


def test_any_frame_revives_the_peer() -> None:
    liveness = PeerLiveness(INTERVAL_NS)
    liveness.heard("feed", now_ns=0)
    liveness.heard("feed", now_ns=5 * INTERVAL_NS)
    assert liveness.is_alive("feed", now_ns=6 * INTERVAL_NS)


def test_never_heard_peer_is_not_alive_and_not_listed_dead() -> None:
    liveness = PeerLiveness(INTERVAL_NS)
    assert not liveness.is_alive("executor", now_ns=0)
    assert liveness.dead_peers(now_ns=10**18) == []
