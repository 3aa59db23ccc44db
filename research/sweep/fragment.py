"""The best settings as a settings fragment: `[strategy]` and `[strategy.market-maker]`.

The live system reads one settings file (deploy/settings.toml, or $TRADING_SETTINGS) and
has no include or overlay, so a fragment is merged into it: `merge_into` replaces each key's
line in the file's `[strategy]` section (its comment kept) and adds a key the section does
not have at the section's end; the dotted keys (`market-maker.min-spread-bps`, as swept and
as `--set` takes them) go the same way into `[strategy.market-maker]`, a section added after
`[strategy]`'s when the file has none (deploy/settings.toml ships it commented out: a `#`
line is no header). `apply` does that to a file, after checking the merged text with the
strict loader (`shared.settings.load_section`), keeping the original as `.bak`.
"""

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from research.sweep.space import MARKET_MAKER, toml_value
from services.strategy.settings import StrategySettings
from shared.settings import SettingsError, load_section

SECTION = "strategy"
TABLE = f"{SECTION}.{MARKET_MAKER}"
_HEADER = re.compile(r"^\s*\[")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<value>[^#]*?)\s*(?P<comment>#.*)?$")
_SECTION_HEADER = re.compile(r"^\s*\[\s*strategy\s*\]\s*(#.*)?$")
_TABLE_HEADER = re.compile(r'^\s*\[\s*strategy\s*\.\s*("market-maker"|market-maker)\s*\]\s*(#.*)?$')
_TABLE_INLINE = re.compile(r'^\s*("market-maker"|market-maker)\s*[.=]')  # in [strategy]


def split_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Flat values as the [strategy] keys and the [strategy.market-maker] keys: a dotted
    `market-maker.KEY` is that table's KEY, and a whole `market-maker` table (a
    `--set 'market-maker={...}'`) gives all of them, in order as `--set` applies them."""
    top: dict[str, Any] = {}
    table: dict[str, Any] = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if key == MARKET_MAKER and isinstance(value, Mapping):
            table = dict(value)
        elif head == MARKET_MAKER and dot and rest:
            table[rest] = value
        elif dot:
            raise SettingsError(f"{key}: not a [{SECTION}] key nor a {MARKET_MAKER}.KEY one")
        else:
            top[key] = value
    return top, table


def fragment_text(values: Mapping[str, Any], comments: Sequence[str] = ()) -> str:
    """The fragment: `# comment` lines, `[strategy]` with the plain keys, then
    `[strategy.market-maker]` with the dotted ones (sorted keys; a table without keys is
    left out)."""
    top, table = split_values(values)
    head = [f"# {line}".rstrip() for line in comments]
    body = [f"[{SECTION}]", *_lines(top)] if top or not table else []
    if table:
        body += [*([""] if body else []), f"[{TABLE}]", *_lines(table)]
    return "\n".join([*head, *body]) + "\n"


def _lines(values: Mapping[str, Any]) -> list[str]:
    return [f"{key} = {_toml(values[key])}" for key in sorted(values)]


def read_fragment(path: Path) -> dict[str, Any]:
    """The values of a fragment, the [strategy.market-maker] ones as dotted keys
    (SettingsError for anything else in it)."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"{path}: not a readable settings fragment ({e})") from None
    only = f"{path}: a fragment holds a [{SECTION}] and a [{TABLE}] table only"
    strategy = document.get(SECTION)
    others = sorted(set(document) - {SECTION})
    if others or not isinstance(strategy, dict):
        raise SettingsError(f"{only} (found {', '.join(others) or 'no [strategy]'})")
    values: dict[str, Any] = {}
    for key, value in strategy.items():
        if key == MARKET_MAKER and isinstance(value, dict):
            nested = sorted(k for k, v in value.items() if isinstance(v, dict))
            if nested:
                raise SettingsError(f"{only} (found {TABLE}.{nested[0]})")
            values.update({f"{MARKET_MAKER}.{k}": v for k, v in value.items()})
        elif isinstance(value, dict):
            raise SettingsError(f"{only} (found {SECTION}.{key})")
        else:
            values[key] = value
    return values


def merge_into(settings_text: str, values: Mapping[str, Any]) -> str:
    """`settings_text` with the fragment's values in its [strategy] section and its
    [strategy.market-maker] section (added after [strategy]'s when there is none)."""
    top, table = split_values(values)
    lines = settings_text.splitlines()
    start = _find(lines, _SECTION_HEADER)
    if start is None and (top or (table and _find(lines, _TABLE_HEADER) is None)):
        raise SettingsError(f"the settings have no [{SECTION}] section to merge into")
    if top:
        assert start is not None
        lines = _merge_section(lines, start, top)
    at = _find(lines, _TABLE_HEADER)  # after the [strategy] keys went in
    if table and at is not None:
        lines = _merge_section(lines, at, table)
    elif table:
        assert start is not None
        end = _section_end(lines, start)
        inline = [i for i in range(start + 1, end) if _TABLE_INLINE.match(lines[i])]
        if inline:
            raise SettingsError(
                f"the settings' [{SECTION}] section sets {MARKET_MAKER} itself (line"
                f" {inline[0] + 1}): merge the {MARKET_MAKER} keys into it by hand"
            )
        end = _trimmed(lines, start, end)
        added = ["", f"[{TABLE}]", *_lines(table)]
        lines = [*lines[:end], *added, *([""] if lines[end:] else []), *lines[end:]]
    return "\n".join(lines) + "\n"


def _find(lines: Sequence[str], header: re.Pattern[str]) -> int | None:
    """The index of the first line that is this header (a commented one is not)."""
    return next((i for i, ln in enumerate(lines) if header.match(ln)), None)


def _section_end(lines: Sequence[str], start: int) -> int:
    """The index of the next header after `start` (or the end of the text)."""
    return next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))


def _trimmed(lines: Sequence[str], start: int, end: int) -> int:
    """`end` moved back over the blank lines that close the section."""
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _merge_section(lines: list[str], start: int, values: Mapping[str, Any]) -> list[str]:
    """The section starting at `start` with `values`: a key's line replaced (its comment
    kept), a key the section lacks added at its end (before the blank lines that close it)."""
    lines = list(lines)
    end = _section_end(lines, start)
    left = dict(values)
    for i in range(start + 1, end):
        match = _KEY.match(lines[i])
        if match is None or match["key"] not in left:
            continue
        comment = match["comment"]
        line = f"{match['key']} = {_toml(left.pop(match['key']))}"
        lines[i] = f"{line:<33} {comment}" if comment else line
    end = _trimmed(lines, start, end)
    return [*lines[:end], *_lines(left), *lines[end:]]


def _toml(value: Any) -> str:
    """A fragment value as TOML: a number, a string, a boolean, or a list of them (the
    symbols of a whole `market-maker` table given with --set)."""
    if isinstance(value, int | float | str | bool):
        return toml_value(value)
    if isinstance(value, list) and all(isinstance(v, int | float | str | bool) for v in value):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise SettingsError(
        f"a fragment value must be a number, a string, a boolean or a list of them: {value!r}"
    )


def check_merged(text: str, where: Path) -> StrategySettings:
    """The [strategy] section of merged settings, through the strict loader."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / where.name
        path.write_text(text)
        try:
            return load_section(SECTION, StrategySettings, path)
        except SettingsError as e:
            raise SettingsError(str(e).replace(str(path), str(where))) from None


def apply(fragment: Path, settings: Path) -> Path:
    """Merge `fragment` into the settings file `settings` (checked first, all or nothing);
    the original is kept beside it as `<name>.bak`, whose path is returned."""
    try:
        text = settings.read_text()
    except OSError as e:
        raise SettingsError(f"{settings}: cannot read the settings file ({e})") from None
    merged = merge_into(text, read_fragment(fragment))
    check_merged(merged, settings)
    backup = settings.with_name(f"{settings.name}.bak")
    shutil.copy2(settings, backup)
    with tempfile.NamedTemporaryFile("w", dir=settings.parent, delete=False) as out:
        out.write(merged)
    try:
        shutil.copymode(settings, out.name)
        os.replace(out.name, settings)
    except OSError:
        os.unlink(out.name)
        raise
    return backup
