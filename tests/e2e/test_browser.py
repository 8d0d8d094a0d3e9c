"""A newcomer's path in a real browser: log in, configure alarm sync, open the RoomDB dashboard.

A real Home Assistant process (`tests.peers.home_assistant`) runs with RoomDB, a `manual` alarm
panel as the sync target and the repository's dashboard (`config/dashboards/roomdb.yaml`).
Debian's `chromium`, driven by Playwright with `executable_path`, clicks through HA's own pages.
Each step leaves a screenshot in `test-artifacts/e2e/`.

Needs `/usr/bin/chromium` (`apt-get install -y chromium`); Playwright's own browser download
(`playwright install`) is never used.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
import shutil
import time

from playwright.async_api import Page
import pytest
import yaml

from scripts.bootstrap_demo import DEMO_PASSWORD, DEMO_USER, ROOMDB_FLOW_INPUT
from tests.e2e.browser import screenshot, skip_without_chromium
from tests.peers.home_assistant import REPO, HomeAssistantProcess

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("socket_enabled")]

SYNC_TARGET = "alarm_control_panel.house_alarm"
SYNC_SENSOR = "sensor.roomdb_alarm_sync"

# What the browser needs beyond the harness's base config: the frontend, history for the
# dashboard's graphs, the sync target panel and the repository's dashboard registration.
EXTRA_CONFIG = """
frontend:
history:
alarm_control_panel:
  - platform: manual
    name: House alarm
    code_arm_required: false
"""


def _dashboard_config() -> str:
    """The blocks of config/configuration.yaml the RoomDB dashboard needs: its registration
    (`lovelace:`) and the simulated motion sensors it graphs (`input_boolean:`, `template:`)."""
    config = yaml.safe_load((REPO / "config" / "configuration.yaml").read_text())
    needed = {key: config[key] for key in ("lovelace", "input_boolean", "template")}
    return str(yaml.safe_dump(needed, sort_keys=False))


def _dashboard_entities() -> set[str]:
    """Every entity id the repository's RoomDB dashboard shows."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(entity := node.get("entity"), str):
                found.add(entity)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load((REPO / "config" / "dashboards" / "roomdb.yaml").read_text()))
    return found


@pytest.fixture
async def home_assistant(tmp_path: Path) -> AsyncIterator[HomeAssistantProcess]:
    """A running, fully onboarded HA with RoomDB set up and the RoomDB dashboard installed."""
    skip_without_chromium()
    config_dir = tmp_path / "config"
    (config_dir / "dashboards").mkdir(parents=True)
    shutil.copy(REPO / "config" / "dashboards" / "roomdb.yaml", config_dir / "dashboards")
    ha = HomeAssistantProcess(config_dir, EXTRA_CONFIG + _dashboard_config())
    try:
        await ha.start(timeout=240)
        await ha.setup_roomdb(ROOMDB_FLOW_INPUT)
        # The harness only creates the owner; finish onboarding so the UI shows its normal pages.
        await ha.request("POST", "/api/onboarding/core_config", {})
        await ha.request("POST", "/api/onboarding/analytics", {})
        await ha.request(
            "POST",
            "/api/onboarding/integration",
            {"client_id": f"{ha.url}/", "redirect_uri": f"{ha.url}/?auth_callback=1"},
        )
        yield ha
    finally:
        await ha.stop()


async def _state(ha: HomeAssistantProcess, entity_id: str) -> str:
    return str((await ha.request("GET", f"/api/states/{entity_id}"))["state"])


async def _wait_for_state_change(
    ha: HomeAssistantProcess, entity_id: str, old: str, timeout: float = 60
) -> str:
    deadline = time.monotonic() + timeout
    while (state := await _state(ha, entity_id)) == old:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{entity_id} stayed {old!r} for {timeout:.0f} s")
        await asyncio.sleep(0.5)
    return state


async def _log_in(page: Page, ha: HomeAssistantProcess) -> None:
    """Log in through HA's login page and wait for the default dashboard."""
    await page.goto(f"{ha.url}/")
    await page.locator("input[name=username]").fill(DEMO_USER)
    await page.locator("input[name=password]").fill(DEMO_PASSWORD)
    await screenshot(page, "01-login")
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
    await page.locator("ha-sidebar").wait_for()
    await page.wait_for_load_state("networkidle")
    # The harness stores its port as the confirmed HTTP configuration: nothing to confirm.
    assert await page.get_by_text("Confirm new HTTP server configuration").count() == 0
    await screenshot(page, "02-overview")


async def _configure_alarm_sync(page: Page, ha: HomeAssistantProcess) -> None:
    """Settings → Devices & services → RoomDB → Configure → Alarm sync, target the house alarm."""
    await page.goto(f"{ha.url}/config/integrations/integration/roomdb")
    await page.wait_for_load_state("networkidle")
    await page.get_by_text("Custom integration").wait_for()
    await screenshot(page, "03-integration")

    await page.get_by_role("button", name="Configure").click()
    menu_item = page.get_by_text("Alarm sync with another panel")
    await menu_item.wait_for()
    await screenshot(page, "04-options-menu")
    await menu_item.click()

    await page.get_by_text("Other alarm panel").first.wait_for()
    # The form's first switch is "Sync"; its styled thumb covers the input, hence force.
    sync_switch = page.get_by_role("switch").first
    await sync_switch.check(force=True)
    assert await sync_switch.is_checked()
    await page.get_by_text("Select an entity").click()
    picker = page.get_by_role("dialog", name="Other alarm panel")
    await picker.get_by_placeholder("Search").fill("House alarm")
    await picker.get_by_text("House alarm", exact=True).click()
    await page.get_by_text("Select an entity").wait_for(state="hidden")
    await screenshot(page, "05-alarm-sync-form")

    await page.get_by_role("button", name="Submit").click()
    await page.get_by_text("Options successfully saved").wait_for()
    await screenshot(page, "06-options-saved")
    await page.get_by_role("button", name="Finish").click()


async def _open_dashboard(page: Page, ha: HomeAssistantProcess) -> None:
    """Open the RoomDB dashboard and check its alarm panels and sleep probability graph."""
    await page.goto(f"{ha.url}/roomdb-dashboard/home")
    await page.wait_for_load_state("networkidle")
    alarm_cards = page.locator("hui-alarm-panel-card")
    await alarm_cards.filter(has_text="House alarm (sync target)").wait_for()
    await alarm_cards.filter(has_text="RoomDB alarm").wait_for()
    sleep_graph = page.locator("hui-history-graph-card").filter(has_text="Sleep probability")
    await sleep_graph.wait_for()
    await page.wait_for_load_state("networkidle")
    await screenshot(page, "07-dashboard")

    states = await ha.request("GET", "/api/states")
    missing = sorted(_dashboard_entities() - {state["entity_id"] for state in states})
    assert not missing, f"config/dashboards/roomdb.yaml shows entities that do not exist: {missing}"
    assert await page.locator("hui-error-card").count() == 0


async def test_newcomer_configures_alarm_sync_in_the_browser(
    home_assistant: HomeAssistantProcess, page: Page
) -> None:
    ha = home_assistant
    assert await _state(ha, SYNC_SENSOR) == "disabled"

    await _log_in(page, ha)
    await _configure_alarm_sync(page, ha)

    # Saving the options reloads the entry; the sync sensor then reports on the target.
    await ha.wait_for_roomdb_loaded()
    state = await _wait_for_state_change(ha, SYNC_SENSOR, "disabled")
    assert state in {"in_sync", "pending"}, state
    sensor = await ha.request("GET", f"/api/states/{SYNC_SENSOR}")
    assert sensor["attributes"]["target"] == SYNC_TARGET, sensor

    await _open_dashboard(page, ha)
