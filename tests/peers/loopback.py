"""What the test peers share: serving an aiohttp app on a loopback port, `async with` to run one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self

from aiohttp import web


async def serve(runner: web.AppRunner, host: str, port: int) -> int:
    """Set `runner` up and listen on ``host:port``; return the port (0 picks a free one)."""
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    port_in_use: int = runner.addresses[0][1]
    return port_in_use


class LoopbackPeer(ABC):
    """A peer that `async with` starts on a free 127.0.0.1 port and stops afterwards."""

    @abstractmethod
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free port)."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop listening."""

    async def __aenter__(self) -> Self:
        """Start on a free 127.0.0.1 port."""
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        """Stop."""
        await self.stop()
