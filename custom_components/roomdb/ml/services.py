"""The `run_pipeline` action: run ML pipeline stages now and return each stage's result."""

from __future__ import annotations

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
import probatio as vol

from ..const import DOMAIN
from ..service_support import async_get_loaded_entry
from .pipeline import STAGES

SERVICE_RUN_PIPELINE: Final = "run_pipeline"
ATTR_STAGES: Final = "stages"

# `stages` is checked by the handler, so every wrong value gets the translated `invalid_input`.
RUN_PIPELINE_SCHEMA: Final = vol.Schema({vol.Optional(ATTR_STAGES): object})


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
