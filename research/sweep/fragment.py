"""The best settings as a settings fragment: a `[strategy]` table the live system takes.

The live system reads one settings file (deploy/settings.toml, or $TRADING_SETTINGS) and
has no include or overlay, so a fragment is merged into it: `merge_into` replaces each key's
line in the file's `[strategy]` section (its comment kept) and adds a key the section does
not have at the section's end. `apply` does that to a file, after checking the merged text
with the strict loader (`shared.settings.load_section`), keeping the original as `.bak`.
"""

import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from research.sweep.space import Value, toml_value
from services.strategy.settings import StrategySettings
from shared.settings import SettingsError, load_section

SECTION = "strategy"
_HEADER = re.compile(r"^\s*\[")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_-]+)\s*=\s*(?P<value>[^#]*?)\s*(?P<comment>#.*)?$")


def fragment_text(values: Mapping[str, Value], comments: Sequence[str] = ()) -> str:
    """The fragment: `# comment` lines, then `[strategy]` with the values (sorted keys)."""
    head = [f"# {line}".rstrip() for line in comments]
    body = [f"{key} = {toml_value(values[key])}" for key in sorted(values)]
    return "\n".join([*head, f"[{SECTION}]", *body]) + "\n"


def read_fragment(path: Path) -> dict[str, Any]:
    """The `[strategy]` values of a fragment (SettingsError for anything else in it)."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(f"{path}: not a readable settings fragment ({e})") from None
    others = sorted(set(document) - {SECTION})
    if others or not isinstance(document.get(SECTION), dict):
        raise SettingsError(f"{path}: a fragment holds one [{SECTION}] table only")
    values: dict[str, Any] = document[SECTION]
    return values


def merge_into(settings_text: str, values: Mapping[str, Any]) -> str:
    """`settings_text` with the fragment's values in its [strategy] section."""
    lines = settings_text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == f"[{SECTION}]"), None)
    if start is None:
        raise SettingsError(f"the settings have no [{SECTION}] section to merge into")
    end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
    left = dict(values)
    for i in range(start + 1, end):
        match = _KEY.match(lines[i])
        if match is None or match["key"] not in left:
            continue
        comment = match["comment"]
        line = f"{match['key']} = {_toml(left.pop(match['key']))}"
        lines[i] = f"{line:<33} {comment}" if comment else line
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    added = [f"{key} = {_toml(value)}" for key, value in sorted(left.items())]
    return "\n".join([*lines[:end], *added, *lines[end:]]) + "\n"


def _toml(value: Any) -> str:
    if isinstance(value, int | float | str | bool):
        return toml_value(value)
    raise SettingsError(f"a fragment value must be a number, a string or a boolean: {value!r}")


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
