"""A real Home Assistant process with RoomDB, for tests that must kill and restart it.

The process runs `python -m homeassistant -c <config dir>` from this venv on a free loopback
port; the config dir links this repository's `custom_components/roomdb`. The demo bootstrap
(`scripts.bootstrap_demo.Bootstrap`) onboards it and runs RoomDB's config flow over HTTP, exactly
as a user's browser would.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp

from scripts.bootstrap_demo import Bootstrap

REPO = Path(__file__).resolve().parents[2]

BASE_CONFIG = """
homeassistant:
  name: RoomDB crash test
  latitude: 52.52
  longitude: 13.40
  elevation: 34
  unit_system: metric
  time_zone: UTC
  country: DE
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
onboarding:
websocket_api:
logger:
  default: warning
"""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HomeAssistantProcess:
    """Start, talk to, SIGKILL and restart one Home Assistant."""

    def __init__(self, config_dir: Path, extra_config: str = "", port: int | None = None) -> None:
        self.config_dir = config_dir
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.log_path = config_dir / "process.log"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "custom_components").mkdir(exist_ok=True)
        link = config_dir / "custom_components" / "roomdb"
        if not link.exists():
            link.symlink_to(REPO / "custom_components" / "roomdb", target_is_directory=True)
        (config_dir / "configuration.yaml").write_text(
            BASE_CONFIG.format(port=self.port) + extra_config
        )

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def start(self, timeout: float = 120) -> None:
        """Start HA and wait until its HTTP API answers; onboard on the first start."""
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "homeassistant", "-c", str(self.config_dir), "--skip-pip"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.config_dir,
        )
        log.close()
        bootstrap = Bootstrap(self.session, self.url)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"Home Assistant exited: {self.log_tail()}")
            try:
                async with self.session.get(f"{self.url}/api/onboarding") as resp:
                    if resp.status == 200:
                        steps = list(await resp.json())
                        break
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"Home Assistant did not start: {self.log_tail()}")
            await asyncio.sleep(0.25)
        done = {str(step["step"]): bool(step["done"]) for step in steps}
        if done.get("user"):
            await bootstrap.login()
        else:
            await bootstrap.onboard(
                [
                    {"step": "core_config", "done": True},
                    {"step": "analytics", "done": True},
                    {"step": "integration", "done": True},
                    {"step": "user", "done": False},
                ]
            )
        self.token = bootstrap.token
        await self.wait_for_roomdb_loaded(deadline)

    async def wait_for_roomdb_loaded(self, deadline: float | None = None) -> None:
        """Wait until RoomDB's entry is loaded (or there is none yet)."""
        deadline = deadline if deadline is not None else time.monotonic() + 60
        while time.monotonic() < deadline:
            entries = await self.request("GET", "/api/config/config_entries/entry?domain=roomdb")
            if not entries or entries[0]["state"] == "loaded":
                return
            await asyncio.sleep(0.25)
        raise TimeoutError(f"RoomDB did not load: {self.log_tail()}")

    async def setup_roomdb(self, flow_input: dict[str, Any]) -> None:
        """Run RoomDB's config flow (first start only)."""
        flow = await self.request("POST", "/api/config/config_entries/flow", {"handler": "roomdb"})
        result = await self.request(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", flow_input
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"RoomDB config flow failed: {result}")
        await self.wait_for_roomdb_loaded(time.monotonic() + 60)
        # HA saves config entries with a short delay; a SIGKILL before that would lose the entry
        # itself, which is HA's behaviour and not what these tests examine.
        entries_file = self.config_dir / ".storage" / "core.config_entries"
        deadline = time.monotonic() + 30
        while '"roomdb"' not in (entries_file.read_text() if entries_file.exists() else ""):
            if time.monotonic() > deadline:
                raise TimeoutError("HA did not save the RoomDB config entry")
            await asyncio.sleep(0.2)

    async def start_with_mapping(self, mapping: str) -> None:
        """Write `mapping` as the area mapping, start HA and set RoomDB up with default files."""
        (self.config_dir / "roomdb").mkdir(parents=True, exist_ok=True)
        (self.config_dir / "roomdb" / "area_mapping.yaml").write_text(mapping)
        await self.start()
        await self.setup_roomdb(
            {"mapping_path": "roomdb/area_mapping.yaml", "export_path": "room_db_export.json"}
        )

    async def request(self, method: str, path: str, payload: Any = None) -> Any:
        """Call HA's REST API with the onboarded user's token; raise on HTTP errors."""
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(
            method, f"{self.url}{path}", json=payload, headers=headers
        ) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 400:
                raise aiohttp.ClientResponseError(
                    resp.request_info, (), status=resp.status, message=str(body)
                )
            return body

    async def call_service(self, domain: str, service: str, data: dict[str, Any]) -> Any:
        """Call a service and return its response data (the call is acknowledged on return)."""
        return await self.request("POST", f"/api/services/{domain}/{service}?return_response", data)

    @property
    def running(self) -> bool:
        """True while the Home Assistant process is alive."""
        return self._process is not None and self._process.poll() is None

    async def ws_command(self, message: dict[str, Any]) -> Any:
        """Send one WebSocket command as the onboarded user and return its result."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            auth = await ws.receive_json()
            if auth.get("type") != "auth_ok":
                raise RuntimeError(f"WebSocket authentication failed: {auth}")
            await ws.send_json({"id": 1, **message})
            answer = await ws.receive_json()
        if not answer.get("success"):
            raise RuntimeError(f"WebSocket command failed: {answer}")
        return answer["result"]

    async def enable_event_stream(self, url: str, token: str, **options: Any) -> None:
        """Point RoomDB's event stream at ``url`` through the options flow, as a user would."""
        entries = await self.request("GET", "/api/config/config_entries/entry?domain=roomdb")
        flow = await self.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entries[0]["entry_id"]}
        )
        path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
        await self.request("POST", path, {"next_step_id": "event_stream"})
        result = await self.request(
            "POST",
            path,
            {"event_stream_enabled": True, "ingest_url": url, "ingest_token": token, **options},
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"RoomDB options flow failed: {result}")
        await self.wait_for_roomdb_loaded()

    def kill(self) -> None:
        """SIGKILL the process: no shutdown hooks, no final writes."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=30)

    async def stop(self) -> None:
        """Stop HA gracefully (SIGTERM), then close the HTTP session."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            for _ in range(240):
                if self._process.poll() is not None:
                    break
                await asyncio.sleep(0.25)
            else:
                self.kill()
        if self._session is not None:
            with suppress(Exception):
                await self._session.close()
            self._session = None

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the process log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
