"""Debian's headless Chromium for the browser tests, and where their screenshots go.

Playwright drives `/usr/bin/chromium` (`apt-get install -y chromium`) through `executable_path`;
its own browser download (`playwright install`) is never used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import Page, async_playwright
import pytest

from tests.peers.home_assistant import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "e2e"
TIMEOUT_MS = 60_000


def skip_without_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `apt-get install -y chromium`")


async def open_page() -> AsyncIterator[Page]:
    """A fresh 1280 px wide page in headless Chromium, closed with the browser afterwards."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> None:
    """Save the whole page as `test-artifacts/e2e/<name>.png`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
