"""What clients ask about the key and the account before they trade, answered as Bybit does.

ccxt reads all three on its first private call (its `is_unified_enabled` and
`fetch_currencies`): GET /v5/user/query-api (the key: a unified trading account, uta=1),
GET /v5/account/info (the margin mode and unifiedMarginStatus) and GET
/v5/asset/coin/query-info (the coins; a paper venue has no deposit or withdrawal chains).
Its fetch_status reads GET /v5/system/status (public): no maintenance here, an empty list.
"""

import zlib
from datetime import UTC, datetime
from typing import Final

import msgspec

from services.simulator.rest_call import Call
from services.simulator.venue import Venue
from shared.bybit import wire

_KEY_LIFETIME_DAYS: Final = 90
_UTA2_PRO: Final = 6  # unifiedMarginStatus: 1 classic, 3 UTA 1.0, 4 UTA 1.0 pro, 5 UTA 2.0, 6 pro
_PERMISSIONS: Final = {
    "ContractTrade": ["Order", "Position"],
    "Spot": [],
    "Wallet": [],
    "Options": [],
    "Derivatives": ["DerivativesTrade"],
    "CopyTrading": [],
    "BlockTrade": [],
    "Exchange": [],
    "NFT": [],
    "Affiliate": [],
    "Earn": [],
}


class ApiKeyInfo(wire.Wire, kw_only=True):
    """GET /v5/user/query-api."""

    id: str
    note: str
    api_key: str
    read_only: int
    secret: str
    permissions: dict[str, list[str]]
    ips: list[str]
    type: int
    deadline_day: int
    expired_at: str
    created_at: str
    unified: int
    uta: int
    user_id: int = msgspec.field(name="userID")
    inviter_id: int = msgspec.field(name="inviterID")
    vip_level: str
    mkt_maker_level: str
    affiliate_id: int = msgspec.field(name="affiliateID")
    rsa_public_key: str
    is_master: bool
    parent_uid: str
    kyc_level: str
    kyc_region: str


class AccountInfo(wire.Wire, kw_only=True):
    """GET /v5/account/info."""

    margin_mode: str
    updated_time: str
    unified_margin_status: int
    dcp_status: str
    time_window: int
    smp_group: int
    is_master_trader: bool
    spot_hedging_status: str


class SystemStatus(wire.Wire, kw_only=True):
    """GET /v5/system/status: the maintenance events (none on the simulator)."""

    list: list[dict[str, str]]


class CoinInfo(wire.Wire, kw_only=True):
    name: str
    coin: str
    remain_amount: str
    chains: list[dict[str, str]]


class CoinInfoRows(wire.Wire, kw_only=True):
    """GET /v5/asset/coin/query-info."""

    rows: list[CoinInfo]


def user_id(api_key: str) -> int:
    """A stable 8-digit user id per API key."""
    return 10_000_000 + zlib.crc32(api_key.encode()) % 90_000_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AccountApi:
    """The three handlers; `started_ms` stands in for the key's and the account's creation."""

    def __init__(self, venue: Venue, started_ms: int) -> None:
        self._venue = venue
        self._started_ms = started_ms

    async def query_api(self, call: Call) -> ApiKeyInfo:
        expires_ms = self._started_ms + _KEY_LIFETIME_DAYS * 86_400_000
        return ApiKeyInfo(
            id=str(user_id(call.account) % 1_000_000),
            note="simulator paper key",
            api_key=call.account,
            read_only=0,
            secret="",
            permissions={k: list(v) for k, v in _PERMISSIONS.items()},
            ips=["*"],
            type=1,
            deadline_day=max(0, (expires_ms - call.now_ms) // 86_400_000),
            expired_at=_iso(expires_ms),
            created_at=_iso(self._started_ms),
            unified=0,
            uta=1,
            user_id=user_id(call.account),
            inviter_id=0,
            vip_level="No VIP",
            mkt_maker_level="0",
            affiliate_id=0,
            rsa_public_key="",
            is_master=True,
            parent_uid="0",
            kyc_level="LEVEL_DEFAULT",
            kyc_region="",
        )

    async def account_info(self, call: Call) -> AccountInfo:
        return AccountInfo(
            margin_mode="REGULAR_MARGIN",  # cross margin, the simulator's only mode
            updated_time=str(self._started_ms),
            unified_margin_status=_UTA2_PRO,
            dcp_status="OFF",
            time_window=10,
            smp_group=0,
            is_master_trader=False,
            spot_hedging_status="OFF",
        )

    async def system_status(self, call: Call) -> SystemStatus:
        return SystemStatus(list=[])

    async def coin_info(self, call: Call) -> CoinInfoRows:
        coins = {"USDT"} | {i.base_coin for i in self._venue.instruments()}
        wanted = call.params.get("coin")
        return CoinInfoRows(
            rows=[
                CoinInfo(name=c, coin=c, remain_amount="0", chains=[])
                for c in sorted(coins)
                if wanted in (None, c)
            ]
        )
