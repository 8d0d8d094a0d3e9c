"""Config, reconfigure and options flows for RoomDB (one instance per Home Assistant)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, override

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.core import callback
from homeassistant.helpers import selector
import probatio as vol

from .const import (
    CONF_BATCH_SIZE,
    CONF_EXPORT_PATH,
    CONF_FLUSH_INTERVAL,
    CONF_MAPPING_PATH,
    DEFAULT_BATCH_SIZE,
    DEFAULT_EXPORT_PATH,
    DEFAULT_FLUSH_INTERVAL,
    DEFAULT_MAPPING_PATH,
    DOMAIN,
)
from .data import RoomDbConfigEntry
from .paths import UnsafePathError, resolve_config_path

TITLE = "RoomDB"
FILE_FIELDS = (CONF_MAPPING_PATH, CONF_EXPORT_PATH)


def _files_schema(defaults: dict[str, Any]) -> vol.Schema:
    text = selector.TextSelector()
    return vol.Schema(
        {
            vol.Required(
                CONF_MAPPING_PATH, default=defaults.get(CONF_MAPPING_PATH, DEFAULT_MAPPING_PATH)
            ): text,
            vol.Required(
                CONF_EXPORT_PATH, default=defaults.get(CONF_EXPORT_PATH, DEFAULT_EXPORT_PATH)
            ): text,
        }
    )


def _check_paths(config_dir: Path, user_input: dict[str, Any]) -> dict[str, str]:
    """Return form errors for file paths that would leave the config dir (runs in executor)."""
    errors: dict[str, str] = {}
    for field in FILE_FIELDS:
        try:
            resolve_config_path(config_dir, user_input[field])
        except UnsafePathError as err:
            errors[field] = err.translation_key
    return errors


class RoomDbConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set RoomDB up: where the area mapping and the export file live."""

    VERSION = 1
    MINOR_VERSION = 1

    async def _async_validate(self, user_input: dict[str, Any]) -> dict[str, str]:
        config_dir = Path(self.hass.config.config_dir)
        return await self.hass.async_add_executor_job(_check_paths, config_dir, user_input)

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the file locations (defaults work for almost everyone)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_validate(user_input)
            if not errors:
                return self.async_create_entry(title=TITLE, data=user_input)
        return self.async_show_form(
            step_id="user",
            data_schema=_files_schema(user_input or {}),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the file locations of the existing entry."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_validate(user_input)
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_files_schema(user_input or dict(entry.data)),
            errors=errors,
        )

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: RoomDbConfigEntry) -> OptionsFlow:
        """Return the options flow."""
        return RoomDbOptionsFlow()


class RoomDbOptionsFlow(OptionsFlowWithReload):
    """A menu of option sections; each section saves and reloads the entry."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the sections."""
        return self.async_show_menu(step_id="init", menu_options=["database"])

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

    def _save(self, user_input: dict[str, Any]) -> ConfigFlowResult:
        if CONF_BATCH_SIZE in user_input:
            user_input = {**user_input, CONF_BATCH_SIZE: int(user_input[CONF_BATCH_SIZE])}
        return self.async_create_entry(data={**self.config_entry.options, **user_input})
