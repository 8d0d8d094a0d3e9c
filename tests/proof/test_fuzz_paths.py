"""Property test of the path policy over every entry point that takes a path.

Paths are drawn from a vocabulary of dangerous ones (RoomDB's database and its companions in any
case, `./`, `..`, trailing and double slashes, symlinks and hardlinks to `roomdb.db` and to
`configuration.yaml`, a FIFO, a socket, folders, `.storage/`, `custom_components/`, the recorder's
database, user files, unicode, over-long names, NUL) combined with random segments. Around each
call the whole config folder is snapshotted (paths, inodes, content hashes) and the outcome must be
one of:

* a translated refusal (or a schema error) and nothing changed at all;
* success, and the only changes are the target (a new file, or a file RoomDB wrote before) and the
  folders created for it.

The default suite runs a few examples per entry point; `-m slow` runs 1,000 per entry point
(5,000 paths in all).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from hypothesis import HealthCheck, event, given, settings, strategies as st
import probatio as vol
import pytest

from custom_components.roomdb.const import CONF_EXPORT_PATH, CONF_MAPPING_PATH, DOMAIN
from tests.files import Entry, changed, plant_dangers, snapshot
from tests.test_path_policy import PATH_KEYS

DANGEROUS = [
    "roomdb.db",
    "roomdb.db-wal",
    "roomdb.db-shm",
    "roomdb.db-journal",
    "./roomdb.db",
    "a/../roomdb.db",
    "roomdb.db/",
    ".//roomdb.db",
    "sub//../roomdb.db",
    "link_db.json",
    "link_db.yaml",
    "link_db.db",
    "hard_db.yaml",
    "hard_db.json",
    "hard_db.db",
    "link_cfg.yaml",
    "hard_cfg.yaml",
    "hard_cfg.json",
    "hard_recorder.db",
    "hard_recorder.yaml",
    "hard_zigbee.yaml",
    "hard_zigbee.json",
    "link_out.yaml",
    "link_storage/core.config_entries",
    "link_storage/x.db",
    "fifo.yaml",
    "fifo.json",
    "fifo.db",
    "sock.yaml",
    "folder.yaml",
    "folder.json",
    "folder.db",
    "roomdb_backups",
    ".storage/core.config_entries",
    ".storage/roomdb.area_mapping",
    ".storage/x.db",
    ".cloud/prefs",
    ".HA_VERSION",
    "custom_components/roomdb/manifest.json",
    "custom_components/x.yaml",
    "deps/x.db",
    "backups/x.db",
    "blueprints/automation/x.yaml",
    "tts/x.json",
    "www/x.json",
    "home-assistant_v2.db",
    "home-assistant_v2.db-wal",
    "home-assistant.log",
    "zigbee.db",
    "configuration.yaml",
    "secrets.yaml",
    "automations.yaml",
    "notes.txt",
    "mine.json",
    "mine.yaml",
    "mine.yml",
    "mine.db",
    "mine.sqlite",
    "exports/keep.json",
    "unicode/küche ☃.yaml",
    "old_export.json",
    "roomdb/generated.yaml",
    "own_backup.db",
    "new/file.db",
    "new/file.json",
    "new/file.yaml",
    "/etc/passwd",
    "../x.db",
    "C:/x.db",
    "\\\\server\\share\\x.db",
    "x\x00.db",
    "é" * 130 + ".yaml",
    "a" * 255,
    "",
    " ",
]
SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "roomdb.db",
            "ROOMDB.DB",
            ".storage",
            "www",
            "sub",
            "x.db",
            "x.json",
            "x.yaml",
            "X.YAML",
            "custom_components",
            "link_storage",
            "link_db.db",
            "folder.db",
            "fifo.yaml",
            "configuration.yaml",
        ]
    ),
    st.text(max_size=20),
)
COMPOSED = st.builds(
    lambda prefix, segments, separator, suffix: prefix + separator.join(segments) + suffix,
    st.sampled_from(["", "./", "/", "sub/"]),
    st.lists(SEGMENTS, min_size=1, max_size=4),
    st.sampled_from(["/", "//", "\\"]),
    st.sampled_from(["", ".db", ".json", ".yaml", ".yml", ".sqlite3", "-wal", "-shm", "/"]),
)


def _mangle_case(path: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(path), max_size=len(path))
    return flips.map(
        lambda up: "".join(c.upper() if u else c.lower() for c, u in zip(path, up, strict=True))
    )


MANGLED = st.sampled_from(DANGEROUS).flatmap(_mangle_case)
PATHS = st.one_of(st.sampled_from(DANGEROUS), COMPOSED, MANGLED)
DEFAULTS = {CONF_MAPPING_PATH: "roomdb/area_mapping.yaml", CONF_EXPORT_PATH: "x.json"}
DATABASE_FILES = {"roomdb.db", "roomdb.db-wal", "roomdb.db-shm", "roomdb.db-journal"}

type Snapshot = dict[str, Entry]


class Folder:
    """The config folder under test and the files RoomDB is known to have written in it."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.hass = hass
        self.root = Path(hass.config.config_dir)
        self.owned: set[str] = set()

    async def replant(self) -> None:
        """Put back the dangers (a successful write may have replaced a RoomDB file)."""
        self.owned |= await self.hass.async_add_executor_job(plant_dangers, self.root)

    async def snapshot(self) -> Snapshot:
        return await self.hass.async_add_executor_job(snapshot, self.root)

    def assert_only_target(self, before: Snapshot, after: Snapshot, target: str | None) -> None:
        """Nothing changed but `target` (new, or RoomDB's own) and folders made for it."""
        allowed: set[str] = set()
        if target is not None:
            allowed.add(target)
            assert target not in before or target in self.owned, f"replaced foreign {target}"
            parent = Path(target).parent
            while str(parent) != ".":
                if str(parent) not in before:
                    allowed.add(str(parent))
                parent = parent.parent
        unexpected = changed(before, after) - allowed
        # The live database may grow a -wal/-shm; its own inode must never change.
        unexpected -= {key for key in unexpected if key in DATABASE_FILES and key != "roomdb.db"}
        assert not unexpected, f"changed: {sorted(unexpected)}"
        if target is not None:
            self.owned.add(target)


def _refusal_key(err: BaseException) -> str | None:
    if isinstance(err, ServiceValidationError) and err.translation_domain == DOMAIN:
        return err.translation_key
    return None


@pytest.fixture
def folder(hass: HomeAssistant) -> Folder:
    """One per test function: hypothesis runs every example against the same folder."""
    return Folder(hass)


@pytest.fixture
def held_open(hass: HomeAssistant) -> Iterator[None]:
    root = Path(hass.config.config_dir)
    plant_dangers(root)
    with closing(sqlite3.connect(root / "zigbee.db")) as zigbee:
        zigbee.execute("SELECT * FROM t").fetchall()
        yield


def _relative(folder: Folder, absolute: str) -> str:
    return str(Path(absolute).relative_to(folder.root.resolve()))


async def _service(
    hass: HomeAssistant, folder: Folder, service: str, path: str
) -> tuple[str | None, Any]:
    try:
        response = await hass.services.async_call(
            DOMAIN, service, {"path": path}, blocking=True, return_response=True
        )
    except vol.Invalid:
        event("schema")
        return "schema", None
    except ServiceValidationError as err:
        key = _refusal_key(err)
        assert key in PATH_KEYS, repr(err)
        event(key)
        return key, None
    event("accepted")
    return None, response


async def check_backup(hass: HomeAssistant, folder: Folder, path: str) -> None:
    before = await folder.snapshot()
    refused, response = await _service(hass, folder, "backup", path)
    after = await folder.snapshot()
    if refused:
        assert changed(before, after) == set(), (path, refused)
        return
    folder.assert_only_target(before, after, _relative(folder, response["path"]))


async def check_validate_mapping(hass: HomeAssistant, folder: Folder, path: str) -> None:
    before = await folder.snapshot()
    refused, response = await _service(hass, folder, "validate_mapping", path)
    assert refused or isinstance(response["valid"], bool)
    assert changed(before, await folder.snapshot()) == set(), (path, refused)


def _accepted_export_is_safe(folder: Folder, before: Snapshot, path: str) -> None:
    target = (folder.root / path.strip().replace("\\", "/")).resolve()
    relative = str(target.relative_to(folder.root.resolve()))
    assert relative not in before or relative in folder.owned, f"accepted foreign export {path}"


async def _flow_outcome(result: Any, field_paths: dict[str, str]) -> bool:
    """True when the form accepted the paths; else check the refusal is a path key."""
    if result["type"] is FlowResultType.FORM:
        (field, key), *_ = result["errors"].items()
        assert key in PATH_KEYS, result["errors"]
        assert result["description_placeholders"]["path"] == field_paths[field]
        event(key)
        return False
    event("accepted")
    return True


async def check_user_step(hass: HomeAssistant, folder: Folder, path: str) -> None:
    for field in (CONF_MAPPING_PATH, CONF_EXPORT_PATH):
        data = {**DEFAULTS, field: path}
        before = await folder.snapshot()
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
        await hass.async_block_till_done()
        if not await _flow_outcome(result, data):
            assert changed(before, await folder.snapshot()) == set(), (field, path)
            continue
        if field == CONF_EXPORT_PATH:
            _accepted_export_is_safe(folder, before, path)
        folder.assert_only_target(before, await folder.snapshot(), None)
        await hass.config_entries.async_remove(result["result"].entry_id)
        await hass.async_block_till_done()


async def check_reconfigure(hass: HomeAssistant, folder: Folder, path: str) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    field = CONF_EXPORT_PATH if len(path) % 2 else CONF_MAPPING_PATH
    data = {**DEFAULTS, field: path}
    before = await folder.snapshot()
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    await hass.async_block_till_done()
    if not await _flow_outcome(result, data):
        assert changed(before, await folder.snapshot()) == set(), (field, path)
        return
    if field == CONF_EXPORT_PATH:
        _accepted_export_is_safe(folder, before, path)
    folder.assert_only_target(before, await folder.snapshot(), None)


async def check_generate_mapping(hass: HomeAssistant, folder: Folder, path: str) -> None:
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    # A stored path, as an older RoomDB might have accepted it.
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_MAPPING_PATH: path})
    before = await folder.snapshot()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "generate_mapping"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"overwrite": True}
    )
    after = await folder.snapshot()
    if result["type"] is FlowResultType.FORM:
        assert set(result["errors"].values()) <= PATH_KEYS | {"mapping_write_failed"}
        assert changed(before, after) == set(), (path, result["errors"])
        event(result["errors"]["base"])
        return
    event("accepted")
    target = (folder.root / path.strip().replace("\\", "/")).resolve()
    folder.assert_only_target(before, after, str(target.relative_to(folder.root.resolve())))


CHECKS: dict[str, Callable[[HomeAssistant, Folder, str], Awaitable[None]]] = {
    "backup": check_backup,
    "validate_mapping": check_validate_mapping,
    "reconfigure": check_reconfigure,
    "generate_mapping": check_generate_mapping,
}
"""Entry points that need a loaded entry; the setup form needs none (`check_user_step`)."""
FUZZ = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "derandomize": True,
}
DEFAULT_EXAMPLES = 12
SLOW_EXAMPLES = 1000


async def _run(hass: HomeAssistant, folder: Folder, entry_point: str, path: str) -> None:
    await folder.replant()
    await {**CHECKS, "user_step": check_user_step}[entry_point](hass, folder, path)


def _entry_point_property(examples: int) -> Callable[..., Awaitable[None]]:
    """The property over the entry points that need a loaded entry, with `examples` paths each."""

    @pytest.mark.usefixtures("socket_enabled", "loaded_entry", "held_open")
    @pytest.mark.parametrize("entry_point", sorted(CHECKS))
    @settings(max_examples=examples, **FUZZ)
    @given(path=PATHS)
    async def check(hass: HomeAssistant, folder: Folder, entry_point: str, path: str) -> None:
        await _run(hass, folder, entry_point, path)

    return check


def _setup_form_property(examples: int) -> Callable[..., Awaitable[None]]:
    """The property over the setup form (no entry yet), with `examples` paths."""

    @pytest.mark.usefixtures("socket_enabled", "removed_entry", "held_open")
    @settings(max_examples=examples, **FUZZ)
    @given(path=PATHS)
    async def check(hass: HomeAssistant, folder: Folder, path: str) -> None:
        await _run(hass, folder, "user_step", path)

    return check


test_paths_are_refused_or_touch_only_their_target = _entry_point_property(DEFAULT_EXAMPLES)
test_setup_form_refuses_or_touches_nothing = _setup_form_property(DEFAULT_EXAMPLES)
test_paths_are_refused_or_touch_only_their_target_many = pytest.mark.slow(
    _entry_point_property(SLOW_EXAMPLES)
)
test_setup_form_refuses_or_touches_nothing_many = pytest.mark.slow(
    _setup_form_property(SLOW_EXAMPLES)
)


def test_vocabulary_covers_every_danger(tmp_path: Path) -> None:
    """Every file planted at the top of the folder is in the vocabulary."""
    root = tmp_path / "config"
    root.mkdir()
    plant_dangers(root)
    planted = {path.name for path in root.iterdir() if not path.is_dir()}
    assert planted - set(DANGEROUS) == set()
