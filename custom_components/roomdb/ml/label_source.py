"""Sleep labels from the two `input_datetime` helpers, stored in `labels`.

The helpers are read when someone sets either (debounced: both are usually set within a minute);
helpers with a date are also read at every pipeline run. A pair that makes a label is upserted for
its night, replacing that night's earlier label; a night that has not ended yet is not stored
(the end may still move). A pair that makes no label is logged once with its reason (again only
when the values change), never per read.

Helpers holding only a time of day carry no night, so only an edit makes a label: the night it
names is the latest one that had ended when the helper was set (`label_for_edit`), so a night
nobody entered gets no copy of the night before, and a correction made the next evening reaches
the night it corrects. Setting a helper to the value it already holds is an edit too (Home
Assistant reports it); a helper coming back after a restart is not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import logging
from typing import Any, Final

from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
)
from homeassistant.util import dt as dt_util

from ..db.database import Database
from ..log import get_logger
from . import store
from .features import night_of
from .labels import (
    REASON_END_NOT_AFTER_START,
    REASON_END_UNSET,
    REASON_NIGHT_NOT_OVER,
    REASON_START_UNSET,
    LabelRejection,
    SleepLabel,
    label_for_edit,
    normalise_sleep_label,
)
from .options import MlSettings

_LOGGER = get_logger(__name__)

LABEL_SOURCE: Final = "input_datetime"
CHANGE_COOLDOWN: Final = 60.0
"""Seconds between an edit and the read: people set the two helpers one after the other."""
REASON_WAITING_FOR_EDIT: Final = "waiting_for_edit"
EXPECTED_REASONS: Final = frozenset(
    {
        REASON_START_UNSET,
        REASON_END_UNSET,
        REASON_END_NOT_AFTER_START,
        REASON_NIGHT_NOT_OVER,
        REASON_WAITING_FOR_EDIT,
    }
)
"""Rejections that happen in normal use (helpers half-updated): logged at info, not warning."""


@dataclass(frozen=True, slots=True)
class LabelReading:
    """Outcome of one read of the helpers."""

    label: SleepLabel | None
    rejection: LabelRejection | None
    changed: bool = False

    def as_result(self) -> dict[str, Any]:
        """The pipeline stage result."""
        if self.label is not None:
            return {
                "status": "ok",
                "detail": "label stored" if self.changed else "label unchanged",
                "night_date": self.label.night_date.isoformat(),
                "rows": int(self.changed),
            }
        assert self.rejection is not None
        return {
            "status": "skipped",
            "detail": self.rejection.detail,
            "reason": self.rejection.reason,
            "rows": 0,
        }


class LabelSource:
    """Reads the sleep helpers and keeps `labels` current."""

    def __init__(
        self,
        hass: HomeAssistant,
        database: Database,
        settings: MlSettings,
        on_read: Callable[[LabelReading], Awaitable[None]],
    ) -> None:
        """Prepare (nothing is watched until `async_start`)."""
        self.hass = hass
        self.database = database
        self.start_entity = settings.sleep_start_entity
        self.end_entity = settings.sleep_end_entity
        self._on_read = on_read
        self._logged: tuple[str, str | None, str | None] | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._debouncer: Debouncer[Any] | None = None
        self._edited_at: float | None = None

    @callback
    def async_start(self) -> None:
        """Follow the two helpers."""
        self._debouncer = Debouncer(
            self.hass,
            _LOGGER,
            cooldown=CHANGE_COOLDOWN,
            immediate=False,
            function=self._async_refresh_after_change,
        )
        helpers = [self.start_entity, self.end_entity]
        self._unsubs = [
            async_track_state_change_event(self.hass, helpers, self._async_helper_changed),
            async_track_state_report_event(self.hass, helpers, self._async_helper_reported),
        ]

    @callback
    def async_stop(self) -> None:
        """Stop following the helpers; a pending debounced read is dropped."""
        while self._unsubs:
            self._unsubs.pop()()
        if self._debouncer is not None:
            self._debouncer.async_shutdown()
            self._debouncer = None

    @callback
    def _async_helper_changed(self, event: Event[EventStateChangedData]) -> None:
        # A helper appearing (set up, restored after a restart) is nobody's edit.
        if event.data["old_state"] is None or event.data["new_state"] is None:
            return
        self._edited(event.time_fired_timestamp)

    @callback
    def _async_helper_reported(self, event: Event[EventStateReportedData]) -> None:
        self._edited(event.time_fired_timestamp)

    @callback
    def _edited(self, at: float) -> None:
        self._edited_at = at
        if self._debouncer is not None:
            self._debouncer.async_schedule_call()

    async def _async_refresh_after_change(self) -> None:
        await self.async_refresh(edited_at=self._edited_at)

    def _state(self, entity_id: str) -> str | None:
        state = self.hass.states.get(entity_id)
        return state.state if state is not None else None

    def read(
        self, edited_at: float | None = None
    ) -> tuple[str | None, str | None, SleepLabel | LabelRejection]:
        """Normalise the helpers' current values in HA's time zone.

        Time-only helpers make a label only when read for an edit (`edited_at`).
        """
        tz = self.hass.config.time_zone
        start, end = self._state(self.start_entity), self._state(self.end_entity)
        now = dt_util.utcnow().timestamp()
        result: SleepLabel | LabelRejection
        if _time_only(start) and _time_only(end):
            if edited_at is None:
                result = LabelRejection(
                    REASON_WAITING_FOR_EDIT, "time-only helpers are read when they are set"
                )
            else:
                result = label_for_edit(start, end, tz, edited_at)
        else:
            result = normalise_sleep_label(start, end, tz, reference_date=night_of(now, tz))
        if isinstance(result, SleepLabel) and result.end_utc > now:
            result = LabelRejection(
                REASON_NIGHT_NOT_OVER, f"the night of {result.night_date} has not ended yet"
            )
        return start, end, result

    async def async_refresh(self, edited_at: float | None = None) -> LabelReading:
        """Read the helpers, store the night's label if they make one, report the reading."""
        start, end, result = self.read(edited_at)
        if isinstance(result, LabelRejection):
            self._log_once(result, start, end)
            reading = LabelReading(None, result)
        else:
            self._logged = None
            changed = await store.async_upsert_label(self.database, result, LABEL_SOURCE)
            if changed:
                _LOGGER.debug("Stored the sleep label of %s", result.night_date)
            reading = LabelReading(result, None, changed)
        await self._on_read(reading)
        return reading

    def _log_once(self, rejection: LabelRejection, start: str | None, end: str | None) -> None:
        key = (rejection.reason, start, end)
        if key == self._logged:
            return
        self._logged = key
        level = logging.INFO if rejection.reason in EXPECTED_REASONS else logging.WARNING
        _LOGGER.log(
            level,
            "No sleep label from %s=%r and %s=%r: %s (%s)",
            self.start_entity,
            start,
            self.end_entity,
            end,
            rejection.detail,
            rejection.reason,
        )


def _time_only(value: str | None) -> bool:
    """Whether a helper state is a clock time without a date ("23:10:00")."""
    return value is not None and ":" in value and "-" not in value
