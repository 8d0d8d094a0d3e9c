"""Why a call to the alarm sync target failed, in a sentence a user can act on.

The sentence is the sensor's `last_push_error` and the log line. Its templates are RoomDB's
`exceptions.alarm_sync_*` strings, rendered in English as Home Assistant renders exception messages
for logs, so they can be translated like any other string. The target's own message, when it gave
one, is rendered the same way from its integration's strings: `str()` of such an error is only its
translation key when that integration's strings are not loaded (a platform such as `manual`).
"""

from __future__ import annotations

from contextlib import suppress
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import translation

from ..const import DOMAIN

CALL_TIMEOUT: Final = 30.0
"""Seconds a call to the target may take. Panels, cloud ones included, answer within seconds; a
call still running then is given up and retried, so a hanging integration cannot stall the sync."""

LANGUAGE: Final = "en"
"""The language of the sentences, as Home Assistant's own exception messages in logs."""


async def async_sentence(hass: HomeAssistant, key: str, **placeholders: str) -> str:
    """Render RoomDB's `exceptions.<key>` string (the key itself if it cannot be found)."""
    return await _async_translate(hass, DOMAIN, key, placeholders) or key


async def async_describe(
    hass: HomeAssistant,
    err: Exception,
    *,
    entity_id: str,
    service: str,
    code_sent: bool,
    timed_out: bool,
) -> str:
    """Say why calling `service` on `entity_id` failed with `err`."""
    names = {"entity_id": entity_id, "service": service}
    if timed_out:
        return await async_sentence(
            hass, "alarm_sync_timeout", **names, seconds=f"{CALL_TIMEOUT:g}"
        )
    if isinstance(err, HomeAssistantError):
        # Home Assistant's and its integrations' code errors are keyed *code* (`invalid_code`,
        # `code_arm_required`); whether RoomDB sent one tells a wrong code from a missing one.
        if "code" in (err.translation_key or ""):
            key = "alarm_sync_code_wrong" if code_sent else "alarm_sync_code_missing"
            return await async_sentence(hass, key, **names)
        if reason := await _async_reason(hass, err):
            return await async_sentence(hass, "alarm_sync_refused", **names, reason=reason)
        return await async_sentence(hass, "alarm_sync_refused_silently", **names)
    reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return await async_sentence(hass, "alarm_sync_failed", **names, reason=reason)


async def _async_reason(hass: HomeAssistant, err: HomeAssistantError) -> str:
    """Return the target's own message: translated when it raised a key, else its text."""
    if err.translation_domain and err.translation_key:
        message = await _async_translate(
            hass, err.translation_domain, err.translation_key, err.translation_placeholders
        )
        if message:
            return message
    text = str(err).strip()
    return "" if text in (type(err).__name__, err.translation_key) else text


async def _async_translate(
    hass: HomeAssistant, domain: str, key: str, placeholders: dict[str, str] | None
) -> str | None:
    strings = await translation.async_get_translations(hass, LANGUAGE, "exceptions", {domain})
    template = strings.get(f"component.{domain}.exceptions.{key}.message")
    if not template:
        return None
    with suppress(KeyError, IndexError, ValueError):  # a placeholder the error did not give
        template = template.format(**(placeholders or {}))
    # As Home Assistant's exception messages: no full stop, so the text can be embedded.
    return template.rstrip(".")
