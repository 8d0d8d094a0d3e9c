"""Labels entered by hand (the panel) and confirmed suggestions: checked, then stored as labels.

A suggestion becomes a label only here, when the user confirms it (source `suggestion`) or
corrects its bedtime or wake time (source `suggestion_corrected`); either is then a label like
one from the helpers or the panel: same table, same contract views, same training.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..timestamps import iso_from_timestamp
from . import store
from .features import resolve_tz
from .label_source import LabelReading
from .labels import LabelRejection, SleepLabel, normalise_sleep_label
from .runtime import MlRuntime

SOURCE_CONFIRMED: Final = "suggestion"
SOURCE_CORRECTED: Final = "suggestion_corrected"

LABEL_REJECTED: Final = "label_rejected"
LABEL_WRONG_NIGHT: Final = "label_wrong_night"
LABEL_NIGHT_NOT_OVER: Final = "label_night_not_over"
NO_SUGGESTION: Final = "no_suggestion"


def _refusal(key: str, night: date, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={"night_date": night.isoformat(), **placeholders},
    )


def _local_text(moment: datetime, tz: str) -> str:
    """`moment` as the wall-clock text the label normaliser reads (naive = local time)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(resolve_tz(tz)).replace(tzinfo=None)
    return moment.isoformat(sep=" ")


def checked_label(
    night: date, bedtime: datetime, wake: datetime, tz: str, now: float
) -> SleepLabel:
    """The label asked for, or the translated reason it cannot be stored.

    Naive times are local (Home Assistant's time zone), as the helpers hold them; the same
    normalisation as the helpers' applies (DST, plausible length), then the label must belong to
    the night it was entered for and that night must be over.
    """
    result = normalise_sleep_label(_local_text(bedtime, tz), _local_text(wake, tz), tz)
    if isinstance(result, LabelRejection):
        raise _refusal(LABEL_REJECTED, night, detail=result.detail)
    if result.night_date != night:
        raise _refusal(LABEL_WRONG_NIGHT, night, actual=result.night_date.isoformat())
    if result.end_utc > now:
        raise _refusal(LABEL_NIGHT_NOT_OVER, night)
    return result


async def async_confirm_night(
    ml: MlRuntime, night: date, bedtime: datetime | None, wake: datetime | None
) -> dict[str, Any]:
    """Store a night's suggestion as its label, with the user's corrections if any."""
    tz = str(ml.hass.config.time_zone)
    found = await store.async_suggestions(ml.database, night, night)
    if not found:
        raise _refusal(NO_SUGGESTION, night)
    suggestion = found[0].suggestion
    zone = resolve_tz(tz)
    suggested_bedtime = datetime.fromtimestamp(suggestion.bedtime, zone)
    suggested_wake = datetime.fromtimestamp(suggestion.wake, zone)
    label = checked_label(
        night,
        bedtime or suggested_bedtime,
        wake or suggested_wake,
        tz,
        dt_util.utcnow().timestamp(),
    )
    corrected = (label.start_utc, label.end_utc) != (suggestion.bedtime, suggestion.wake)
    source = SOURCE_CORRECTED if corrected else SOURCE_CONFIRMED
    stored = await async_store_label(ml, label, source)
    return {
        **stored,
        "source": source,
        "labeled_nights": ml.status.labeled_nights,
        "nights_needed": ml.status.nights_needed,
    }


async def async_store_label(ml: MlRuntime, label: SleepLabel, source: str) -> dict[str, Any]:
    """Store a label given by hand and count it (training follows when there are enough).

    Returns the night, the stored times and whether anything changed.
    """
    changed = await store.async_upsert_label(ml.database, label, source)
    await ml.async_label_stored(LabelReading(label, None, changed))
    return {
        "night_date": label.night_date.isoformat(),
        "start": iso_from_timestamp(label.start_utc),
        "end": iso_from_timestamp(label.end_utc),
        "changed": changed,
    }
