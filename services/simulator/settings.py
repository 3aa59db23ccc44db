"""The simulator's section of deploy/settings.toml, and its fault switches."""

from typing import Annotated, Literal

import msgspec

from shared.settings import ServiceSettings, Settings

Fraction = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0)]


class Faults(Settings, frozen=True, kw_only=True):
    """Faults to inject; all off by default. Changed at run time through /admin/faults."""

    rest_latency_ms: NonNegative = 0.0  # added to every REST answer
    rest_5xx_rate: Fraction = 0.0  # share of REST calls answered with HTTP 503
    timeout_after_accept_rate: Fraction = 0.0  # share of order creates accepted, then unanswered
    timeout_after_accept_s: NonNegative = 30.0  # how long such an answer is held back
    rate_limit_storm: bool = False  # every signed call answers retCode 10006
    ws_drop_rate: Fraction = 0.0  # share of public and private frames not sent
    ws_duplicate_rate: Fraction = 0.0  # share of frames sent twice
    u_gap_rate: Fraction = 0.0  # share of book deltas whose `u` skips a number
    crossed_book_rate: Fraction = 0.0  # share of book deltas that cross the book
    stale_ms: NonNegative = 0.0  # subtracted from every websocket timestamp
    disconnect_every_s: NonNegative = 0.0  # close every websocket this often (0: never)
    ws_refuse: bool = False  # refuse new websocket connections (HTTP 503); open ones stay


class SimulatorSettings(ServiceSettings, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8900
    seed: int = 7
    symbols: list[str] = msgspec.field(default_factory=list)  # empty: the default universe
    step_ms: Annotated[int, msgspec.Meta(ge=10, le=1000)] = 50
    starting_balance_usdt: NonNegative = 100_000.0
    maker_fee_rate: float = 0.0002
    taker_fee_rate: float = 0.00055
    # The synthetic market (services/simulator/market_profiles.py): "lively" (ten times real
    # volatility, for demonstrations) or "realistic" (calibrated to real ETHUSDT).
    profile: Literal["lively", "realistic"] = "lively"
    # x every symbol's volatility instead of the profile's (none: the profile's)
    volatility_scale: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    enforce_rate_limits: bool = True  # Bybit's per-endpoint limits (off only for benchmarks)
    # A recording of public frames: the venue's market (REST and trading match against its
    # order books) and the public stream, instead of the synthetic market (replay.py).
    replay_file: str = ""
    replay_speed: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 1.0  # x the recorded pace
    # Queue position of resting orders in a recorded market (queue_model.py): "risk-averse"
    # (cancellations all behind us) or "probabilistic" (f(x) = x^queue-power).
    queue_model: Literal["risk-averse", "probabilistic"] = "risk-averse"
    queue_power: Annotated[float, msgspec.Meta(gt=0, le=10)] = 2.0
    # per account: the finished orders, executions and transaction-log rows the venue keeps
    history_kept: Annotated[int, msgspec.Meta(ge=1)] = 500
    faults: Faults = msgspec.field(default_factory=Faults)
