"""The ML data layer's options: keys, defaults, the settings the runtime reads and the form.

Tracked "kinds" are what a user thinks in (motion, doors, lights …): the binary-sensor kinds
map to device classes ("binary_sensor" is every other binary sensor: plugs, power, running …),
the others are entity domains. An entity is recorded when its kind is tracked and its area (its
own, else its device's) is one of the tracked areas (none chosen = every area; people and
device trackers belong to the household, not to an area), or when it is listed under "include";
"exclude" always wins. The two sleep helpers are always recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.helpers import selector
import probatio as vol

from .features import (
    APPLIANCE_DOMAINS,
    CHARGING_DEVICE_CLASSES,
    DOOR_DEVICE_CLASSES,
    PRESENCE_DOMAINS,
)

CONF_ML_AREAS: Final = "ml_areas"
CONF_ML_KINDS: Final = "ml_domains"
CONF_ML_INCLUDE: Final = "ml_include_entities"
CONF_ML_EXCLUDE: Final = "ml_exclude_entities"
CONF_SLEEP_START_ENTITY: Final = "sleep_start_entity"
CONF_SLEEP_END_ENTITY: Final = "sleep_end_entity"
CONF_MIN_NIGHTS: Final = "ml_min_nights"
CONF_MIN_ROWS: Final = "ml_min_rows"
CONF_BOCPD_EXPECTED_NIGHTS: Final = "bocpd_expected_nights"
CONF_RAW_RETENTION_DAYS: Final = "raw_retention_days"
CONF_FEATURE_RETENTION_DAYS: Final = "feature_retention_days"
CONF_ASLEEP_THRESHOLD: Final = "asleep_threshold"
CONF_CHANGEPOINT_FALSE_ALARMS: Final = "changepoint_false_alarms_per_year"
CONF_TRAIN_ON_SUGGESTIONS: Final = "train_on_suggestions"
CONF_DB_VACUUM: Final = "db_vacuum"
VACUUM_OFF: Final = "off"
VACUUM_INCREMENTAL: Final = "incremental"
VACUUM_WEEKLY: Final = "weekly"
VACUUM_MODES: Final = (VACUUM_OFF, VACUUM_INCREMENTAL, VACUUM_WEEKLY)
"""After the nightly trim: nothing (freed pages are reused by later rows), give the freed pages
back to the file system in slices every night, or rewrite the whole file (VACUUM) once a week."""

KIND_DEVICE_CLASSES: Final[Mapping[str, frozenset[str]]] = {
    "motion": frozenset({"motion"}),
    "occupancy": frozenset({"occupancy", "presence"}),
    "door": DOOR_DEVICE_CLASSES,
    "charging": CHARGING_DEVICE_CLASSES,
}
"""Kinds that are binary sensors of these device classes."""
OTHER_BINARY_KIND: Final = "binary_sensor"
"""Binary sensors of any other device class (or none)."""
KIND_DOMAINS: Final[Mapping[str, frozenset[str]]] = {
    "light": frozenset({"light"}),
    "media_player": frozenset({"media_player"}),
    "switch": APPLIANCE_DOMAINS,
    "person": PRESENCE_DOMAINS,
}
"""Kinds that are whole entity domains."""
ALL_KINDS: Final = (*KIND_DEVICE_CLASSES, OTHER_BINARY_KIND, *KIND_DOMAINS)
EARLIER_KINDS: Final = frozenset(
    {"motion", "occupancy", "door", "light", "media_player", "switch", "person"}
)
"""Every kind an earlier release offered: a saved choice of all of them means every kind."""

DEFAULT_SLEEP_START_ENTITY: Final = "input_datetime.sleep_start"
DEFAULT_SLEEP_END_ENTITY: Final = "input_datetime.sleep_end"
DEFAULT_MIN_NIGHTS: Final = 5
"""Five confirmed nights: three to fit on, two held out (confirming a suggestion is one tap)."""
MIN_MIN_NIGHTS: Final = 4
"""The CLR holds out 2 nights and needs 2 more for its calibration folds."""
DEFAULT_MIN_ROWS: Final = 200
DEFAULT_BOCPD_EXPECTED_NIGHTS: Final = 250
DEFAULT_RAW_RETENTION_DAYS: Final = 30
DEFAULT_FEATURE_RETENTION_DAYS: Final = 180
DEFAULT_ASLEEP_THRESHOLD: Final = 0.5
DEFAULT_CHANGEPOINT_FALSE_ALARMS: Final = 2.0


def _int(value: Any, default: int, low: int, high: int) -> int:
    try:
        number = int(value)
    except TypeError, ValueError:
        return default
    return min(max(number, low), high)


def _float(value: Any, default: float, low: float, high: float) -> float:
    try:
        number = float(value)
    except TypeError, ValueError:
        return default
    return min(max(number, low), high)


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value}) if value else frozenset()
    if isinstance(value, list | tuple | set | frozenset):
        return frozenset(item for item in value if isinstance(item, str) and item)
    return frozenset()


@dataclass(frozen=True, slots=True)
class MlSettings:
    """The options as the ML runtime uses them (clamped to their allowed ranges)."""

    areas: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset(ALL_KINDS)
    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    sleep_start_entity: str = DEFAULT_SLEEP_START_ENTITY
    sleep_end_entity: str = DEFAULT_SLEEP_END_ENTITY
    min_nights: int = DEFAULT_MIN_NIGHTS
    min_rows: int = DEFAULT_MIN_ROWS
    bocpd_expected_nights: int = DEFAULT_BOCPD_EXPECTED_NIGHTS
    raw_retention_days: int = DEFAULT_RAW_RETENTION_DAYS
    feature_retention_days: int = DEFAULT_FEATURE_RETENTION_DAYS
    asleep_threshold: float = DEFAULT_ASLEEP_THRESHOLD
    changepoint_false_alarms: float = DEFAULT_CHANGEPOINT_FALSE_ALARMS
    train_on_suggestions: bool = False
    db_vacuum: str = VACUUM_OFF

    @property
    def sleep_helpers(self) -> frozenset[str]:
        """The two helper entity ids (always recorded)."""
        return frozenset({self.sleep_start_entity, self.sleep_end_entity})

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> MlSettings:
        """Read the entry options; missing or out-of-range values fall back or are clamped."""
        kinds = _strings(options.get(CONF_ML_KINDS, ALL_KINDS)) & frozenset(ALL_KINDS)
        if kinds >= EARLIER_KINDS:
            kinds = frozenset(ALL_KINDS)
        return cls(
            areas=_strings(options.get(CONF_ML_AREAS)),
            kinds=kinds,
            include=_strings(options.get(CONF_ML_INCLUDE)),
            exclude=_strings(options.get(CONF_ML_EXCLUDE)),
            sleep_start_entity=str(
                options.get(CONF_SLEEP_START_ENTITY) or DEFAULT_SLEEP_START_ENTITY
            ),
            sleep_end_entity=str(options.get(CONF_SLEEP_END_ENTITY) or DEFAULT_SLEEP_END_ENTITY),
            min_nights=_int(options.get(CONF_MIN_NIGHTS), DEFAULT_MIN_NIGHTS, MIN_MIN_NIGHTS, 365),
            min_rows=_int(options.get(CONF_MIN_ROWS), DEFAULT_MIN_ROWS, 50, 100_000),
            bocpd_expected_nights=_int(
                options.get(CONF_BOCPD_EXPECTED_NIGHTS), DEFAULT_BOCPD_EXPECTED_NIGHTS, 10, 10_000
            ),
            raw_retention_days=_int(
                options.get(CONF_RAW_RETENTION_DAYS), DEFAULT_RAW_RETENTION_DAYS, 2, 3650
            ),
            feature_retention_days=_int(
                options.get(CONF_FEATURE_RETENTION_DAYS), DEFAULT_FEATURE_RETENTION_DAYS, 14, 3650
            ),
            asleep_threshold=_float(
                options.get(CONF_ASLEEP_THRESHOLD), DEFAULT_ASLEEP_THRESHOLD, 0.05, 0.95
            ),
            changepoint_false_alarms=_float(
                options.get(CONF_CHANGEPOINT_FALSE_ALARMS),
                DEFAULT_CHANGEPOINT_FALSE_ALARMS,
                0.1,
                52.0,
            ),
            train_on_suggestions=options.get(CONF_TRAIN_ON_SUGGESTIONS) is True,
            db_vacuum=(
                str(options[CONF_DB_VACUUM])
                if options.get(CONF_DB_VACUUM) in VACUUM_MODES
                else VACUUM_OFF
            ),
        )


def _number(low: float, high: float, step: float, unit: str = "") -> selector.NumberSelector:
    config = selector.NumberSelectorConfig(
        min=low, max=high, step=step, mode=selector.NumberSelectorMode.BOX
    )
    if unit:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def ml_schema(options: Mapping[str, Any]) -> vol.Schema:
    """The "ml" options form, prefilled with the current settings."""
    current = MlSettings.from_options(options)
    entities = selector.EntitySelector(selector.EntitySelectorConfig(multiple=True))
    helper = selector.EntitySelector(selector.EntitySelectorConfig(domain="input_datetime"))
    return vol.Schema(
        {
            vol.Optional(CONF_ML_AREAS, default=sorted(current.areas)): selector.AreaSelector(
                selector.AreaSelectorConfig(multiple=True)
            ),
            vol.Optional(
                CONF_ML_KINDS, default=[k for k in ALL_KINDS if k in current.kinds]
            ): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=list(ALL_KINDS),
                    multiple=True,
                    translation_key="ml_kinds",
                    mode=selector.SelectSelectorMode.LIST,
                )
            ),
            vol.Optional(CONF_ML_INCLUDE, default=sorted(current.include)): entities,
            vol.Optional(CONF_ML_EXCLUDE, default=sorted(current.exclude)): entities,
            vol.Required(CONF_SLEEP_START_ENTITY, default=current.sleep_start_entity): helper,
            vol.Required(CONF_SLEEP_END_ENTITY, default=current.sleep_end_entity): helper,
            vol.Required(CONF_MIN_NIGHTS, default=current.min_nights): _number(
                MIN_MIN_NIGHTS, 365, 1
            ),
            vol.Required(CONF_MIN_ROWS, default=current.min_rows): _number(50, 100_000, 10),
            vol.Required(
                CONF_BOCPD_EXPECTED_NIGHTS, default=current.bocpd_expected_nights
            ): _number(10, 10_000, 1),
            vol.Required(
                CONF_CHANGEPOINT_FALSE_ALARMS, default=current.changepoint_false_alarms
            ): _number(0.1, 52, 0.1),
            vol.Required(CONF_RAW_RETENTION_DAYS, default=current.raw_retention_days): _number(
                2, 3650, 1, "d"
            ),
            vol.Required(
                CONF_FEATURE_RETENTION_DAYS, default=current.feature_retention_days
            ): _number(14, 3650, 1, "d"),
            vol.Required(CONF_ASLEEP_THRESHOLD, default=current.asleep_threshold): _number(
                0.05, 0.95, 0.05
            ),
            vol.Required(
                CONF_TRAIN_ON_SUGGESTIONS, default=current.train_on_suggestions
            ): selector.BooleanSelector(),
            vol.Required(CONF_DB_VACUUM, default=current.db_vacuum): selector.SelectSelector(
                selector.SelectSelectorConfig(
                    options=list(VACUUM_MODES),
                    translation_key="db_vacuum",
                    mode=selector.SelectSelectorMode.DROPDOWN,
                )
            ),
        }
    )


def ml_options(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the submitted form into stored options (whole numbers as int, lists sorted)."""
    stored = dict(user_input)
    for key in (
        CONF_MIN_NIGHTS,
        CONF_MIN_ROWS,
        CONF_BOCPD_EXPECTED_NIGHTS,
        CONF_RAW_RETENTION_DAYS,
        CONF_FEATURE_RETENTION_DAYS,
    ):
        if key in stored:
            stored[key] = int(stored[key])
    for key in (CONF_ASLEEP_THRESHOLD, CONF_CHANGEPOINT_FALSE_ALARMS):
        if key in stored:
            stored[key] = float(stored[key])
    for key in (CONF_ML_AREAS, CONF_ML_INCLUDE, CONF_ML_EXCLUDE):
        if key in stored:
            stored[key] = sorted(_strings(stored[key]))
    if CONF_ML_KINDS in stored:
        chosen = _strings(stored[CONF_ML_KINDS])
        stored[CONF_ML_KINDS] = [k for k in ALL_KINDS if k in chosen]
    return stored


def validate_ml(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Form errors: the two sleep helpers must be different entities."""
    start = user_input.get(CONF_SLEEP_START_ENTITY)
    if start is not None and start == user_input.get(CONF_SLEEP_END_ENTITY):
        return {CONF_SLEEP_END_ENTITY: "sleep_helpers_same"}
    return {}
