"""History import: the recorder's state history of the tracked entities → `raw_events`.

Home Assistant's recorder already holds the last days of every state change (`purge_keep_days`,
10 by default), so RoomDB need not start from nothing. The import reads it through the
recorder's own history API, on the recorder's executor (never the database file, never in the
event loop), one slice of `SLICE_SECONDS` at a time; each slice's rows are written in one
transaction and then the cursor (in `metadata`) moves past it. A restart resumes at the cursor;
a slice written but not yet recorded as done is read again and adds nothing, because rows are
`INSERT OR IGNORE` on the same key live rows have (time in µs, entity, state).

Imported rows are made exactly as live ones: the ingestor's decision (tracked or not, and as which
dictionary entity: domain, device class, room) for each entity, the same dictionaries and the
same row for each change. A change is a recorded state
whose value differs from the one before it (attribute-only updates are not changes, as live);
the first change of a slice takes its old state from the state the entity had when the slice
began.

Entities RoomDB tracks are those with a current state that the ingestor tracks; an entity the
recorder excludes has no history and is listed as excluded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import json
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import CoreState, HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..db.compact import INSERT_RAW_EVENT_COMPACT
from ..db.database import Database
from ..log import get_logger
from ..timestamps import epoch_us, iso_from_timestamp, utc_datetime
from .ingest import Decision, Ingestor
from .status import (
    IMPORT_DONE,
    IMPORT_EXCLUDED,
    IMPORT_FAILED,
    IMPORT_RECORDER_UNAVAILABLE,
    IMPORT_RUNNING,
)

_LOGGER = get_logger(__name__)

SLICE_SECONDS: Final = 6 * 3600.0
META_IMPORT: Final = "history_import"
"""JSON: the import's span, its cursor, rows added and slices done (resumed after a restart)."""


RECORDER: Final = "recorder"


class ImportRefusedError(ServiceValidationError):
    """An import that cannot run (translated: recorder missing, entities excluded, running)."""


@dataclass(slots=True)
class ImportPlan:
    """One import: span [start, end), cursor (UTC epoch) and what it did so far."""

    start: float
    end: float
    cursor: float
    rows_added: int = 0
    slices: int = 0
    excluded: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The metadata value."""
        return json.dumps(
            {
                "start": self.start,
                "end": self.end,
                "cursor": self.cursor,
                "rows_added": self.rows_added,
                "slices": self.slices,
                "excluded": self.excluded,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ImportPlan:
        """Inverse of `to_json`."""
        data = json.loads(text)
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            cursor=float(data["cursor"]),
            rows_added=int(data["rows_added"]),
            slices=int(data["slices"]),
            excluded=[str(item) for item in data.get("excluded", [])],
        )

    @property
    def finished(self) -> bool:
        """Whether the cursor reached the end."""
        return self.cursor >= self.end

    def attributes(self) -> dict[str, Any]:
        """Attributes of the history import sensor."""
        span = self.end - self.start
        done = 1.0 if span <= 0 else min(1.0, (self.cursor - self.start) / span)
        return {
            "start": iso_from_timestamp(self.start),
            "end": iso_from_timestamp(self.end),
            "cursor": iso_from_timestamp(self.cursor),
            "progress": round(done * 100.0, 1),
            "rows_added": self.rows_added,
            "slices": self.slices,
            "excluded_entities": list(self.excluded),
        }


type HistoryChange = tuple[int, str, str | None, float]
"""(entity key, state, old state, time) of one recorded change of a tracked entity."""


def history_changes(
    states: Mapping[str, Sequence[State]], decisions: Mapping[str, Decision], start: float
) -> list[HistoryChange]:
    """The changes in one slice (see the module docstring)."""
    changes: list[HistoryChange] = []
    for entity_id, entity_states in states.items():
        entity_key = decisions[entity_id].entity_key
        previous: str | None = None
        for index, state in enumerate(entity_states):
            ts = state.last_changed_timestamp
            if index == 0 and ts <= start:
                # The state the entity had when the slice began (the recorder stamps it with
                # the slice's start): the old state of the slice's first change, not a change.
                previous = state.state
                continue
            if state.state == previous:
                continue
            changes.append((entity_key, state.state, previous, ts))
            previous = state.state
    return changes


def _read_slice(
    hass: HomeAssistant, start: float, end: float, entity_ids: list[str]
) -> dict[str, list[State]]:
    """Every recorded state of the entities in [start, end), with the state at `start`."""
    # Imported here, in the recorder's executor: the recorder's package pulls in SQLAlchemy,
    # which a Home Assistant without the recorder never needs (and RoomDB's setup never waits on).
    from homeassistant.components.recorder import history  # noqa: PLC0415

    found = history.get_significant_states(
        hass,
        utc_datetime(start),
        utc_datetime(end),
        entity_ids,
        include_start_time_state=True,
        significant_changes_only=False,
        no_attributes=True,
    )
    return {
        entity_id: [state for state in states if isinstance(state, State)]
        for entity_id, states in found.items()
    }


def _refused(key: str, **placeholders: str) -> ImportRefusedError:
    return ImportRefusedError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


class HistoryImporter:
    """Imports the recorder's history into `raw_events` for one loaded entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        database: Database,
        ingestor: Ingestor,
        on_progress: Callable[[str, dict[str, Any]], None],
        on_imported: Callable[[float], Any],
    ) -> None:
        """`on_progress(state, attributes)` after each slice; `on_imported(start)` when done."""
        self.hass = hass
        self.database = database
        self.ingestor = ingestor
        self._on_progress = on_progress
        self._on_imported = on_imported
        self.running = False

    def _recorder_ready(self) -> bool:
        return RECORDER in self.hass.config.components

    def tracked(self) -> tuple[dict[str, Decision], list[str]]:
        """Tracked entities the recorder keeps (with their decision), and those it excludes."""
        entity_filter = get_instance(self.hass).entity_filter
        kept: dict[str, Decision] = {}
        excluded: list[str] = []
        for state in self.hass.states.async_all():
            decision = self.ingestor.decision(state.entity_id, state)
            if not decision.tracked:
                continue
            if entity_filter is not None and not entity_filter(state.entity_id):
                excluded.append(state.entity_id)
            else:
                kept[state.entity_id] = decision
        return kept, sorted(excluded)

    async def async_load_plan(self) -> ImportPlan | None:
        """The stored plan, if any (an unreadable one is dropped)."""
        text = await self.database.get_metadata(META_IMPORT)
        if text is None:
            return None
        try:
            return ImportPlan.from_json(text)
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning("Stored history import state is unusable (%s); starting over", err)
            return None

    async def async_first_setup(self) -> None:
        """Import the recorder's whole history once, or resume an import a restart cut short.

        Waits until Home Assistant has started: the recorder and every entity's state are there.
        """
        if self.hass.state is not CoreState.running:
            await _started(self.hass)
        plan = await self.async_load_plan()
        if plan is not None and plan.finished:
            self._on_progress(IMPORT_DONE, plan.attributes())
            return
        if plan is None:
            if not self._recorder_ready():
                _LOGGER.info("The recorder is not loaded: no history to import")
                self._on_progress(IMPORT_RECORDER_UNAVAILABLE, {})
                return
            now = dt_util.utcnow().timestamp()
            keep_days = get_instance(self.hass).keep_days
            plan = ImportPlan(
                start=now - keep_days * 86400.0, end=now, cursor=now - keep_days * 86400.0
            )
        try:
            await self.async_run(plan)
        except ImportRefusedError as err:
            _LOGGER.warning("History import not possible: %s", err.translation_key)
        except Exception:  # the cursor is saved: the next start resumes from it
            _LOGGER.exception("History import failed")

    async def async_import(self, start: float | None, end: float | None) -> ImportPlan:
        """Import [start, end) now (the `import_history` action).

        `start` defaults to the oldest history the recorder keeps, `end` to now (a later end is
        cut to now).
        """
        if self.running:
            raise _refused("import_running")
        if not self._recorder_ready():
            raise _refused(IMPORT_RECORDER_UNAVAILABLE)
        now = dt_util.utcnow().timestamp()
        end = now if end is None else min(end, now)
        if start is None:
            start = now - get_instance(self.hass).keep_days * 86400.0
        if not start < end:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_input",
                translation_placeholders={"error": "start must be before end (and before now)"},
            )
        return await self.async_run(ImportPlan(start=start, end=end, cursor=start))

    async def async_run(self, plan: ImportPlan) -> ImportPlan:
        """Import the plan's remaining slices; the cursor is saved after each."""
        if not self._recorder_ready():
            self._on_progress(IMPORT_RECORDER_UNAVAILABLE, {})
            raise _refused(IMPORT_RECORDER_UNAVAILABLE)
        entities, excluded = self.tracked()
        plan.excluded = excluded
        if excluded and not entities:
            self._on_progress(IMPORT_EXCLUDED, plan.attributes())
            raise _refused("recorder_excludes_entities", entities=", ".join(excluded[:10]))
        self.running = True
        try:
            await self._async_slices(plan, entities)
        except Exception:
            self._on_progress(IMPORT_FAILED, plan.attributes())
            raise
        finally:
            self.running = False
        self._on_progress(IMPORT_DONE, plan.attributes())
        await self._on_imported(plan.start)
        return plan

    async def _async_slices(self, plan: ImportPlan, entities: dict[str, Decision]) -> None:
        recorder = get_instance(self.hass)
        entity_ids = sorted(entities)
        await self.database.set_metadata({META_IMPORT: plan.to_json()})
        self._on_progress(IMPORT_RUNNING, plan.attributes())
        while not plan.finished:
            start = plan.cursor
            end = min(start + SLICE_SECONDS, plan.end)
            changes: list[HistoryChange] = []
            if entity_ids:
                states = await recorder.async_add_executor_job(
                    _read_slice, self.hass, start, end, entity_ids
                )
                changes = await recorder.async_add_executor_job(
                    history_changes, states, entities, start
                )
            plan.rows_added += await self._async_write(changes)
            plan.cursor = end
            plan.slices += 1
            await self.database.set_metadata({META_IMPORT: plan.to_json()})
            self._on_progress(IMPORT_RUNNING, plan.attributes())

    async def _async_write(self, changes: list[HistoryChange]) -> int:
        """Write one slice's changes; the number of rows that were new."""
        if not changes:
            return 0
        # Keys come from the live path's dictionaries (the entities' rows were queued when their
        # decisions were made), so an imported row is stored exactly as a live one; their rows
        # are flushed first, so no committed event waits for its key.
        state_key = self.ingestor.writer.state_key
        rows = [
            (epoch_us(ts), entity_key, state_key(state), None if old is None else state_key(old))
            for entity_key, state, old, ts in changes
        ]
        await self.database.flush()
        async with self.database.transaction() as conn:
            before = conn.total_changes
            await conn.executemany(INSERT_RAW_EVENT_COMPACT, rows)
            return conn.total_changes - before


async def _started(hass: HomeAssistant) -> None:
    """Return once Home Assistant has started."""
    future = hass.loop.create_future()

    def _done(_event: Any) -> None:
        if not future.done():
            future.set_result(None)

    unsub = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STARTED, _done)
    try:
        await future
    finally:
        if not future.done():
            unsub()
