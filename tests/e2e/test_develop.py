"""`scripts/develop` as a newcomer meets it: the RoomDB panel and dashboard in a real browser, and a
Home Assistant that is still there after its five-minute HTTP trial would have run out.

The module starts `scripts/develop` itself (its demo home in a temporary folder, on free ports)
and leaves it running for both tests; Debian's `chromium`, driven by Playwright with
`executable_path`, logs in with the README's credentials and clicks nothing the README does not
mention: no *Confirm new HTTP server configuration* dialog may appear. Each step leaves a screenshot
in `test-artifacts/e2e/`.

Needs `/usr/bin/chromium` (`apt-get install -y chromium`); `playwright install` is never used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
import json
import os
from pathlib import Path
import re
import signal
import subprocess
import time
from typing import Any

import aiohttp
from playwright.async_api import Page, expect
import pytest
import pytest_socket

from scripts.bootstrap_demo import DEMO_PASSWORD, DEMO_USER
from tests.e2e.browser import screenshot, skip_without_chromium
from tests.peers.home_assistant import REPO, free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("socket_enabled")]

READY_LINE = "The demo home runs on"
START_TIMEOUT = 600.0
HTTP_TRIAL = 300.0
"""Home Assistant reverts an unconfirmed (pending) HTTP configuration after five minutes."""
PAST_THE_TRIAL = HTTP_TRIAL + 30.0
# The panel's answers include a model run over a fortnight of windows; give them time on 2 cores.
expect.set_options(timeout=30_000)


@dataclass
class Develop:
    """The running `scripts/develop`: its process, home folder, address and log."""

    process: subprocess.Popen[bytes]
    home: Path
    url: str
    log: Path
    ready_at: float

    @property
    def token(self) -> str:
        return (self.home / ".demo_token").read_text().strip()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def ha_log(self) -> str:
        return (self.home / "process.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def develop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Develop]:
    """`scripts/develop` running its demo home in a temporary folder until the module ends."""
    skip_without_chromium()
    folder = tmp_path_factory.mktemp("develop")
    home, log = folder / "home", folder / "develop.log"
    # A module fixture runs before the first test's `socket_enabled`: open sockets for it too.
    pytest_socket.enable_socket()
    port, peer_port = free_port(), free_port()
    command = [
        str(REPO / "scripts" / "develop"),
        *("--live", str(home), "--port", str(port), "--peer-port", str(peer_port)),
    ]
    with log.open("wb") as out:
        # Its own process group, so the teardown reaches Home Assistant and the peer as Ctrl+C does.
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while READY_LINE not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"scripts/develop did not come up:\n{log.read_text()[-4000:]}")
            time.sleep(1)
        yield Develop(process, home, f"http://127.0.0.1:{port}", log, time.monotonic())
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


async def _ws(develop: Develop, message: dict[str, Any]) -> Any:
    """One command on Home Assistant's WebSocket API with the demo user's token."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{develop.url}/api/websocket") as socket,
    ):
        assert (await socket.receive_json())["type"] == "auth_required"
        await socket.send_json({"type": "auth", "access_token": develop.token})
        assert (await socket.receive_json())["type"] == "auth_ok"
        await socket.send_json({"id": 1, **message})
        answer = await socket.receive_json()
        assert answer["success"], answer
        return answer["result"]


async def _log_in(page: Page, develop: Develop) -> None:
    await page.goto(f"{develop.url}/")
    await page.locator("input[name=username]").fill(DEMO_USER)
    await page.locator("input[name=password]").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lambda url: "/auth/" not in url and "auth_callback" not in url)
    await page.locator("ha-sidebar").wait_for()
    await page.wait_for_load_state("networkidle")
    # Home Assistant asks this when it runs an unconfirmed HTTP configuration; the develop home
    # must not have one, so nobody ever has to click it away.
    confirm = page.get_by_text("Confirm new HTTP server configuration")
    await page.wait_for_timeout(3000)
    assert await confirm.count() == 0, "Home Assistant asks to confirm its HTTP configuration"
    await screenshot(page, "develop-01-overview")


async def _edit_a_room_config(page: Page) -> None:
    """Pick kitchen and motion_lighting, change its JSON, save: the version goes up by one."""
    await page.locator("td[data-room=kitchen][data-domain=motion_lighting]").click()
    version_text = await page.locator("#config-version").inner_text()
    found = re.search(r"stored: version (\d+)", version_text)
    assert found, version_text
    version = int(found.group(1))
    stored = json.loads(await page.locator("#config-data").input_value())
    stored["timeout"] = int(stored.get("timeout", 0)) + 15
    await page.locator("#config-data").fill(json.dumps(stored))
    await page.locator("#config-save").click()
    message = page.locator("#config-message")
    await expect(message).to_have_class(re.compile(r"\bok\b"))
    await expect(message).to_contain_text(f"version {version + 1} (updated)")
    await expect(page.locator("#config-version")).to_contain_text(f"version {version + 1}")
    cell = page.locator("td[data-room=kitchen][data-domain=motion_lighting]")
    await expect(cell).to_contain_text(f"v{version + 1}")
    await screenshot(page, "develop-03-config-saved")


async def _try_a_disallowed_pair(page: Page, develop: Develop) -> None:
    """hallway and vacuum_control is not in the mapping: the translated refusal, nothing stored."""
    cell = page.locator("td[data-room=hallway][data-domain=vacuum_control]")
    await expect(cell).to_contain_text("not in the room's capabilities")
    await cell.click()
    await page.locator("#config-data").fill('{"enabled": true}')
    await page.locator("#config-save").click()
    message = page.locator("#config-message")
    await expect(message).to_have_class(re.compile(r"\berror\b"))
    await expect(message).to_contain_text(
        'Room "hallway" may not hold a "vacuum_control" configuration (capability_missing)'
    )
    await screenshot(page, "develop-04-config-refused")
    listing = await _ws(develop, {"type": "roomdb/rooms/list"})
    hallway = next(room for room in listing["rooms"] if room["room_id"] == "hallway")
    assert "vacuum_control" not in hallway["configs"]


async def _correct_a_night(page: Page, develop: Develop) -> None:
    """Enter new times for the last night that has ended; the timeline shows the panel's label."""
    row = page.locator("#sleep tr[data-night]").nth(1)  # newest first; the first is tonight
    night = await row.get_attribute("data-night")
    assert night is not None
    morning = (date.fromisoformat(night) + timedelta(days=1)).isoformat()
    await row.locator(".edit-label").click()
    await page.locator("#label-bedtime").fill(f"{night}T22:40")
    await page.locator("#label-wake").fill(f"{morning}T06:20")
    await page.locator("#label-save").click()
    message = page.locator("#label-message")
    await expect(message).to_have_class(re.compile(r"\bok\b"))
    await expect(message).to_contain_text(
        f"Label of {night} stored: {night} 22:40 to {morning} 06:20"
    )
    label = page.locator(f"#sleep tr[data-night='{night}'] td.label")
    await expect(label).to_contain_text("22:40\u201306:20")
    await expect(label).to_contain_text("panel")
    await screenshot(page, "develop-05-label-corrected")
    timeline = await _ws(develop, {"type": "roomdb/sleep/nights", "nights": 3})
    stored = next(n for n in timeline["nights"] if n["night_date"] == night)["label"]
    assert stored["source"] == "panel"


async def _open_the_dashboard(page: Page, develop: Develop) -> None:
    """The dashboard's graphs show the seeded month and today's states, not empty charts."""
    await page.goto(f"{develop.url}/roomdb-dashboard/home")
    await page.wait_for_load_state("networkidle")
    month = page.locator("hui-statistics-graph-card").filter(has_text="last 30 days")
    await month.locator("ha-chart-base").first.wait_for()
    days = page.locator("hui-history-graph-card").filter(has_text="Sleep probability, last 3")
    await days.locator("ha-chart-base").first.wait_for()
    await page.wait_for_load_state("networkidle")
    await screenshot(page, "develop-06-dashboard")
    assert await month.get_by_text("No statistics found").count() == 0
    assert await days.get_by_text("No state history found").count() == 0
    assert await page.locator("hui-error-card").count() == 0


async def test_the_panel_and_dashboard_in_a_browser(develop: Develop, page: Page) -> None:
    await _log_in(page, develop)

    await page.locator("ha-sidebar").get_by_text("RoomDB", exact=True).click()
    await page.wait_for_url(re.compile(r"/roomdb$"))
    await page.locator("#matrix td[data-room]").first.wait_for()
    await page.locator("#sleep tr[data-night]").first.wait_for()
    await expect(page.locator("#mapping-status")).to_have_text("valid")
    await screenshot(page, "develop-02-panel")

    await _edit_a_room_config(page)
    await _try_a_disallowed_pair(page, develop)
    await _correct_a_night(page, develop)
    await _open_the_dashboard(page, develop)


async def test_home_assistant_outlasts_the_http_trial(develop: Develop) -> None:
    """Still the same Home Assistant more than five minutes in, with no repair issue of ours.

    `scripts/develop` exits when its Home Assistant stops (a revert restarts it), so its process
    still running means the same Home Assistant has been answering all along.
    """
    remaining = develop.ready_at + PAST_THE_TRIAL - time.monotonic()
    deadline = time.monotonic() + max(remaining, 0)
    while time.monotonic() < deadline:
        assert develop.process.poll() is None, develop.output()[-4000:]
        await asyncio.sleep(5)

    assert develop.process.poll() is None, develop.output()[-4000:]
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{develop.url}/api/", headers={"Authorization": f"Bearer {develop.token}"}
        ) as response,
    ):
        assert response.status == 200
    ha_log = develop.ha_log()
    assert "Pending HTTP config" not in ha_log
    store = json.loads((develop.home / ".storage" / "http").read_text())
    assert store["data"]["pending"] is None
    issues = (await _ws(develop, {"type": "repairs/list_issues"}))["issues"]
    assert not [issue for issue in issues if issue["domain"] in {"http", "roomdb"}], issues


async def test_develop_exits_when_home_assistant_goes_away(develop: Develop) -> None:
    """Home Assistant ending on its own ends `scripts/develop` too, with code 1 and HA's log."""
    children = Path(f"/proc/{develop.process.pid}/task/{develop.process.pid}/children")
    (ha_pid,) = [
        int(pid)
        for pid in children.read_text().split()
        if b"homeassistant" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    os.kill(ha_pid, signal.SIGKILL)

    deadline = time.monotonic() + 30
    while develop.process.poll() is None:
        assert time.monotonic() < deadline, "scripts/develop kept running without Home Assistant"
        await asyncio.sleep(0.5)
    assert develop.process.returncode == 1
    assert "Home Assistant exited on its own (exit code -9)" in develop.output()
