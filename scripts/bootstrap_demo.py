"""Onboard a fresh demo Home Assistant and set RoomDB up through its config flow, over HTTP.

Idempotent: an onboarded instance is logged into with the demo user, and an existing RoomDB entry is
left alone. Writes a long-lived access token for the demo user to <config>/.demo_token.

Demo user: username "demo", password "roomdb-demo" (a local demo only; never expose port 8123).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
import sys
import time

import aiohttp

DEMO_USER = "demo"
DEMO_PASSWORD = "roomdb-demo"
OFFLINE_UNUSABLE = {"met", "radio_browser", "google_translate"}
ROOMDB_FLOW_INPUT = {
    "mapping_path": "roomdb/area_mapping.yaml",
    "export_path": "room_db_export.json",
}


class Bootstrap:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.token = ""
        self.onboarded_now = False

    async def wait_until_up(self, limit: float) -> list[dict[str, object]]:
        deadline = time.monotonic() + limit
        while True:
            try:
                async with self.session.get(f"{self.url}/api/onboarding") as resp:
                    if resp.status == 200:
                        return list(await resp.json())
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"Home Assistant did not answer on {self.url} in {limit:.0f} s")
            await asyncio.sleep(1)

    async def _post(self, path: str, payload: dict[str, object]) -> dict[str, object]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.post(f"{self.url}{path}", json=payload, headers=headers) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 400:
                raise SystemExit(f"POST {path} answered {resp.status}: {body}")
            return dict(body) if isinstance(body, dict) else {"result": body}

    async def _token_from_code(self, code: str) -> None:
        form = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        async with self.session.post(f"{self.url}/auth/token", data=form) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise SystemExit(f"token exchange failed: {body}")
            self.token = body["access_token"]

    async def onboard(self, steps: list[dict[str, object]]) -> None:
        done = {str(step["step"]): bool(step["done"]) for step in steps}
        if not done.get("user", False):
            await self.create_owner()
        else:
            await self.login()
        if not done.get("core_config", False):
            await self._post("/api/onboarding/core_config", {})
            self.onboarded_now = True
        if not done.get("analytics", False):
            await self._post("/api/onboarding/analytics", {})
        if not done.get("integration", False):
            await self._post(
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
            )

    async def create_owner(self) -> None:
        """Create the demo user as the owner (first onboarding step) and log in."""
        created = await self._post(
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": "Demo",
                "username": DEMO_USER,
                "password": DEMO_PASSWORD,
                "language": "en",
            },
        )
        await self._token_from_code(str(created["auth_code"]))

    async def remove_onboarding_extras(self) -> None:
        """Drop the cloud-backed entries onboarding adds: this demo runs offline.

        Onboarding creates them in background tasks, so wait until each has appeared.
        """
        headers = {"Authorization": f"Bearer {self.token}"}
        removed: set[str] = set()
        for _ in range(30):
            async with self.session.get(
                f"{self.url}/api/config/config_entries/entry", headers=headers
            ) as resp:
                entries = await resp.json()
            for entry in entries:
                if entry["source"] == "onboarding" and entry["domain"] in OFFLINE_UNUSABLE:
                    async with self.session.delete(
                        f"{self.url}/api/config/config_entries/entry/{entry['entry_id']}",
                        headers=headers,
                    ):
                        removed.add(entry["domain"])
            if removed >= OFFLINE_UNUSABLE:
                return
            await asyncio.sleep(1)

    async def login(self) -> None:
        flow = await self._post(
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/",
            },
        )
        result = await self._post(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": DEMO_USER, "password": DEMO_PASSWORD},
        )
        await self._token_from_code(str(result["result"]))

    async def long_lived_token(self) -> str:
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()
            await ws.send_json({"type": "auth", "access_token": self.token})
            await ws.receive_json()
            await ws.send_json(
                {
                    "id": 1,
                    "type": "auth/long_lived_access_token",
                    "client_name": f"roomdb demo {int(time.time())}",
                    "lifespan": 3650,
                }
            )
            reply = await ws.receive_json()
            return str(reply["result"])

    async def ensure_roomdb(self) -> str:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.get(
            f"{self.url}/api/config/config_entries/entry",
            params={"domain": "roomdb"},
            headers=headers,
        ) as resp:
            entries = await resp.json()
        if entries:
            return f"RoomDB already set up ({entries[0]['state']})"
        flow = await self._post("/api/config/config_entries/flow", {"handler": "roomdb"})
        result = await self._post(
            f"/api/config/config_entries/flow/{flow['flow_id']}", ROOMDB_FLOW_INPUT
        )
        if result.get("type") != "create_entry":
            raise SystemExit(f"RoomDB config flow did not finish: {result}")
        return "RoomDB set up through its config flow"


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--config", type=Path, default=Path("config"))
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    async with aiohttp.ClientSession() as session:
        bootstrap = Bootstrap(session, args.url)
        steps = await bootstrap.wait_until_up(args.timeout)
        await bootstrap.onboard(steps)
        if bootstrap.onboarded_now:
            await bootstrap.remove_onboarding_extras()
        message = await bootstrap.ensure_roomdb()
        token = await bootstrap.long_lived_token()
    token_file = args.config / ".demo_token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    print(f"{message}. Log in at {args.url} as {DEMO_USER} / {DEMO_PASSWORD};")
    print(f"a long-lived API token for the demo user is in {token_file}.")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
