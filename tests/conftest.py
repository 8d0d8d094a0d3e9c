"""Shared fixtures for RoomDB's tests.

Importing `custom_components.roomdb` here, at module level, makes this repository's package win over
the `custom_components` package that pytest-homeassistant-custom-component ships.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
import functools
import logging
import threading
from typing import Any

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.roomdb.const import (
    CONF_EXPORT_PATH,
    CONF_MAPPING_PATH,
    DEFAULT_EXPORT_PATH,
    DEFAULT_MAPPING_PATH,
    DOMAIN,
)

# aiosqlite logs every statement at DEBUG, and the test plugin sets SQLAlchemy's engine (HA's
# recorder) to log every statement at INFO; either drowns the lines a failing test needs.
logging.getLogger("aiosqlite").setLevel(logging.INFO)
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse loop calls from other threads, in place of asyncio's debug mode.

    Debug mode (which Home Assistant's test plugin turns on) records a stack for every future and
    task it creates; that doubled this suite's CPU time. What it adds to Home Assistant's own
    thread checks is the refusal of `call_soon`/`call_at` from a thread other than the loop's,
    the mistake a writer or executor thread could make: that check is kept here.
    """
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()

    def on_loop_thread_only[**P, R](method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            if threading.get_ident() != loop_thread:
                raise RuntimeError(
                    f"{method.__name__} called from another thread: use call_soon_threadsafe"
                )
            return method(*args, **kwargs)

        return call

    for name in ("call_soon", "call_at"):
        monkeypatch.setattr(loop, name, on_loop_thread_only(getattr(loop, name)))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load integrations from this repository."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give every test its own config dir, so each gets a fresh roomdb.db."""
    return hass_tmp_config_dir


@pytest.fixture
def entry_options() -> dict[str, Any]:
    """Options for the test entry; tests override this fixture to change them."""
    return {}


@pytest.fixture
def mock_entry(entry_options: dict[str, Any]) -> MockConfigEntry:
    """A RoomDB config entry with default file locations."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="RoomDB",
        data={CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH, CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH},
        options=entry_options,
    )


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, mock_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set RoomDB up with a real database file in the test's config dir; unload afterwards."""
    async with roomdb_set_up(hass, mock_entry):
        yield mock_entry


def listeners_besides_ha_pending_saves(hass: HomeAssistant) -> dict[str, int]:
    """The bus's listener counts, less the final-write listeners of Home Assistant's own Stores
    that have a delayed save pending (the auth and registry files): those saves wait on the
    loop's clock, so whether one is pending when counting is timing, not anything RoomDB did.
    RoomDB's own Stores (keys `roomdb.*`) and its other listeners all count."""
    counts = hass.bus.async_listeners()
    pending = 0
    for job, _filter in hass.bus._listeners.get(EVENT_HOMEASSISTANT_FINAL_WRITE, []):
        save = getattr(getattr(job.target, "listener_job", None), "target", None)
        store = getattr(save, "__self__", None)
        if isinstance(store, Store) and not store.key.startswith(f"{DOMAIN}."):
            pending += 1
    if pending:
        counts[EVENT_HOMEASSISTANT_FINAL_WRITE] -= pending
    return counts


@asynccontextmanager
async def roomdb_set_up(hass: HomeAssistant, entry: MockConfigEntry) -> AsyncIterator[None]:
    """RoomDB set up with `entry`; unloaded on leaving unless its setup failed for good."""
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    yield
    if entry.state.recoverable:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def removed_entry(hass: HomeAssistant) -> None:
    """RoomDB was set up once (so roomdb.db exists) and its entry was removed again."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_MAPPING_PATH: DEFAULT_MAPPING_PATH, CONF_EXPORT_PATH: DEFAULT_EXPORT_PATH},
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
