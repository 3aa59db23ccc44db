"""The execIds booked lately, bounded: an executor that runs for weeks keeps memory flat.

A fill is counted once by its execId across the stream and REST. The ids seen recently are
kept in memory, the oldest forgotten past `limit`; an id older than that which comes back
(the venue's REST lists are its last pages) is still refused by the journal's unique
execId, and counted as a duplicate there. 200,000 ids (about 20 MB) is several days of
fills at the paper market's pace and hours of a busy quoter's.
"""

from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from typing import Final

DEFAULT_LIMIT: Final = 200_000


class RecentIds(AbstractSet[str]):
    """The `limit` ids added last, in the order added."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, not {limit}")
        self._limit = limit
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest first

    def add(self, exec_id: str) -> None:
        if exec_id in self._ids:
            return
        self._ids[exec_id] = None
        if len(self._ids) > self._limit:
            del self._ids[next(iter(self._ids))]

    def update(self, exec_ids: Iterable[str]) -> None:
        for exec_id in exec_ids:
            self.add(exec_id)

    def __contains__(self, exec_id: object) -> bool:
        return exec_id in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
