"""Alarm events on Home Assistant's bus, in the log and, when configured, as notifications.

Every `AlarmEvent` becomes a `roomdb_alarm_event` {event, ..., at} and a log line. The kinds chosen
in the options are also sent to each notify target: a notify entity through `notify.send_message`,
anything else as a legacy notify service (`notify.mobile_app_<phone>`). The text is RoomDB's
`exceptions.alarm_event_<event>` string in Home Assistant's language, with sensors by name and
states as Home Assistant names them. A target that fails is logged and skipped: a notification
never holds up the alarm.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from homeassistant.components.alarm_control_panel.const import DOMAIN as ALARM_DOMAIN
from homeassistant.core import Context, HomeAssistant, callback, split_entity_id
from homeassistant.helpers import translation
from homeassistant.util import dt as dt_util

from ..log import get_logger
from ..timestamps import iso_from_timestamp
from .const import EVENT_ALARM_EVENT
from .push_error import CALL_TIMEOUT, async_sentence
from .security import AlarmEvent, EventKind
from .settings import NotifySettings

_LOGGER = get_logger(__name__)

NOTIFY_DOMAIN: Final = "notify"
SERVICE_SEND_MESSAGE: Final = "send_message"
LOUD_EVENTS: Final = frozenset({EventKind.TRIGGERED, EventKind.LOCKOUT})
"""Logged as warnings; the other events as info."""
QUIET_EVENTS: Final = frozenset({EventKind.SYNC_OFFLINE, EventKind.SYNC_ONLINE})
"""Logged at debug level: the sync logs these itself, in more words."""
STATE_KEYS: Final = ("mode", "state", "previous")
"""Event data that holds an alarm state (named in the text as Home Assistant names states)."""


class AlarmNotifier:
    """Fires the alarm's events and sends the chosen ones to the notify targets."""

    def __init__(self, hass: HomeAssistant, settings: NotifySettings) -> None:
        """Bind to `hass`; nothing is sent before an event."""
        self._hass = hass
        self.settings = settings

    @callback
    def async_fire(self, event: AlarmEvent, context: Context | None = None) -> None:
        """Fire `event` on the bus, log it, and notify when its kind is chosen."""
        data: dict[str, Any] = {
            "event": str(event.kind),
            **event.data,
            "at": iso_from_timestamp(event.at),
        }
        if "until" in data:
            data["until"] = iso_from_timestamp(data["until"])
        self._hass.bus.async_fire(EVENT_ALARM_EVENT, data, context=context)
        details = ", ".join(
            f"{key}={value}" for key, value in event.data.items() if value not in (None, [], {})
        )
        level = logging.INFO
        if event.kind in LOUD_EVENTS:
            level = logging.WARNING
        elif event.kind in QUIET_EVENTS:
            level = logging.DEBUG
        _LOGGER.log(level, "Alarm %s: %s", event.kind, details)
        if self.settings.targets and event.kind in self.settings.events:
            self._hass.async_create_task(
                self._async_notify(event), "roomdb alarm notification", eager_start=False
            )

    async def _async_notify(self, event: AlarmEvent) -> None:
        language = self._hass.config.language
        placeholders = await self._async_placeholders(event, language)
        title = await async_sentence(self._hass, "alarm_event_title", language=language)
        message = await async_sentence(
            self._hass, f"alarm_event_{event.kind}", language=language, **placeholders
        )
        for target in self.settings.targets:
            await self._async_send(target, title, message)

    async def _async_placeholders(self, event: AlarmEvent, language: str) -> dict[str, str]:
        """The event's data as text: states and sensors by name, times in local time."""
        states = await translation.async_get_translations(
            self._hass, language, "entity_component", {ALARM_DOMAIN}
        )
        prefix = f"component.{ALARM_DOMAIN}.entity_component._.state."
        data = event.data
        placeholders = {key: str(value) for key, value in data.items() if value is not None}
        for key in STATE_KEYS:
            if key in placeholders:
                placeholders[key] = states.get(prefix + placeholders[key], placeholders[key])
        sensors = list(data.get("sensors") or data.get("open_sensors") or ())
        placeholders["sensors"] = self.names(sensors) or "-"
        if "sensor" in data:
            placeholders["sensor"] = self.names([data["sensor"]])
        if (until := data.get("until")) is not None:
            local = dt_util.as_local(dt_util.utc_from_timestamp(until))
            placeholders["until"] = local.strftime("%H:%M:%S")
        return placeholders

    def names(self, entity_ids: list[str]) -> str:
        """The sensors' friendly names (their entity ids when they have none), comma-separated."""
        names = []
        for entity_id in entity_ids:
            state = self._hass.states.get(entity_id)
            names.append(state.name if state is not None else entity_id)
        return ", ".join(names)

    async def _async_send(self, target: str, title: str, message: str) -> None:
        data: dict[str, Any] = {"title": title, "message": message}
        if self._hass.states.get(target) is not None:
            service = SERVICE_SEND_MESSAGE
            data["entity_id"] = target
        else:
            service = split_entity_id(target)[1]
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                await self._hass.services.async_call(NOTIFY_DOMAIN, service, data, blocking=True)
        except Exception as err:  # noqa: BLE001 - a notify integration may raise anything;
            # the other targets and the alarm itself must not suffer from it.
            _LOGGER.warning("Alarm notification to %s failed: %s", target, err)
