from shared.bus import expiry_refusal
from tests.helpers.samples import SAMPLES, make_submit


def test_fresh_command_is_not_refused() -> None:
    assert expiry_refusal(make_submit(expires_at_ns=1_000), now_ns=999) is None


def test_expired_command_is_refused_with_how_late_it_is() -> None:
    reason = expiry_refusal(make_submit(expires_at_ns=1_000_000), now_ns=3_500_000)
    assert reason == "expired: 2.500 ms past expires_at_ns=1000000"


def test_message_without_expiry_is_never_refused() -> None:
    assert expiry_refusal(SAMPLES["Heartbeat"], now_ns=10**19) is None
