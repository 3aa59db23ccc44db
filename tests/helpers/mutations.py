"""Mutations of captured frames, for the fuzz tests (hypothesis) and `scripts/bench fuzz`.

A Mutation is plain data (kind, at, arg), so hypothesis can draw and shrink it and a seeded
random.Random can draw it for the benchmark: both go through `mutate`. Kinds:

* flip: one byte XOR-ed; truncate: cut at a point; insert: a hostile fragment inserted;
* not_utf8: a byte inside a run of letters (a key or a text value) made invalid UTF-8;
* leaf: one value of the decoded document (JSON or msgpack) replaced by a hostile one:
  huge, NaN, Infinity, negative, empty, or of the wrong JSON type;
* nest: the document wrapped in deep arrays.
"""

import random
import re
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, NamedTuple

import msgspec

Format = Literal["json", "msgpack"]
KINDS: Final = ("flip", "truncate", "insert", "not_utf8", "leaf", "nest")
FRAGMENTS: Final = (
    b"\xff",
    b"\x00",
    b'"',
    b"{",
    b"]",
    b",",
    b"\\",
    b"\xed\xa0\x80",  # an encoded surrogate: never valid UTF-8
    b"\xc3",  # a lead byte with no continuation
    b'"\xff\xfe"',
    b"\xc1",  # never used in msgpack
    b"\xdd\xff\xff\xff\xff",  # a msgpack array claiming 4 billion items
)
NOT_UTF8: Final = (b"\xff", b"\xc3", b"\xed", b"\x80", b"\xfe")
HOSTILE_JSON: Final[tuple[Any, ...]] = (
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "-1",
    "-0",
    "",
    "1e999999999",
    "1e-999999999",
    "9" * 400,
    "0x1f",
    "1_000",
    10**30,
    -(10**30),
    -1,
    0,
    1e308,
    None,
    True,
    [],
    {},
    [[["x"]]],
    "x",
)
_INT64_MAX: Final = 2**63 - 1
_LETTERS: Final = re.compile(rb"[A-Za-z]{3,}")
NEST_DEPTH: Final = 10_000


class Mutation(NamedTuple):
    kind: str
    at: int  # a position or an index, taken modulo what there is
    arg: int  # which fragment, value or byte


def random_mutations(rng: random.Random, most: int = 3) -> list[Mutation]:
    """Return 1 to `most` mutations drawn from `rng` (deterministic for a seeded rng)."""
    count = rng.randint(1, most)
    return [
        Mutation(rng.choice(KINDS), rng.getrandbits(20), rng.getrandbits(16)) for _ in range(count)
    ]


def mutate(data: bytes, mutations: Sequence[Mutation], fmt: Format = "json") -> bytes:
    for mutation in mutations:
        data = _apply(data, mutation, fmt)
    return data


def _apply(data: bytes, m: Mutation, fmt: Format) -> bytes:
    return _KINDS[m.kind](data, m, fmt)


def _flip(data: bytes, m: Mutation, fmt: Format) -> bytes:
    if not data:
        return b"\xff"
    at = m.at % len(data)
    return data[:at] + bytes([data[at] ^ (m.arg % 255 + 1)]) + data[at + 1 :]


def _truncate(data: bytes, m: Mutation, fmt: Format) -> bytes:
    return data[: m.at % max(len(data), 1)]


def _insert(data: bytes, m: Mutation, fmt: Format) -> bytes:
    at = m.at % (len(data) + 1)
    return data[:at] + FRAGMENTS[m.arg % len(FRAGMENTS)] + data[at:]


def _not_utf8(data: bytes, m: Mutation, fmt: Format) -> bytes:
    bad = NOT_UTF8[m.arg % len(NOT_UTF8)]
    runs = [r.start() for r in _LETTERS.finditer(data)]
    if not runs:
        return data + bad
    at = runs[m.at % len(runs)] + 1
    return data[:at] + bad + data[at + 1 :]


def _nest(data: bytes, m: Mutation, fmt: Format) -> bytes:
    depth = 1 + m.arg % NEST_DEPTH
    if fmt == "json":
        return b"[" * depth + data + b"]" * depth
    return b"\x91" * depth + data


def _replace_leaf(data: bytes, m: Mutation, fmt: Format) -> bytes:
    """Replace one leaf (or one whole container) of the decoded document by a hostile value."""
    try:
        tree = msgspec.json.decode(data) if fmt == "json" else msgspec.msgpack.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError):
        return _flip(data, m, fmt)
    value = HOSTILE_JSON[m.arg % len(HOSTILE_JSON)]
    if fmt == "msgpack" and isinstance(value, int) and not -_INT64_MAX <= value <= _INT64_MAX:
        value = _INT64_MAX if value > 0 else -_INT64_MAX
    try:
        paths = list(_paths(tree, ()))
        if not paths:
            return data
        tree = _set(tree, paths[m.at % len(paths)], value)
        return msgspec.json.encode(tree) if fmt == "json" else msgspec.msgpack.encode(tree)
    except RecursionError:  # nested deeper than Python recurses (after a nest): flip instead
        return _flip(data, m, fmt)


def _paths(node: Any, prefix: tuple[Any, ...]) -> Any:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _paths(child, (*prefix, i))


def _set(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    node[head] = _set(node[head], rest, value)
    return node


_Apply = Callable[[bytes, Mutation, Format], bytes]
_KINDS: Final[dict[str, _Apply]] = {
    "flip": _flip,
    "truncate": _truncate,
    "insert": _insert,
    "not_utf8": _not_utf8,
    "leaf": _replace_leaf,
    "nest": _nest,
}
