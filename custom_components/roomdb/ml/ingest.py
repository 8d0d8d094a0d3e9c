"""State changes of tracked entities → `raw_events`, through the database's batching writer.

One EVENT_STATE_CHANGED `event_filter` records the state changes: it runs for every state change in
HA, so it is a dict lookup of a cached per-entity decision (computed once per entity from the
options, the entity's device class and its area); the cache is dropped when the entity or device
registry or the area mapping changes. Attribute-only updates (same state) are not recorded.

The filter queues the row itself and lets no event through: Home Assistant builds an `Event` only
for a listener whose filter passes, and each `Event` forms a reference cycle with its `Context`
(`context.origin_event`) that only the garbage collector frees. At thousands of state changes a
second those cycles made the collector run several times a second, stalling the loop for up to
tens of ms each time; without an `Event`, the state change costs what it costs on the bare bus.

RoomDB's own entities are never recorded. Rows are `INSERT OR IGNORE` keyed by (time in µs,
entity, state), so a replayed event never adds a second row. The room is the mapping room whose
`area_id` is the entity's area (its own, else its device's), else the area id itself. The decision
holds the entity's dictionary key, so an event costs two dict lookups and one tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er

from ..const import DOMAIN
from ..db.compact import (
    INSERT_ENTITY,
    INSERT_RAW_EVENT_COMPACT,
    INSERT_STATE,
    EntityToken,
)
from ..db.database import Database
from ..log import get_logger
from ..rooms.mapping import AreaMapping
from ..rooms.mapping_diff import MappingDiff
from ..rooms.mapping_manager import MappingManager
from ..timestamps import epoch_us
from .features import PRESENCE_DOMAINS, RawEvent
from .options import KIND_DEVICE_CLASSES, KIND_DOMAINS, OTHER_BINARY_KIND, MlSettings

_LOGGER = get_logger(__name__)


class RawEventWriter:
    """Turns state changes into compact `raw_events` rows on the database's batching writer.

    A row is four integers (time in µs, entity key, state key, old state key); the keys come from
    the database's dictionaries, and a key seen for the first time queues its dictionary row in
    the same batch. Nothing else is allocated per event.
    """

    def __init__(self, database: Database) -> None:
        """Write through `database`'s hot path."""
        self.database = database
        self.queued = 0

    def entity_key(self, token: EntityToken) -> int:
        """The dictionary key of an entity as of an event (its row queued when new)."""
        key = self.database.dictionaries.entities.get(token)
        if key is None:
            key = self.database.dictionaries.new_entity(token)
            self.database.enqueue_one(INSERT_ENTITY, (key, *token))
        return key

    def _new_state(self, state: str) -> int:
        key = self.database.dictionaries.new_state(state)
        self.database.enqueue_one(INSERT_STATE, (key, state))
        return key

    def state_key(self, state: str) -> int:
        """The dictionary key of a state string (its row queued when new)."""
        return self.database.dictionaries.states.get(state) or self._new_state(state)

    @callback
    def write_keyed(self, entity_key: int, state: str, old_state: str | None, ts: float) -> None:
        """Queue one state change of an entity whose key is known (the listener's hot path)."""
        states = self.database.dictionaries.states
        state_key = states.get(state) or self._new_state(state)
        old_key = None if old_state is None else states.get(old_state) or self._new_state(old_state)
        self.database.enqueue_one(
            INSERT_RAW_EVENT_COMPACT, (epoch_us(ts), entity_key, state_key, old_key)
        )
        self.queued += 1

    @callback
    def write(self, event: RawEvent) -> None:
        """Queue one event (flushed with the next batch); a replayed event adds no row."""
        self.write_keyed(
            self.entity_key((event.entity_id, event.domain, event.device_class, event.room_id)),
            event.state,
            event.old_state,
            event.ts,
        )


@dataclass(frozen=True, slots=True)
class TrackingRules:
    """Which entities are recorded (see the options module)."""

    kinds: frozenset[str]
    areas: frozenset[str]
    include: frozenset[str]
    exclude: frozenset[str]

    @classmethod
    def from_settings(cls, settings: MlSettings) -> TrackingRules:
        """Rules from the options; the sleep helpers are always included."""
        return cls(
            kinds=settings.kinds,
            areas=settings.areas,
            include=settings.include | settings.sleep_helpers,
            exclude=settings.exclude,
        )

    def kind_matches(self, domain: str, device_class: str | None) -> bool:
        """Whether an entity of this domain and device class is of a tracked kind."""
        if domain == "binary_sensor":
            for kind, classes in KIND_DEVICE_CLASSES.items():
                if device_class in classes:
                    return kind in self.kinds
            return OTHER_BINARY_KIND in self.kinds
        return any(domain in KIND_DOMAINS[kind] for kind in self.kinds if kind in KIND_DOMAINS)

    def tracks(
        self, entity_id: str, domain: str, device_class: str | None, area_id: str | None
    ) -> bool:
        """Whether the entity is recorded."""
        if entity_id in self.exclude:
            return False
        if entity_id in self.include:
            return True
        if self.areas and area_id not in self.areas and domain not in PRESENCE_DOMAINS:
            return False
        return self.kind_matches(domain, device_class)


def rooms_by_area(mapping: AreaMapping) -> dict[str, str]:
    """`{area_id: room_id}` from the mapping (the first room of an area, in document order)."""
    rooms: dict[str, str] = {}
    for room in mapping.rooms.values():
        if room.area_id is not None:
            rooms.setdefault(room.area_id, room.room_id)
    return rooms


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether an entity is recorded, and as which dictionary entity (with its domain, room)."""

    tracked: bool
    entity_key: int = 0
    token: EntityToken | None = None


_UNTRACKED: Final = Decision(tracked=False)


class Ingestor:
    """Records the state changes of tracked entities for one loaded entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        writer: RawEventWriter,
        settings: MlSettings,
        mapping: MappingManager | None,
    ) -> None:
        """Prepare the listener (nothing is recorded until `async_start`)."""
        self.hass = hass
        self.writer = writer
        self.rules = TrackingRules.from_settings(settings)
        self.mapping = mapping
        self._area_rooms: dict[str, str] = {}
        self._decisions: dict[str, Decision] = {}
        self._unsubscribers: list[CALLBACK_TYPE] = []

    @callback
    def async_start(self) -> None:
        """Start listening; decisions are made lazily per entity."""
        self._refresh_area_rooms()
        bus = self.hass.bus
        self._unsubscribers = [
            bus.async_listen(EVENT_STATE_CHANGED, _no_event_passes, self._async_record),
            bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_forget),
            bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._async_forget),
        ]
        if self.mapping is not None:
            self._unsubscribers.append(self.mapping.async_add_listener(self._mapping_changed))

    @callback
    def async_stop(self) -> None:
        """Stop listening."""
        while self._unsubscribers:
            self._unsubscribers.pop()()
        self._decisions.clear()

    @property
    def tracked_entities(self) -> list[str]:
        """Entity ids seen so far that are recorded (for diagnostics)."""
        return sorted(e for e, d in self._decisions.items() if d.tracked)

    @callback
    def is_tracked(self, entity_id: str, state: State | None) -> bool:
        """Whether the entity is recorded (the event stream forwards the same entities)."""
        if state is None:
            return False
        return self.decision(entity_id, state).tracked

    @callback
    def decision(self, entity_id: str, state: State) -> Decision:
        """The (cached) decision for an entity in this state."""
        decision = self._decisions.get(entity_id)
        if decision is None:
            decision = self._decisions[entity_id] = self._decide(entity_id, state)
        return decision

    def _refresh_area_rooms(self) -> None:
        self._area_rooms = rooms_by_area(self.mapping.mapping) if self.mapping is not None else {}

    @callback
    def _mapping_changed(self, _mapping: AreaMapping, _diff: MappingDiff) -> None:
        self._refresh_area_rooms()
        self._decisions.clear()

    @callback
    def _async_forget(self, _event: Event[Any]) -> None:
        self._decisions.clear()

    def _area_of(self, entry: er.RegistryEntry | None) -> str | None:
        if entry is None:
            return None
        if entry.area_id is not None:
            return entry.area_id
        if entry.device_id is None:
            return None
        device = dr.async_get(self.hass).async_get(entry.device_id)
        return device.area_id if device is not None else None

    def _decide(self, entity_id: str, state: State) -> Decision:
        entry = er.async_get(self.hass).async_get(entity_id)
        if entry is not None and entry.platform == DOMAIN:
            # RoomDB's own entities (Asleep …) would otherwise feed the model its own output.
            return _UNTRACKED
        domain = state.domain
        device_class = state.attributes.get("device_class")
        device_class = device_class if isinstance(device_class, str) else None
        area_id = self._area_of(entry)
        if not self.rules.tracks(entity_id, domain, device_class, area_id):
            return _UNTRACKED
        room_id = self._area_rooms.get(area_id, area_id) if area_id is not None else None
        token = (entity_id, domain, device_class, room_id)
        return Decision(tracked=True, entity_key=self.writer.entity_key(token), token=token)

    @callback
    def _async_record(self, data: EventStateChangedData) -> bool:
        """Queue the row of a tracked entity's state change; let no event through (see above)."""
        new_state = data["new_state"]
        if new_state is None:
            return False
        state = new_state.state
        old_state = data["old_state"]
        if old_state is None:
            old = None
        elif (old := old_state.state) == state:
            return False
        decision = self._decisions.get(data["entity_id"])
        if decision is None:
            decision = self.decision(data["entity_id"], new_state)
        if decision.tracked:
            self.writer.write_keyed(
                decision.entity_key, state, old, new_state.last_changed_timestamp
            )
        return False


@callback
def _no_event_passes(_event: Event[EventStateChangedData]) -> None:
    """The listener the bus requires beside `Ingestor._async_record`, which passes no event."""
