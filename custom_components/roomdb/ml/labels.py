"""Sleep labels from the two `input_datetime` helpers (sleep start and sleep end).

A label is one night: night D runs from local noon on D to local noon on D+1, so a bedtime of 23:10
or of 00:40 both belong to the evening's date. Bounds are absolute UTC epoch seconds, computed with
the zone's real offsets, so DST nights are an hour shorter or longer.

Helper states come as "YYYY-MM-DD HH:MM:SS" (date and time) or "HH:MM:SS" (time only):

- both with dates: taken as they are;
- end time-only: the first such clock time after the start (crosses midnight when needed);
- start time-only with a dated end: the last such clock time before the end;
- both time-only: `reference_date` is the night date; a start before noon is read as after
  midnight (D+1), a start from noon on as the evening of D. Two equal clock times (the helpers'
  state before anyone set them is 00:00 and 00:00) are not a 24-hour night but no label;
- `label_for_edit`: time-only helpers carry no date, so an edit names its night by when it was
  made: the latest night that had ended by then (a correction the next evening reaches the
  night it corrects).

A local time that does not exist (skipped by a DST jump) is rejected; an ambiguous one (repeated
hour) takes its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .features import night_of

UNSET_STATES: Final = frozenset({"", "unknown", "unavailable", "none"})

REASON_START_UNSET: Final = "start_unset"
REASON_END_UNSET: Final = "end_unset"
REASON_START_INVALID: Final = "start_invalid"
REASON_END_INVALID: Final = "end_invalid"
REASON_UNKNOWN_TIMEZONE: Final = "unknown_timezone"
REASON_REFERENCE_DATE_REQUIRED: Final = "reference_date_required"
REASON_NONEXISTENT_TIME: Final = "nonexistent_local_time"
REASON_END_NOT_AFTER_START: Final = "end_not_after_start"
REASON_TOO_SHORT: Final = "too_short"
REASON_TOO_LONG: Final = "too_long"
REASON_NIGHT_NOT_OVER: Final = "night_not_over"

DEFAULT_MIN_DURATION: Final = timedelta(hours=1)
DEFAULT_MAX_DURATION: Final = timedelta(hours=16)
_NOON: Final = time(12, 0)


@dataclass(frozen=True, slots=True)
class SleepLabel:
    """One labelled night: [start_utc, end_utc) asleep, in UTC epoch seconds."""

    night_date: date
    tz: str
    start_utc: float
    end_utc: float

    @property
    def duration_seconds(self) -> float:
        """Length of the night in seconds."""
        return self.end_utc - self.start_utc

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict (night_date as ISO text)."""
        return {
            "night_date": self.night_date.isoformat(),
            "tz": self.tz,
            "start_utc": self.start_utc,
            "end_utc": self.end_utc,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SleepLabel:
        """Inverse of `to_dict`."""
        return cls(
            night_date=date.fromisoformat(str(data["night_date"])),
            tz=str(data["tz"]),
            start_utc=float(data["start_utc"]),
            end_utc=float(data["end_utc"]),
        )


@dataclass(frozen=True, slots=True)
class LabelRejection:
    """Why a pair of helper values gave no label: a stable `reason` code and a log message."""

    reason: str
    detail: str


def _parse(value: str | None) -> datetime | time | None:
    """Parse a helper state; None when unset. Raises ValueError when not a time."""
    if value is None or value.strip().lower() in UNSET_STATES:
        return None
    text = value.strip()
    if ":" not in text:
        raise ValueError(f"{text!r} has no time of day")
    try:
        return time.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text)


def _to_utc(local: datetime, zone: tzinfo) -> float | None:
    """UTC epoch of a wall-clock time in `zone`; None when DST skipped it."""
    if local.tzinfo is not None:
        return local.timestamp()
    stamp = local.replace(tzinfo=zone, fold=0).timestamp()
    back = datetime.fromtimestamp(stamp, tz=zone).replace(tzinfo=None)
    return stamp if back == local else None


def normalise_sleep_label(
    sleep_start: str | None,
    sleep_end: str | None,
    tz: str,
    reference_date: date | None = None,
    *,
    min_duration: timedelta = DEFAULT_MIN_DURATION,
    max_duration: timedelta = DEFAULT_MAX_DURATION,
) -> SleepLabel | LabelRejection:
    """Turn the two helper states into a label, or say why not (see the module docstring)."""
    try:
        zone = ZoneInfo(tz)
    except ZoneInfoNotFoundError, ValueError:
        return LabelRejection(REASON_UNKNOWN_TIMEZONE, f"unknown time zone {tz!r}")
    parsed: list[datetime | time] = []
    for value, unset, invalid in (
        (sleep_start, REASON_START_UNSET, REASON_START_INVALID),
        (sleep_end, REASON_END_UNSET, REASON_END_INVALID),
    ):
        try:
            item = _parse(value)
        except ValueError as err:
            return LabelRejection(invalid, f"cannot read {value!r}: {err}")
        if item is None:
            return LabelRejection(unset, f"helper value {value!r} is not set")
        parsed.append(item)
    start_value, end_value = parsed

    if isinstance(start_value, datetime):
        start = start_value
        if start.tzinfo is not None:
            start = start.astimezone(zone).replace(tzinfo=None)
    elif isinstance(end_value, datetime):
        end_local = end_value
        if end_local.tzinfo is not None:
            end_local = end_local.astimezone(zone).replace(tzinfo=None)
        start = datetime.combine(end_local.date(), start_value)
        if start >= end_local:
            start -= timedelta(days=1)
    elif reference_date is None:
        return LabelRejection(
            REASON_REFERENCE_DATE_REQUIRED, "both helpers are time-only and no night date was given"
        )
    else:
        day = reference_date + timedelta(days=1) if start_value < _NOON else reference_date
        start = datetime.combine(day, start_value)

    if isinstance(end_value, datetime):
        end = end_value
        if end.tzinfo is not None:
            end = end.astimezone(zone).replace(tzinfo=None)
    elif end_value == start.time():
        return LabelRejection(REASON_END_NOT_AFTER_START, f"end {end_value} equals the start")
    else:
        end = datetime.combine(start.date(), end_value)
        if end <= start:
            end += timedelta(days=1)

    start_utc = _to_utc(start, zone)
    end_utc = _to_utc(end, zone)
    if start_utc is None or end_utc is None:
        missing = start if start_utc is None else end
        return LabelRejection(
            REASON_NONEXISTENT_TIME, f"{missing.isoformat(sep=' ')} does not exist in {tz}"
        )
    duration = end_utc - start_utc
    if duration <= 0:
        return LabelRejection(REASON_END_NOT_AFTER_START, f"end {end} is not after start {start}")
    if duration < min_duration.total_seconds():
        return LabelRejection(REASON_TOO_SHORT, f"night of {duration / 3600:.2f} h is too short")
    if duration > max_duration.total_seconds():
        return LabelRejection(REASON_TOO_LONG, f"night of {duration / 3600:.2f} h is too long")
    night_date = (start - timedelta(hours=12)).date()
    return SleepLabel(night_date=night_date, tz=tz, start_utc=start_utc, end_utc=end_utc)


def label_for_edit(
    sleep_start: str | None, sleep_end: str | None, tz: str, edited_at: float
) -> SleepLabel | LabelRejection:
    """The label an edit of time-only helpers makes: the latest night over by `edited_at`.

    Helpers with a date are read as `normalise_sleep_label` reads them.
    """
    try:
        zone = ZoneInfo(tz)
    except ZoneInfoNotFoundError, ValueError:
        return LabelRejection(REASON_UNKNOWN_TIMEZONE, f"unknown time zone {tz!r}")
    evening = night_of(edited_at, zone)
    found: SleepLabel | None = None
    for night in (evening, evening - timedelta(days=1)):
        result = normalise_sleep_label(sleep_start, sleep_end, tz, reference_date=night)
        if not isinstance(result, SleepLabel):
            return result
        if result.end_utc <= edited_at:
            return result
        found = result
    assert found is not None
    return LabelRejection(
        REASON_NIGHT_NOT_OVER, f"the night of {found.night_date} had not ended at the edit"
    )
