"""The event stream's options: keys, defaults, the form, validation and the connection test."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import selector
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import probatio as vol
from yarl import URL

from .event import is_int
from .transport import async_post_events

CONF_EVENT_STREAM_ENABLED: Final = "event_stream_enabled"
CONF_INGEST_URL: Final = "ingest_url"
CONF_INGEST_TOKEN: Final = "ingest_token"  # noqa: S105 - an option key, not a secret
CONF_EVENT_BUFFER_SIZE: Final = "event_buffer_size"
CONF_EVENT_INCLUDE_STATE_CHANGES: Final = "event_include_state_changes"

DEFAULT_EVENT_BUFFER_SIZE: Final = 200
MIN_EVENT_BUFFER_SIZE: Final = 10
MAX_EVENT_BUFFER_SIZE: Final = 5000
CONNECTION_TEST_TIMEOUT: Final = 10.0
CONNECTION_TEST_DEVICE_KEY: Final = "roomdb-connection-test"


def is_ingest_url(value: object) -> bool:
    """Return whether ``value`` is an absolute http(s) URL with a host."""
    if not isinstance(value, str) or not value or value != value.strip():
        return False
    try:
        url = URL(value)
    except TypeError, ValueError:
        return False
    return url.scheme in {"http", "https"} and bool(url.host)


def _buffer_size(value: object) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not is_int(value):
        return DEFAULT_EVENT_BUFFER_SIZE
    return min(max(value, MIN_EVENT_BUFFER_SIZE), MAX_EVENT_BUFFER_SIZE)


@dataclass(frozen=True, slots=True)
class EventStreamSettings:
    """The event stream's options as the runtime uses them."""

    enabled: bool
    url: str
    token: str
    buffer_size: int
    include_state_changes: bool

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> EventStreamSettings:
        """Read the options; the stream is only enabled with a usable URL and a token."""
        url = options.get(CONF_INGEST_URL) or ""
        token = options.get(CONF_INGEST_TOKEN) or ""
        enabled = options.get(CONF_EVENT_STREAM_ENABLED) is True and is_ingest_url(url) and token
        return cls(
            enabled=bool(enabled),
            url=url,
            token=token,
            buffer_size=_buffer_size(options.get(CONF_EVENT_BUFFER_SIZE)),
            include_state_changes=options.get(CONF_EVENT_INCLUDE_STATE_CHANGES) is True,
        )


def event_stream_schema(values: Mapping[str, Any]) -> vol.Schema:
    """Return the options form; the token is never shown (left empty, the stored one is kept)."""
    return vol.Schema(
        {
            vol.Required(
                CONF_EVENT_STREAM_ENABLED, default=values.get(CONF_EVENT_STREAM_ENABLED, False)
            ): selector.BooleanSelector(),
            vol.Optional(
                CONF_INGEST_URL, description={"suggested_value": values.get(CONF_INGEST_URL)}
            ): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.URL)
            ),
            vol.Optional(CONF_INGEST_TOKEN): selector.TextSelector(
                selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
            ),
            vol.Required(
                CONF_EVENT_BUFFER_SIZE,
                default=_buffer_size(values.get(CONF_EVENT_BUFFER_SIZE)),
            ): selector.NumberSelector(
                selector.NumberSelectorConfig(
                    min=MIN_EVENT_BUFFER_SIZE,
                    max=MAX_EVENT_BUFFER_SIZE,
                    step=1,
                    mode=selector.NumberSelectorMode.BOX,
                )
            ),
            vol.Required(
                CONF_EVENT_INCLUDE_STATE_CHANGES,
                default=values.get(CONF_EVENT_INCLUDE_STATE_CHANGES, False),
            ): selector.BooleanSelector(),
        }
    )


async def async_test_connection(
    hass: HomeAssistant, url: str, token: str
) -> tuple[str, str] | None:
    """POST an empty batch; return ``(error key, detail)`` when the endpoint would not work."""
    result = await async_post_events(
        async_get_clientsession(hass),
        url,
        token,
        [],
        CONNECTION_TEST_DEVICE_KEY,
        request_timeout=CONNECTION_TEST_TIMEOUT,
    )
    if result.ok:
        return None
    detail = result.error or ""
    if result.status in {401, 403}:
        return "core_auth_failed", detail
    if not result.retryable:
        return "core_rejected", detail
    if result.status is not None and 200 <= result.status <= 299:
        return "core_invalid_response", detail  # a proxy or captive portal answered
    return "core_unreachable", detail


async def async_validate_event_stream(
    hass: HomeAssistant, current: Mapping[str, Any], user_input: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """Check the submitted form; return (options to save, form errors, error placeholders).

    An enabled stream is only saved after the endpoint accepted an empty batch with the token.
    """
    url = str(user_input.get(CONF_INGEST_URL) or "").strip()
    token = str(user_input.get(CONF_INGEST_TOKEN) or "").strip() or current.get(
        CONF_INGEST_TOKEN, ""
    )
    enabled = user_input.get(CONF_EVENT_STREAM_ENABLED) is True
    cleaned = {
        CONF_EVENT_STREAM_ENABLED: enabled,
        CONF_INGEST_URL: url,
        CONF_INGEST_TOKEN: token,
        CONF_EVENT_BUFFER_SIZE: _buffer_size(user_input.get(CONF_EVENT_BUFFER_SIZE)),
        CONF_EVENT_INCLUDE_STATE_CHANGES: user_input.get(CONF_EVENT_INCLUDE_STATE_CHANGES) is True,
    }
    errors: dict[str, str] = {}
    if (url or enabled) and not is_ingest_url(url):
        errors[CONF_INGEST_URL] = "invalid_url"
    if enabled and not token:
        errors[CONF_INGEST_TOKEN] = "token_missing"
    placeholders = {"error": ""}
    if enabled and not errors:
        failure = await async_test_connection(hass, url, token)
        if failure is not None:
            errors["base"], placeholders["error"] = failure
    return cleaned, errors, placeholders
