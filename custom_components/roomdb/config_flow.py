"""Config, reconfigure and options flows for RoomDB (one instance per Home Assistant)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.core import callback
from homeassistant.helpers import area_registry as ar, selector
import probatio as vol

from .alarm.const import CONF_ALARM_CODE, CONF_SYNC_CODE
from .alarm.options import (
    AlarmOptionsFlow,
    alarm_schema,
    async_alarm_options,
    sync_schema,
    validate_sync,
)
from .const import (
    CONF_ACTIVITY_ENABLED,
    CONF_BATCH_SIZE,
    CONF_EXPORT_PATH,
    CONF_FLUSH_INTERVAL,
    CONF_MAPPING_PATH,
    CONF_OVERWRITE,
    CONF_VACUUM_DRY_RUN,
    CONF_VACUUM_ENABLED,
    CONF_VACUUM_OPTIMISTIC_WRITEBACK,
    CONF_WRITE_INTERVAL,
    CONF_WRITE_JITTER,
    DEFAULT_BATCH_SIZE,
    DEFAULT_FLUSH_INTERVAL,
    DOMAIN,
)
from .data import RoomDbConfigEntry
from .events.options import async_validate_event_stream, event_stream_schema
from .ml.options import ml_options, ml_schema, validate_ml
from .paths import PathPurpose, UnsafePathError, resolve_config_path, resolve_target
from .rooms.generate import MappingExistsError, async_generate_mapping
from .rooms.options import room_option

TITLE = "RoomDB"


def _files_schema(defaults: dict[str, Any]) -> vol.Schema:
    text = selector.TextSelector()
    return vol.Schema(
        {
            vol.Required(CONF_MAPPING_PATH, default=room_option(defaults, CONF_MAPPING_PATH)): text,
            vol.Required(CONF_EXPORT_PATH, default=room_option(defaults, CONF_EXPORT_PATH)): text,
        }
    )


def _check_paths(
    config_dir: Path, user_input: dict[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Form errors and their placeholders for the first file path the policy refuses.

    One path at a time: every error message names its path through the form's one set of
    placeholders. The export file is rewritten after changes, so an existing one must be RoomDB's
    own; the mapping is only read. Runs in the executor.
    """
    checks = (
        (CONF_MAPPING_PATH, resolve_config_path, PathPurpose.MAPPING),
        (CONF_EXPORT_PATH, resolve_target, PathPurpose.EXPORT),
    )
    for field, check, purpose in checks:
        try:
            check(config_dir, user_input[field], purpose)
        except UnsafePathError as err:
            return {field: err.translation_key}, err.placeholders
    return {}, {}


class RoomDbConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set RoomDB up: where the area mapping and the export file live."""

    VERSION = 1
    MINOR_VERSION = 1

    async def _async_validate(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, str], dict[str, str]]:
        config_dir = Path(self.hass.config.config_dir)
        return await self.hass.async_add_executor_job(_check_paths, config_dir, user_input)

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the file locations (defaults work for almost everyone)."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = await self._async_validate(user_input)
            if not errors:
                return self.async_create_entry(title=TITLE, data=user_input)
        return self.async_show_form(
            step_id="user",
            data_schema=_files_schema(user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the file locations of the existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = await self._async_validate(user_input)
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_files_schema(user_input or dict(entry.data)),
            errors=errors,
            description_placeholders=placeholders,
        )

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: RoomDbConfigEntry) -> OptionsFlow:
        """Return the options flow."""
        return RoomDbOptionsFlow()


class RoomDbOptionsFlow(AlarmOptionsFlow, OptionsFlowWithReload):
    """A menu of option sections; each section saves and reloads the entry.

    The alarm's sensors, users and notifications steps come from `AlarmOptionsFlow`.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the sections."""
        return self.async_show_menu(
            step_id="init",
            menu_options=[
                "database",
                "rooms",
                "generate_mapping",
                "event_stream",
                "alarm",
                "alarm_sensors",
                "alarm_users",
                "alarm_notify",
                "alarm_sync",
                "ml",
            ],
        )

    async def async_step_database(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Tune the batching writer."""
        if user_input is not None:
            return self._save(user_input)
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_BATCH_SIZE, default=options.get(CONF_BATCH_SIZE, DEFAULT_BATCH_SIZE)
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=10, max=10000, step=10, mode=selector.NumberSelectorMode.BOX
                    )
                ),
                vol.Required(
                    CONF_FLUSH_INTERVAL,
                    default=options.get(CONF_FLUSH_INTERVAL, DEFAULT_FLUSH_INTERVAL),
                ): selector.NumberSelector(
                    selector.NumberSelectorConfig(
                        min=0.1,
                        max=30,
                        step=0.1,
                        unit_of_measurement="s",
                        mode=selector.NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(step_id="database", data_schema=schema)

    async def async_step_rooms(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Tune the room-config write limiter and the activity and vacuum pipelines."""
        if user_input is not None:
            return self._save(user_input)
        options = self.config_entry.options

        def number(maximum: float, step: float, unit: str | None) -> selector.NumberSelector:
            config = selector.NumberSelectorConfig(
                min=0, max=maximum, step=step, mode=selector.NumberSelectorMode.BOX
            )
            if unit is not None:
                config["unit_of_measurement"] = unit
            return selector.NumberSelector(config)

        toggle = selector.BooleanSelector()
        fields: tuple[tuple[str, selector.Selector[Any]], ...] = (
            (CONF_WRITE_INTERVAL, number(3600, 0.1, "s")),
            (CONF_WRITE_JITTER, number(0.9, 0.05, None)),
            (CONF_ACTIVITY_ENABLED, toggle),
            (CONF_VACUUM_ENABLED, toggle),
            (CONF_VACUUM_DRY_RUN, toggle),
            (CONF_VACUUM_OPTIMISTIC_WRITEBACK, toggle),
        )
        schema = vol.Schema(
            {vol.Required(key, default=room_option(options, key)): field for key, field in fields}
        )
        return self.async_show_form(step_id="rooms", data_schema=schema)

    async def async_step_generate_mapping(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Write a starter area mapping from the area registry (and vacuum segments)."""
        config_dir = Path(self.hass.config.config_dir)
        user_path = room_option(self.config_entry.data, CONF_MAPPING_PATH)
        errors: dict[str, str] = {}
        placeholders = {
            "path": user_path,
            "areas": str(len(list(ar.async_get(self.hass).async_list_areas()))),
        }
        if user_input is not None:
            overwrite = bool(user_input.get(CONF_OVERWRITE))
            # Replacing needs an existing file to be a RoomDB mapping, not just a safe path.
            check = resolve_target if overwrite else resolve_config_path
            try:
                path = await self.hass.async_add_executor_job(
                    check, config_dir, user_path, PathPurpose.MAPPING
                )
                generated = await async_generate_mapping(self.hass, path, overwrite=overwrite)
            except UnsafePathError as err:
                errors["base"] = err.translation_key
                placeholders |= err.placeholders
            except MappingExistsError:
                errors[CONF_OVERWRITE] = "mapping_exists"
            except OSError:
                errors["base"] = "mapping_write_failed"
            else:
                if self.config_entry.state is ConfigEntryState.LOADED:
                    await self.config_entry.runtime_data.rooms.mapping.async_reload()
                return self.async_abort(
                    reason="mapping_generated",
                    description_placeholders={
                        "path": user_path,
                        "rooms": str(len(generated.mapping.rooms)),
                        "vacuum_rooms": str(generated.vacuum_rooms),
                    },
                )
        return self.async_show_form(
            step_id="generate_mapping",
            data_schema=vol.Schema({vol.Required(CONF_OVERWRITE, default=False): bool}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_event_stream(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Forward RoomDB's events to a remote ingest endpoint; tested before it is saved."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        values: dict[str, Any] = dict(self.config_entry.options)
        if user_input is not None:
            cleaned, errors, placeholders = await async_validate_event_stream(
                self.hass, self.config_entry.options, user_input
            )
            if not errors:
                return self._save(cleaned)
            values.update(user_input)
        return self.async_show_form(
            step_id="event_stream",
            data_schema=event_stream_schema(values),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_alarm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Code, trigger behaviour and delays of RoomDB's alarm panel."""
        errors: dict[str, str] = {}
        schema = alarm_schema(self.config_entry.options)
        if user_input is not None:
            cleaned, errors = await async_alarm_options(
                self.hass, user_input, self.config_entry.options
            )
            if not errors:
                return self._save(cleaned)
            shown = {key: value for key, value in user_input.items() if key != CONF_ALARM_CODE}
            schema = self.add_suggested_values_to_schema(schema, shown)
        return self.async_show_form(step_id="alarm", data_schema=schema, errors=errors)

    async def async_step_alarm_sync(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Two-way sync of the alarm panel with another alarm panel."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = dict(self.config_entry.options)
        if user_input is not None:
            cleaned, errors = validate_sync(self.hass, user_input, self.config_entry.options)
            if not errors:
                return self._save(cleaned)
            values.update({k: v for k, v in user_input.items() if k != CONF_SYNC_CODE})
        return self.async_show_form(
            step_id="alarm_sync", data_schema=sync_schema(values), errors=errors
        )

    async def async_step_ml(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """What the sleep and routine models record, how they train and keep data."""
        errors: dict[str, str] = {}
        schema = ml_schema(self.config_entry.options)
        if user_input is not None:
            errors = validate_ml(user_input)
            if not errors:
                return self._save(ml_options(user_input))
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="ml", data_schema=schema, errors=errors)

    def _save(self, user_input: dict[str, Any]) -> ConfigFlowResult:
        if CONF_BATCH_SIZE in user_input:
            user_input = {**user_input, CONF_BATCH_SIZE: int(user_input[CONF_BATCH_SIZE])}
        return self.async_create_entry(data={**self.config_entry.options, **user_input})
