"""Settings versions: a file states its schema version; an older one is migrated, never silently.

The top-level key `settings-version` (before the first section) states the version of the
file; a file without it is version 1 (the format before versions). MIGRATIONS is ordered:
MIGRATIONS[i] takes version i + 1 to version i + 2. Each is a pure function on the parsed
TOML document and names the change it made; one that cannot be made automatically (a value
whose meaning changed) raises ManualChange saying what to change by hand. A file newer than
CURRENT_VERSION is refused: the code is older than the file. See
docs/decisions/0002-settings-versions.md.
"""

import copy
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

VERSION_KEY: Final = "settings-version"
FIRST_VERSION: Final = 1  # a file without VERSION_KEY
VERSION_NOTE: Final = "the schema of this file; an older one is migrated (scripts/settings)"


class VersionError(Exception):
    """The file's version cannot be read as this code's version; the message says what to do."""


class ManualChange(VersionError):
    """A migration that needs a person: the message says what to change by hand."""


Document = dict[str, object]


class Migration(Protocol):
    """One step: the document of version `to_version - 1` as version `to_version`."""

    @property
    def to_version(self) -> int: ...

    def apply(self, document: Document) -> tuple[Document, list[str]]:
        """A new document (the argument untouched) and the changes made (none: nothing to do)."""
        ...

    def rewrite(self, lines: list[str]) -> list[str]:
        """The same change on the file's lines, keeping the comments."""
        ...


@dataclass(frozen=True)
class Rename:
    """Key `old` of [section] is now called `new`; its value and meaning are unchanged."""

    to_version: int
    section: str
    old: str
    new: str
    why: str

    def apply(self, document: Document) -> tuple[Document, list[str]]:
        table = document.get(self.section)
        if not isinstance(table, dict) or self.old not in table:
            return document, []
        if self.new in table:
            raise ManualChange(
                f"key [{self.section}] {self.old} is now called {self.new}, and the file has"
                f" both: remove {self.old}"
            )
        renamed = {(self.new if k == self.old else k): v for k, v in table.items()}
        result = {**document, self.section: renamed}  # a new document: nothing is changed
        return result, [f"[{self.section}] {self.old} is now called {self.new} ({self.why})"]

    def rewrite(self, lines: list[str]) -> list[str]:
        key = re.compile(rf"^(\s*){re.escape(self.old)}(\s*=)")
        section = ""
        result = []
        for line in lines:
            if header := _HEADER.match(line):
                section = header["name"].strip()
            elif section == self.section:
                line = key.sub(rf"\g<1>{self.new}\g<2>", line, count=1)
            result.append(line)
        return result


@dataclass(frozen=True)
class MeaningChanged:
    """Key [section] `old` is replaced by `new`, which means something else: a person must
    write the new value (a changed meaning always gets a new name, so that an old file is
    refused rather than misread)."""

    to_version: int
    section: str
    old: str
    new: str
    what_to_do: str

    def apply(self, document: Document) -> tuple[Document, list[str]]:
        table = document.get(self.section)
        if isinstance(table, dict) and self.old in table:
            raise ManualChange(
                f"key [{self.section}] {self.old}: replaced by {self.new} in version"
                f" {self.to_version}, which means something else: {self.what_to_do}; then"
                f" remove {self.old}"
            )
        return document, []

    def rewrite(self, lines: list[str]) -> list[str]:
        return lines  # nothing to rewrite: apply refused a file that had the key


@dataclass(frozen=True)
class NewKey:
    """One key a version adds, with the value (and comment) the template gives it."""

    section: str  # a table's dotted name, e.g. "bus.endpoints"
    key: str
    value: str | int | float | bool
    comment: str = ""

    def line(self) -> str:
        value = json.dumps(self.value)  # a TOML basic string, integer, float or boolean
        return f"{self.key} = {value}" + (f"  # {self.comment}" if self.comment else "") + "\n"


@dataclass(frozen=True)
class Added:
    """Keys new in `to_version`: a file without them gets them with the template's values
    (a key the file already has keeps its value). For a new section with a required key
    (e.g. a new service's metrics-port): an older file still starts, and says what it got."""

    to_version: int
    keys: tuple[NewKey, ...]
    why: str

    def apply(self, document: Document) -> tuple[Document, list[str]]:
        result = copy.deepcopy(document)  # nothing of the argument is changed
        added: dict[str, list[str]] = {}
        for new in self.keys:
            table = result
            for name in new.section.split("."):
                table = table.setdefault(name, {})  # type: ignore[assignment]
                if not isinstance(table, dict):
                    raise ManualChange(f"[{new.section}]: expected a table, found {table!r}")
            if new.key not in table:
                table[new.key] = new.value
                added.setdefault(new.section, []).append(new.key)
        changes = [f"[{t}] {', '.join(keys)} added ({self.why})" for t, keys in added.items()]
        return (result, changes) if changes else (document, [])

    def rewrite(self, lines: list[str]) -> list[str]:
        result = list(lines)
        for section in dict.fromkeys(new.section for new in self.keys):
            missing = [
                new.line()
                for new in self.keys
                if new.section == section and not _has_key(result, section, new.key)
            ]
            if missing:
                result = _insert_in_section(result, section, missing)
        return result


def _section_spans(lines: list[str]) -> dict[str, tuple[int, int]]:
    """Table name -> (index of its header, index after its last key line)."""
    spans: dict[str, tuple[int, int]] = {}
    current = ""
    for i, line in enumerate(lines):
        if header := _HEADER.match(line):
            current = header["name"].strip()
            spans[current] = (i, i + 1)
        elif current and line.strip() and not line.lstrip().startswith("#"):
            spans[current] = (spans[current][0], i + 1)
    return spans


def _has_key(lines: list[str], section: str, key: str) -> bool:
    span = _section_spans(lines).get(section)
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    return span is not None and any(pattern.match(line) for line in lines[span[0] : span[1]])


def _insert_in_section(lines: list[str], section: str, new_lines: list[str]) -> list[str]:
    """`new_lines` after the section's last key, or the section at the end of the file."""
    span = _section_spans(lines).get(section)
    if span is None:
        ending = [] if not lines or lines[-1].endswith("\n") else ["\n"]
        return [*lines, *ending, "\n", f"[{section}]\n", *new_lines]
    end = span[1]
    if not lines[end - 1].endswith("\n"):
        lines = [*lines[: end - 1], lines[end - 1] + "\n", *lines[end:]]
    return [*lines[:end], *new_lines, *lines[end:]]


_HEADER = re.compile(r"^\s*\[\[?(?P<name>[^\]]+)\]\]?\s*(#.*)?$")

_RECORDER = "recorder"
_DASHBOARD = "dashboard"

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Rename(
        to_version=2,
        section="strategy",
        old="stale-after-ms",
        new="max-quote-age-ms",
        why="[feed] stale-after-ms is another setting",
    ),
    Added(
        to_version=3,
        keys=(
            NewKey("bus.endpoints", "market-data-raw", "ipc://{run_dir}/md-raw.pub"),
            NewKey("bus.endpoints", "recorder-events", "ipc://{run_dir}/recorder.pub"),
            NewKey("feed", "record-raw", True, "hand each raw frame to the recorder"),
            NewKey(_RECORDER, "metrics-port", 9106),
            NewKey(_RECORDER, "recordings-dir", "recordings", "under the run dir unless absolute"),
            NewKey(_RECORDER, "keep-days", 30, "UTC days kept, today included; 0: forever"),
            NewKey(_RECORDER, "flush-interval-s", 1.0, "a crash loses at most this much"),
            NewKey(_RECORDER, "compress-level", 6, "gzip: 1 fastest .. 9 smallest"),
        ),
        why="the recorder service",
    ),
    Added(
        to_version=4,
        keys=(
            NewKey(_DASHBOARD, "metrics-port", 9107),
            NewKey(_DASHBOARD, "host", "127.0.0.1", "beyond loopback: TLS and DASHBOARD_TOKEN"),
            NewKey(_DASHBOARD, "port", 8780),
            NewKey(_DASHBOARD, "reports-dir", "reports", "under the checkout unless absolute"),
            NewKey(_DASHBOARD, "tls-cert-file", "", "both TLS files or neither"),
            NewKey(_DASHBOARD, "tls-key-file", ""),
        ),
        why="the dashboard service",
    ),
)
CURRENT_VERSION: Final = FIRST_VERSION + len(MIGRATIONS)


@dataclass(frozen=True)
class Migrated:
    """The document as the current version, from a file of `version`, with the changes made."""

    document: Document
    version: int
    current: int
    changes: tuple[str, ...]


def version_of(document: Document, current: int = CURRENT_VERSION) -> int:
    """The file's stated version (1 when it states none); VersionError if it is not one."""
    value = document.get(VERSION_KEY, FIRST_VERSION)
    if not isinstance(value, int) or isinstance(value, bool) or value < FIRST_VERSION:
        raise VersionError(
            f"key {VERSION_KEY}: {value!r} is not a settings version (a whole number from"
            f" {FIRST_VERSION}; this code reads up to {current}); write {VERSION_KEY} ="
            f" {current} before the first section, or remove the key for version 1"
        )
    if value > current:
        raise VersionError(
            f"key {VERSION_KEY}: the file is version {value}, newer than this code knows"
            f" (up to version {current}); update the code (git pull) or use a settings file"
            f" of version {current} or older"
        )
    return value


def migrate(document: Document, migrations: Sequence[Migration] = MIGRATIONS) -> Migrated:
    """`document` (as parsed) as the current version, without VERSION_KEY; VersionError or
    ManualChange when it cannot be."""
    current = FIRST_VERSION + len(migrations)
    version = version_of(document, current)
    result = {k: v for k, v in document.items() if k != VERSION_KEY}
    changes: list[str] = []
    for step in migrations[version - FIRST_VERSION :]:
        result, made = step.apply(result)
        changes.extend(made)
    return Migrated(result, version, current, tuple(changes))


def rewrite_text(text: str, migrations: Sequence[Migration] = MIGRATIONS) -> str:
    """The file's text with the migrations from its version on applied line by line and
    VERSION_KEY set to the current version; the caller checks the result parses as
    `migrate` reads the original (a line-based edit cannot follow every TOML form)."""
    current = FIRST_VERSION + len(migrations)
    version = version_of(tomllib.loads(text), current)
    lines = text.splitlines(keepends=True)
    for step in migrations[version - FIRST_VERSION :]:
        lines = step.rewrite(lines)
    return "".join(_with_version(lines, current))


_VERSION_LINE = re.compile(rf"^(?P<key>\s*{re.escape(VERSION_KEY)}\s*=\s*)(?P<value>[^#\s]*)")


def _with_version(lines: list[str], version: int) -> list[str]:
    """`lines` stating `version`: its line changed, else one added before the first key."""
    for i, line in enumerate(lines):
        if _HEADER.match(line):
            break
        if _VERSION_LINE.match(line):
            return [*lines[:i], _VERSION_LINE.sub(rf"\g<key>{version}", line, 1), *lines[i + 1 :]]
    first_code = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        len(lines),
    )
    note = f"{VERSION_KEY} = {version}  # {VERSION_NOTE}\n\n"
    return [*lines[:first_code], note, *lines[first_code:]]
