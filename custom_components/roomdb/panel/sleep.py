"""The panel's adapter to the ML data layer: the sleep timeline, suggested nights and labels.

It only calls the layer's public parts: the stored features and newest model (`ml.store`), label
normalisation (`ml.labels`), the label writer (`ml.store.async_upsert_label`) and the pipeline's
label hook, so a label from the panel counts exactly like one from the helpers. The helpers stay
supported: when they currently describe the night the panel corrects, they are set to the
corrected times too, so their next reading agrees instead of putting the old times back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import numpy as np

from ..db.database import Database
from ..ml import store
from ..ml.episodes import find_episodes
from ..ml.features import (
    DEFAULT_WINDOW_SECONDS,
    FEATURE_SET_VERSION,
    night_of,
    noon,
    resolve_tz,
)
from ..ml.labels import SleepLabel
from ..ml.runtime import MlRuntime
from ..ml.suggestions import async_store_label, checked_label
from ..timestamps import iso_from_timestamp
from .timeline import WindowProbability, group_by_night, window_probabilities

PANEL_LABEL_SOURCE: Final = "panel"
INPUT_DATETIME: Final = "input_datetime"


@dataclass(frozen=True, slots=True)
class StoredLabel:
    """A `labels` row with where it came from."""

    label: SleepLabel
    source: str
    updated_at: str


async def _async_stored_labels(database: Database, first: date, last: date) -> list[StoredLabel]:
    # `ml.store.async_labels` leaves out the source, which the panel shows (helper or panel).
    rows = await database.fetchall(
        "SELECT night_date, tz, start_utc, end_utc, source, updated_at FROM labels "
        "WHERE night_date BETWEEN ? AND ? ORDER BY night_date",
        (first.isoformat(), last.isoformat()),
    )
    return [
        StoredLabel(
            SleepLabel(date.fromisoformat(str(row[0])), str(row[1]), float(row[2]), float(row[3])),
            str(row[4]),
            str(row[5]),
        )
        for row in rows
    ]


async def async_sleep_nights(hass: HomeAssistant, ml: MlRuntime, nights: int) -> dict[str, Any]:
    """The last `nights` nights (the current one last): probabilities, label and estimate."""
    tz = resolve_tz(hass.config.time_zone)
    now = dt_util.utcnow().timestamp()
    last = night_of(now, tz)
    first = last - timedelta(days=nights - 1)
    since = noon(first, tz)
    labels = {
        stored.label.night_date: stored
        for stored in await _async_stored_labels(ml.database, first, last)
    }
    newest = await store.async_latest_artifact(ml.database)
    windows: list[WindowProbability] = []
    if newest is not None:
        records = await store.async_feature_records(ml.database, FEATURE_SET_VERSION, since)
        windows = await hass.async_add_executor_job(window_probabilities, newest[1], records)
    by_night = group_by_night(windows, tz)
    threshold = ml.settings.asleep_threshold
    ordered = sorted(windows, key=lambda window: window.start)
    estimates = {
        episode.night_date: episode
        for episode in find_episodes(
            np.array([w.start for w in ordered], dtype=float),
            np.array([w.probability for w in ordered], dtype=float),
            threshold,
            DEFAULT_WINDOW_SECONDS,
            tz,
        )
    }
    suggestions = {
        item.suggestion.night_date: item
        for item in await store.async_suggestions(ml.database, first, last)
    }
    timeline = []
    for offset in range(nights):
        night = first + timedelta(days=offset)
        points = by_night.get(night, [])
        estimate = estimates.get(night)
        suggested = suggestions.get(night)
        stored = labels.get(night)
        timeline.append(
            {
                "night_date": night.isoformat(),
                "ended": night < last,
                "label": None
                if stored is None
                else {
                    "start": iso_from_timestamp(stored.label.start_utc),
                    "end": iso_from_timestamp(stored.label.end_utc),
                    "source": stored.source,
                    "updated_at": stored.updated_at,
                },
                "bedtime_estimate": iso_from_timestamp(estimate.bedtime if estimate else None),
                "wake_estimate": iso_from_timestamp(estimate.wake if estimate else None),
                "suggestion": None
                if suggested is None
                else {
                    "bedtime": iso_from_timestamp(suggested.suggestion.bedtime),
                    "wake": iso_from_timestamp(suggested.suggestion.wake),
                    "confidence": suggested.suggestion.confidence,
                    "confirmed": suggested.label_source is not None,
                },
                "max_probability": max((p.probability for p in points), default=None),
                "windows": [[iso_from_timestamp(p.start), round(p.probability, 4)] for p in points],
            }
        )
    return {
        "time_zone": str(hass.config.time_zone),
        "threshold": threshold,
        "model_run_id": None if newest is None else newest[0].run_id,
        "helpers": {
            "sleep_start": ml.settings.sleep_start_entity,
            "sleep_end": ml.settings.sleep_end_entity,
        },
        "nights": timeline,
    }


async def _async_follow_helpers(hass: HomeAssistant, ml: MlRuntime, label: SleepLabel) -> bool:
    """Set the helpers to `label` when they currently describe its night; True if they were."""
    _start, _end, current = ml.labels.read()
    if not isinstance(current, SleepLabel) or current.night_date != label.night_date:
        return False
    tz = resolve_tz(label.tz)
    for entity_id, stamp in (
        (ml.labels.start_entity, label.start_utc),
        (ml.labels.end_entity, label.end_utc),
    ):
        state = hass.states.get(entity_id)
        if state is None or state.domain != INPUT_DATETIME:
            return False
        local = datetime.fromtimestamp(stamp, tz).replace(tzinfo=None)
        data: dict[str, str] = (
            {"datetime": local.isoformat(sep=" ")}
            if state.attributes.get("has_date")
            else {"time": local.time().isoformat()}
        )
        await hass.services.async_call(
            INPUT_DATETIME, "set_datetime", {"entity_id": entity_id, **data}, blocking=True
        )
    return True


async def async_set_label(
    hass: HomeAssistant, ml: MlRuntime, night: date, bedtime: datetime, wake: datetime
) -> dict[str, Any]:
    """Store (or correct) one night's label from the panel."""
    tz = str(hass.config.time_zone)
    label = checked_label(night, bedtime, wake, tz, dt_util.utcnow().timestamp())
    # The helpers first: whatever reads them from now on (a debounced edit, a pipeline run) finds
    # the panel's label and leaves it, and its source, as the panel stored it.
    helpers_updated = await _async_follow_helpers(hass, ml, label)
    stored = await async_store_label(ml, label, PANEL_LABEL_SOURCE)
    return {**stored, "helpers_updated": helpers_updated}
