"""Settings versions: the stated version read strictly, migrations named, line rewrites."""

import json
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.settings_versions import (
    CURRENT_VERSION,
    MIGRATIONS,
    VERSION_KEY,
    ManualChange,
    MeaningChanged,
    Rename,
    VersionError,
    migrate,
    rewrite_text,
    version_of,
)

# A test-only table: version 2 renames a key, version 3 changes a meaning.
RENAME = Rename(to_version=2, section="a", old="old-name", new="new-name", why="clearer")
MEANING = MeaningChanged(
    to_version=3, section="b", old="pct", new="fraction", what_to_do="write pct / 100"
)
TABLE = (RENAME, MEANING)


def test_the_table_is_ordered_one_step_each() -> None:
    assert [m.to_version for m in MIGRATIONS] == list(range(2, CURRENT_VERSION + 1))


def test_a_file_without_a_version_is_version_1() -> None:
    assert version_of({"a": {}}) == 1


@pytest.mark.parametrize("value", ["2", 2.0, True, 0, -1, [2]])
def test_a_version_that_is_not_a_whole_number_from_1_is_refused_naming_the_key(
    value: object,
) -> None:
    with pytest.raises(VersionError, match=rf"key {VERSION_KEY}: .* is not a settings version"):
        version_of({VERSION_KEY: value})


def test_a_newer_version_is_refused_saying_to_update_the_code() -> None:
    with pytest.raises(VersionError, match=r"version 3, newer than this code knows .*git pull"):
        version_of({VERSION_KEY: 3}, current=2)


def test_an_old_document_is_migrated_with_each_change_named() -> None:
    migrated = migrate({"a": {"old-name": 5, "other": 1}, "b": {}}, TABLE)
    assert migrated.document == {"a": {"new-name": 5, "other": 1}, "b": {}}
    assert (migrated.version, migrated.current) == (1, 3)
    assert migrated.changes == ("[a] old-name is now called new-name (clearer)",)


def test_a_migration_changes_a_copy_never_the_parsed_document() -> None:
    document: dict[str, object] = {"a": {"old-name": 5}}
    migrate(document, TABLE)
    assert document == {"a": {"old-name": 5}}


def test_a_current_document_is_taken_as_it_is_without_the_version_key() -> None:
    migrated = migrate({VERSION_KEY: 3, "a": {"old-name": 5}}, TABLE)
    assert (migrated.document, migrated.changes) == ({"a": {"old-name": 5}}, ())


def test_a_value_whose_meaning_changed_is_refused_with_what_to_change_by_hand() -> None:
    with pytest.raises(ManualChange, match=r"key \[b\] pct: replaced by fraction in version 3"):
        migrate({VERSION_KEY: 2, "b": {"pct": 20}}, TABLE)
    assert migrate({VERSION_KEY: 2, "b": {"fraction": 0.2}}, TABLE).changes == ()


def test_a_rename_with_both_keys_present_is_refused() -> None:
    with pytest.raises(ManualChange, match=r"has both: remove old-name"):
        migrate({"a": {"old-name": 1, "new-name": 2}}, TABLE)


OLD_TEXT = """# my settings
# second comment

[a]
old-name = 5   # why five
other = 1

[c]
old-name = 7   # another section's key of the same name stays
"""


def test_the_rewrite_keeps_comments_and_states_the_version() -> None:
    text = rewrite_text(OLD_TEXT, TABLE)
    assert text.startswith("# my settings\n# second comment\n\nsettings-version = 3  # ")
    assert "new-name = 5   # why five\n" in text
    assert "old-name = 7   # another" in text
    again = migrate(tomllib.loads(text), TABLE)
    assert again.document == migrate(tomllib.loads(OLD_TEXT), TABLE).document
    assert again.changes == ()


def test_the_rewrite_replaces_a_stated_version_and_keeps_its_comment() -> None:
    text = rewrite_text("settings-version = 2 # mine\n\n[b]\nfraction = 0.1\n", TABLE)
    assert text == "settings-version = 3 # mine\n\n[b]\nfraction = 0.1\n"


KEYS = st.from_regex(r"[a-z][a-z-]{0,8}", fullmatch=True).filter(
    lambda k: k not in ("old-name", "new-name")
)
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=5)
VALUES = st.one_of(st.integers(-(2**63), 2**63 - 1), st.booleans(), TEXT)


@given(
    st.dictionaries(KEYS, VALUES, max_size=4),
    st.one_of(st.none(), st.integers(-10, 10)),
)
def test_the_rewrite_reads_as_the_in_memory_migration(
    others: dict[str, object], renamed: int | None
) -> None:
    table = {**others, **({"old-name": renamed} if renamed is not None else {})}
    body = "".join(f"{k} = {_toml(v)}\n" for k, v in table.items())
    original = f"# comment\n[a]\n{body}"
    text = rewrite_text(original, TABLE)
    assert (
        migrate(tomllib.loads(text), TABLE).document
        == migrate(tomllib.loads(original), TABLE).document
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # its escapes are TOML's too
    return str(value)
