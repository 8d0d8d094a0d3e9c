"""The browser page fixture the end-to-end tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

from playwright.async_api import Page
import pytest

from .browser import open_page


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A fresh page in Debian's headless Chromium."""
    async for new_page in open_page():
        yield new_page
