"""The ML data layer's actions.

- `run_pipeline`: run pipeline stages now and return each stage's result;
- `import_history`: import the recorder's history of the tracked entities (`start`/`end`);
- `confirm_night`: make a suggested night a label, as suggested or corrected.

Fields are checked by the handlers, so every wrong value gets the translated `invalid_input`
and nothing is written.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import probatio as vol

from ..const import DOMAIN
from ..service_support import async_get_loaded_entry
from .pipeline import STAGES
from .suggestions import async_confirm_night

SERVICE_RUN_PIPELINE: Final = "run_pipeline"
ATTR_STAGES: Final = "stages"
SERVICE_IMPORT_HISTORY: Final = "import_history"
SERVICE_CONFIRM_NIGHT: Final = "confirm_night"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_NIGHT_DATE: Final = "night_date"
ATTR_BEDTIME: Final = "bedtime"
ATTR_WAKE: Final = "wake"

# `stages` is checked by the handler, so every wrong value gets the translated `invalid_input`.
RUN_PIPELINE_SCHEMA: Final = vol.Schema({vol.Optional(ATTR_STAGES): object})
IMPORT_HISTORY_SCHEMA: Final = vol.Schema(
    {vol.Optional(ATTR_START): object, vol.Optional(ATTR_END): object}
)
CONFIRM_NIGHT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_NIGHT_DATE): object,
        vol.Optional(ATTR_BEDTIME): object,
        vol.Optional(ATTR_WAKE): object,
    }
)


@callback
def async_setup_ml_services(hass: HomeAssistant) -> None:
    """Register the ML data layer's actions."""
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_RUN_PIPELINE,
        _async_run_pipeline,
        schema=RUN_PIPELINE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_IMPORT_HISTORY,
        _async_import_history,
        schema=IMPORT_HISTORY_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_CONFIRM_NIGHT,
        _async_confirm_night,
        schema=CONFIRM_NIGHT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )


def parse_moment(name: str, value: Any) -> datetime | None:
    """An optional date and time (ISO text or a datetime; naive is local), else `invalid_input`."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            moment = dt_util.parse_datetime(value, raise_on_error=True)
        except ValueError:
            moment = None
    if moment is None:
        raise _invalid(f"{name} must be a date and time, got {value!r}")
    return moment


def parse_night(value: Any) -> date:
    """The night's date (ISO text or a date), else `invalid_input`."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _invalid(f"night_date must be a date (YYYY-MM-DD), got {value!r}")


def parse_stages(value: Any) -> tuple[str, ...]:
    """The requested stage names, or `ServiceValidationError` (`invalid_input`)."""
    if value is None:
        return STAGES
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _invalid(f"stages must be a non-empty list of stage names, got {value!r}")
    unknown = [item for item in items if item not in STAGES]
    if unknown:
        raise _invalid(f"unknown stages {unknown}; valid stages are {list(STAGES)}")
    return tuple(items)


def _invalid(error: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="invalid_input",
        translation_placeholders={"error": error},
    )


async def _async_run_pipeline(call: ServiceCall) -> ServiceResponse:
    """Run the stages in pipeline order; a failing stage is reported, not raised."""
    stages = parse_stages(call.data.get(ATTR_STAGES))
    runtime = async_get_loaded_entry(call.hass).runtime_data
    results = await runtime.ml.async_run(stages)
    return dict(results)


def _local(moment: datetime) -> datetime:
    return (
        moment
        if moment.tzinfo is not None
        else moment.replace(tzinfo=dt_util.get_default_time_zone())
    )


async def _async_import_history(call: ServiceCall) -> ServiceResponse:
    """Import the recorder's history of [start, end) (default: all it keeps, up to now)."""
    start = parse_moment(ATTR_START, call.data.get(ATTR_START))
    end = parse_moment(ATTR_END, call.data.get(ATTR_END))
    runtime = async_get_loaded_entry(call.hass).runtime_data
    plan = await runtime.ml.importer.async_import(
        None if start is None else _local(start).timestamp(),
        None if end is None else _local(end).timestamp(),
    )
    return {"status": "ok", **plan.attributes()}


async def _async_confirm_night(call: ServiceCall) -> ServiceResponse:
    """Store a suggested night as its label (optionally with corrected bedtime or wake time)."""
    night = parse_night(call.data.get(ATTR_NIGHT_DATE))
    bedtime = parse_moment(ATTR_BEDTIME, call.data.get(ATTR_BEDTIME))
    wake = parse_moment(ATTR_WAKE, call.data.get(ATTR_WAKE))
    runtime = async_get_loaded_entry(call.hass).runtime_data
    return await async_confirm_night(runtime.ml, night, bedtime, wake)
