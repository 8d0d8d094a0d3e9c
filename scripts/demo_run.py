"""Headless RoomDB demo: a real Home Assistant, a month of household history, a readable report.

Run through `scripts/demo`. In a fresh temporary config dir it seeds `roomdb.db` with a simulated
month of state changes and sleep labels (`tests/ml/household.py`), starts Home Assistant on a
free port with the demo configuration, onboards it, sets RoomDB up through its config flow and
options flow over HTTP (event stream to the reference ingest peer, which silently drops 5 % of
the POSTs; alarm sync with HA's `manual` panel), drives room config writes, state changes and the
alarm, runs the pipeline and prints what happened. Exits 1 when any stage fails.

With `--live DIR` (what `scripts/develop` uses) the same demo home is built in DIR on port 8123
(`--port`), with the ingest peer on 8765 (`--peer-port`), the RoomDB dashboard and onboarding
completed for the demo user; then Home Assistant keeps running until Ctrl+C, and the script exits
(code 1, with the end of Home Assistant's log) if Home Assistant stops on its own.

The port is Home Assistant's confirmed HTTP setting in `.storage/http`, written before the first
start (`tests.peers.home_assistant.write_http_settings`), never an `http:` block: that would be an
unconfirmed trial in Home Assistant 2026.10, reverted with a restart after five minutes.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from contextlib import closing, suppress
from datetime import UTC, date, datetime, timedelta
import json
from pathlib import Path
import shutil
import signal
import sqlite3
from statistics import fmean
import sys
import tempfile
import time
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from custom_components.roomdb.db.database import Database
from custom_components.roomdb.ml.ingest import RawEventWriter
from custom_components.roomdb.ml.label_source import LABEL_SOURCE
from custom_components.roomdb.ml.store import UPSERT_LABEL, label_row
from custom_components.roomdb.timestamps import utc_now_iso
from scripts.bootstrap_demo import Bootstrap
from tests.ml.household import Household, generate_household
from tests.peers.home_assistant import REPO, HomeAssistantProcess
from tests.peers.ingest_server import IngestServer

LIVE_HA_PORT = 8123
LIVE_PEER_PORT = 8765
DAYS = 28
CHANGE_DAY = 14
PEER_TOKEN = "demo"
DROP_PROBABILITY = 0.05
ROOMDB_ALARM = "alarm_control_panel.roomdb_alarm"
HOUSE_ALARM = "alarm_control_panel.house_alarm"
FLOW_INPUT = {"mapping_path": "roomdb/area_mapping.yaml", "export_path": "room_db_export.json"}
MANUAL_PANEL = {
    "platform": "manual",
    "name": "House alarm",
    "arming_time": 0,
    "delay_time": 0,
    "trigger_time": 10,
    "code_arm_required": False,
}
# Each room has the Home Assistant area of the same id (created by the demo), so the activity
# pipeline finds the motion sensors placed in them.
MAPPING = """\
version: "3.1"
rooms:
  living_room:
    name: Living room
    area_id: living_room
    capabilities: [motion_lighting, activity, vacuum_control]
    segment_id: "16"
  kitchen:
    name: Kitchen
    area_id: kitchen
    capabilities: [motion_lighting, activity]
  bedroom:
    name: Bedroom
    area_id: bedroom
    capabilities: [motion_lighting, ml]
  hallway:
    name: Hallway
    area_id: hallway
    capabilities: [motion_lighting]
  bathroom:
    name: Bathroom
    area_id: bathroom
    capabilities: [motion_lighting]
"""
AREAS = {
    "living_room": "Living room",
    "kitchen": "Kitchen",
    "bedroom": "Bedroom",
    "hallway": "Hallway",
    "bathroom": "Bathroom",
}
# The demo configuration's simulated motion sensors (template binary sensors) and their areas.
MOTION_SENSORS = {
    "binary_sensor.kitchen_motion": "kitchen",
    "binary_sensor.living_room_motion": "living_room",
    "binary_sensor.bedroom_motion": "bedroom",
}
KITCHEN_MOTION_SWITCH = "input_boolean.kitchen_motion_simulated"
# Motion goes through the helper behind the kitchen's motion sensor; the rest is posted as states.
LIVE_STATES: tuple[tuple[str, str], ...] = (
    (KITCHEN_MOTION_SWITCH, "on"),
    ("light.kitchen", "on"),
    ("media_player.living_room_tv", "playing"),
    (KITCHEN_MOTION_SWITCH, "off"),
    ("light.kitchen", "off"),
    ("media_player.living_room_tv", "off"),
)
SLEEP_PROBABILITY = "sensor.roomdb_sleep_probability"
SLEEP_START = "input_datetime.sleep_start"
SLEEP_END = "input_datetime.sleep_end"
DEMO_CONFIG: dict[str, Any] = yaml.safe_load((REPO / "config" / "configuration.yaml").read_text())
STATE_TIMEOUT = 15.0
ACTIVITY_TIMEOUT = 30.0
HA_WATCH_INTERVAL = 1.0
"""How often the live demo checks that its Home Assistant still runs."""
LIVE_ROUNDS = 5
MAX_CHANGEPOINT_ERROR_NIGHTS = 3
LIMITER_WAIT = 1.5
STAGES = (
    "seed history",
    "start and config flow",
    "options flow",
    "room configs",
    "live states",
    "alarm sync",
    "pipeline",
    "history",
    "export",
    "event stream",
)


class StageFailedError(Exception):
    """A stage's check failed; the message says which."""


class Report:
    """Prints sections as the demo goes and collects a PASS/FAIL per stage."""

    def __init__(self) -> None:
        self.results: dict[str, str] = {}
        """Stage name → "PASS" or "FAIL  <reason>"; stages that did not run are missing."""

    @staticmethod
    def heading(title: str) -> None:
        print(f"\n== {title} ==", flush=True)

    @staticmethod
    def row(label: str, value: object) -> None:
        print(f"  {label:<30} {value}", flush=True)

    async def stage(self, name: str, body: Callable[[], Awaitable[None]]) -> bool:
        """Run one stage; record PASS, or FAIL with the reason (then later stages are skipped)."""
        self.heading(name)
        try:
            await body()
        except Exception as err:  # noqa: BLE001 - any failure of a stage is reported, not raised
            self.results[name] = f"FAIL  {type(err).__name__}: {err}"
            print(f"  !! {self.results[name]}", flush=True)
            return False
        self.results[name] = "PASS"
        return True

    def summary(self) -> bool:
        """Print the PASS/FAIL line of every stage; return whether all passed."""
        self.heading("result")
        for name in STAGES:
            status, _, reason = self.results.get(name, "SKIP").partition("  ")
            print(f"  {status:<6} {name}" + (f" ({reason})" if reason else ""))
        return all(self.results.get(name) == "PASS" for name in STAGES)


def expect(ok: bool, what: str) -> None:
    """Fail the current stage unless `ok`."""
    if not ok:
        raise StageFailedError(what)


def write_config(config_dir: Path, *, live: bool) -> None:
    """The repository's demo configuration, with an instant `manual` alarm panel."""
    config = dict(DEMO_CONFIG, alarm_control_panel=[MANUAL_PANEL])
    if live:
        shutil.copytree(REPO / "config" / "dashboards", config_dir / "dashboards")
    else:
        config.pop("lovelace", None)  # the headless run has no browser to show a dashboard
    (config_dir / "configuration.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


async def seed_history(db_path: Path, home: Household) -> tuple[int, int]:
    """Create roomdb.db's schema, then insert the household's events and labels as RoomDB does."""
    database = Database(db_path, batch_size=len(home.events) + 1)
    await database.open()
    writer = RawEventWriter(database)
    for event in home.events:
        writer.write(event)
    await database.close()
    labels = home.labels()
    now = utc_now_iso()
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.executemany(UPSERT_LABEL, [label_row(label, LABEL_SOURCE, now) for label in labels])
        events = conn.execute("SELECT COUNT(*) FROM raw_events").fetchone()[0]
    return int(events), len(labels)


class Demo:
    """The stages, sharing one Home Assistant, one ingest peer and one report."""

    def __init__(
        self,
        config_dir: Path,
        seed: int,
        *,
        live: bool = False,
        port: int = LIVE_HA_PORT,
        peer_port: int = LIVE_PEER_PORT,
    ) -> None:
        self.config_dir = config_dir
        self.seed = seed
        self.live = live
        self.peer_port = peer_port if live else 0
        self.ha = HomeAssistantProcess(config_dir, port=port if live else None)
        self.peer = IngestServer(PEER_TOKEN, seed=seed)
        self.report = Report()
        self.entry_id = ""
        self.home = generate_household(
            seed,
            days=DAYS,
            change_day=CHANGE_DAY,
            start=datetime.now(UTC).date() - timedelta(days=DAYS + 1),
        )

    async def run(self) -> bool:
        stages: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("seed history", self.seed_history),
            ("start and config flow", self.start),
            ("options flow", self.configure),
            ("room configs", self.room_configs),
            ("live states", self.live_states),
            ("alarm sync", self.alarm_sync),
            ("pipeline", self.pipeline),
            ("history", self.history),
            ("export", self.export),
            ("event stream", self.event_stream),
        ]
        try:
            for name, body in stages:
                if not await self.report.stage(name, body):
                    break
            passed = self.report.summary()
            if self.live and passed:
                passed = await self.stay_live()
        finally:
            await self.ha.stop()
            await self.peer.stop()
        if not passed:
            Report.heading("Home Assistant log (tail)")
            print(self.ha.log_tail(60))
        return passed

    async def stay_live(self) -> bool:
        """Finish onboarding for the browser, write the demo token and run until Ctrl+C.

        Returns False when Home Assistant exits on its own meanwhile (a crash, a restart it asked
        for): the script must not go on as if the demo home were still there.
        """
        bootstrap = Bootstrap(self.ha.session, self.ha.url)
        bootstrap.token = self.ha.token
        steps = await self.ha.request("GET", "/api/onboarding")
        await bootstrap.onboard(steps)
        if bootstrap.onboarded_now:
            await bootstrap.remove_onboarding_extras()
        token_file = self.config_dir / ".demo_token"
        token_file.write_text(await bootstrap.long_lived_token() + "\n")
        token_file.chmod(0o600)
        print(
            f"\nThe demo home runs on {self.ha.url} (user demo, password roomdb-demo; RoomDB panel "
            f"{self.ha.url}/roomdb; dashboard {self.ha.url}/roomdb-dashboard; API token in "
            f"{token_file}).\n"
            f"Reference ingest peer: {self.peer.url} (token {PEER_TOKEN}). Ctrl+C stops both.",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        while not stop.is_set():
            if (code := self.ha.exit_code) is not None:
                Report.heading(f"Home Assistant exited on its own (exit code {code})")
                print(self.ha.log_tail(40), flush=True)
                return False
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), HA_WATCH_INTERVAL)
        return True

    # -- helpers -------------------------------------------------------------------------------

    async def service(self, service: str, data: dict[str, Any] | None = None) -> Any:
        """Call a RoomDB service and return its response data."""
        answer = await self.ha.call_service("roomdb", service, data or {})
        return answer["service_response"]

    async def state(self, entity_id: str) -> dict[str, Any]:
        return dict(await self.ha.request("GET", f"/api/states/{entity_id}"))

    async def wait_for_state(self, entity_id: str, wanted: str) -> None:
        deadline = time.monotonic() + STATE_TIMEOUT
        while (state := (await self.state(entity_id))["state"]) != wanted:
            expect(time.monotonic() < deadline, f"{entity_id} is {state}, expected {wanted}")
            await asyncio.sleep(0.2)

    async def options(self, step: str, data: dict[str, Any]) -> None:
        """Run one section of RoomDB's options flow over REST, as the UI does."""
        flow = await self.ha.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": self.entry_id}
        )
        path = f"/api/config/config_entries/options/flow/{flow['flow_id']}"
        await self.ha.request("POST", path, {"next_step_id": step})
        result = await self.ha.request("POST", path, data)
        expect(result["type"] == "create_entry", f"options step {step}: {result}")
        await self.ha.wait_for_roomdb_loaded()

    # -- stages --------------------------------------------------------------------------------

    async def seed_history(self) -> None:
        write_config(self.config_dir, live=self.live)
        events, labels = await seed_history(self.config_dir / "roomdb.db", self.home)
        first = self.home.nights[0].night_date
        self.report.row("simulated household", f"seed {self.seed}, {DAYS} nights from {first}")
        self.report.row("routine change (truth)", f"night of {self.home.change_date}")
        self.report.row(
            "raw_events rows seeded", f"{events} (written into roomdb.db before HA starts)"
        )
        self.report.row(
            "labels rows seeded", f"{labels} (the household left some nights unlabelled)"
        )
        expect(events == len(self.home.events), "some raw events were not inserted")

    async def start(self) -> None:
        await self.peer.start(port=self.peer_port)
        started = time.monotonic()
        await self.ha.start()
        await self.place_in_areas()
        await self.ha.setup_roomdb(FLOW_INPUT)
        entries = await self.ha.request("GET", "/api/config/config_entries/entry?domain=roomdb")
        self.entry_id = entries[0]["entry_id"]
        self.report.row("Home Assistant", f"{self.ha.url} (config {self.config_dir})")
        self.report.row("onboarded + RoomDB set up in", f"{time.monotonic() - started:.1f} s")
        self.report.row("reference ingest peer", self.peer.url)

    async def place_in_areas(self) -> None:
        """Create the rooms' areas, put the motion sensors in them, then write the mapping.

        The mapping names the areas, so it is written once they exist (RoomDB checks them).
        """
        existing = {
            area["area_id"]
            for area in await self.ha.ws_command({"type": "config/area_registry/list"})
        }
        for area_id, name in AREAS.items():
            if area_id not in existing:
                created = await self.ha.ws_command(
                    {"type": "config/area_registry/create", "name": name}
                )
                expect(created["area_id"] == area_id, f"area {name} got id {created['area_id']}")
        for entity_id, area_id in MOTION_SENSORS.items():
            # The template platform may still be setting up while the API already answers.
            deadline = time.monotonic() + STATE_TIMEOUT
            while (
                await self.ha.request("GET", f"/api/states/{entity_id}", allow_missing=True) is None
            ):
                expect(time.monotonic() < deadline, f"{entity_id} did not appear")
                await asyncio.sleep(0.25)
            await self.ha.ws_command(
                {
                    "type": "config/entity_registry/update",
                    "entity_id": entity_id,
                    "area_id": area_id,
                }
            )
        mapping = self.config_dir / FLOW_INPUT["mapping_path"]
        mapping.parent.mkdir(exist_ok=True)
        mapping.write_text(MAPPING)
        self.report.row("areas", ", ".join(AREAS))
        self.report.row("motion sensors in areas", ", ".join(MOTION_SENSORS))

    async def configure(self) -> None:
        self.peer.drop_probability(DROP_PROBABILITY, seed=self.seed)
        await self.options(
            "event_stream",
            {
                "event_stream_enabled": True,
                "ingest_url": self.peer.url,
                "ingest_token": PEER_TOKEN,
                "event_buffer_size": 2000,
                "event_include_state_changes": True,
            },
        )
        self.report.row("event stream", f"{self.peer.url}, {DROP_PROBABILITY:.0%} of POSTs lost")
        await self.options(
            "alarm_sync",
            {
                "alarm_sync_enabled": True,
                "alarm_sync_target": HOUSE_ALARM,
                "alarm_sync_ha_authoritative": True,
                "alarm_sync_send_code": False,
                "alarm_sync_skew_tolerance": 2,
            },
        )
        self.report.row("alarm sync", f"{ROOMDB_ALARM} <-> {HOUSE_ALARM}")

    async def room_configs(self) -> None:
        validation = await self.service("validate_mapping")
        expect(validation["valid"], f"mapping errors: {validation['errors']}")
        matrix: dict[str, dict[str, bool]] = validation["matrix"]
        rooms = sorted({room for allowed in matrix.values() for room in allowed})
        self.report.row("rooms", ", ".join(rooms))
        print(f"  {'allowed':<16}" + "".join(f"{room:>13}" for room in rooms))
        for domain, allowed in matrix.items():
            marks = "".join(f"{'yes' if allowed.get(room) else '-':>13}" for room in rooms)
            print(f"  {domain:<16}{marks}")

        single = await self.service(
            "update_config",
            {
                "domain": "motion_lighting",
                "room_id": "kitchen",
                "config_data": {"enabled": True, "timeout": 120},
            },
        )
        self.report.row("update_config kitchen", f"{single['status']} v{single['version']}")
        bulk = await self.service(
            "bulk_update",
            {
                "items": [
                    {
                        "domain": "vacuum_control",
                        "room_id": "living_room",
                        "config_data": {"enabled": True, "segment_id": "16", "suction": "max"},
                    },
                    {
                        "domain": "motion_lighting",
                        "room_id": "bedroom",
                        "config_data": {"enabled": False, "timeout": 600},
                    },
                    {"domain": "activity", "room_id": "living_room", "config_data": {}},
                    {"domain": "vacuum_control", "room_id": "hallway", "config_data": {}},
                ]
            },
        )
        for result in bulk["results"]:
            detail = f"{result['status']} {result.get('error', '')} {result.get('reason', '')}"
            self.report.row(f"bulk {result['domain']}/{result['room_id']}", detail.strip())
        statuses = [result["status"] for result in bulk["results"]]
        expect(statuses == ["ok", "ok", "ok", "denied"], f"bulk_update gave {statuses}")
        # The per-pair write limiter (1 s by default) answers "retry" for a pair written a moment
        # ago, even when seeding would add nothing; let the writes above age past it first.
        await asyncio.sleep(LIMITER_WAIT)
        seeded = await self.service("seed_from_mapping", {"dry_run": False})
        actions: dict[str, list[str]] = {}
        for result in seeded["results"]:
            outcome = result.get("action", result["status"])
            actions.setdefault(outcome, []).append(f"{result['domain']}/{result['room_id']}")
        for outcome, pairs in sorted(actions.items()):
            self.report.row(f"seed_from_mapping {outcome}", ", ".join(pairs))
        expect(seeded["status"] == "ok", f"seed_from_mapping: {seeded['counts']}")

    def raw_event_count(self) -> int:
        with closing(
            sqlite3.connect(f"file:{self.config_dir / 'roomdb.db'}?mode=ro", uri=True)
        ) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM raw_events").fetchone()[0])

    async def live_states(self) -> None:
        # Day one: once HA has started RoomDB imports the recorder's history of what it tracks
        # (here the states HA set while starting); live rows are counted after it.
        await self.wait_for_state("sensor.roomdb_history_import", "done")
        before = self.raw_event_count()
        self.report.row("imported from the recorder", before - len(self.home.events))
        for _ in range(LIVE_ROUNDS):
            for entity_id, state in LIVE_STATES:
                if entity_id == KITCHEN_MOTION_SWITCH:
                    await self.ha.request(
                        "POST",
                        f"/api/services/input_boolean/turn_{state}",
                        {"entity_id": entity_id},
                    )
                else:
                    await self.ha.request("POST", f"/api/states/{entity_id}", {"state": state})
                await asyncio.sleep(0.05)  # spread over several POSTs to the peer
        ingest = (await self.service("run_pipeline", {"stages": ["ingest"]}))["ingest"]
        expect(ingest["status"] == "ok", f"ingest stage: {ingest}")
        # A switch toggle changes two tracked entities: the input_boolean (an appliance) and the
        # motion sensor that follows it.
        toggles = sum(1 for entity_id, _state in LIVE_STATES if entity_id == KITCHEN_MOTION_SWITCH)
        posted = LIVE_ROUNDS * (len(LIVE_STATES) + toggles)
        recorded = self.raw_event_count() - before
        self.report.row("tracked state changes made", posted)
        self.report.row("raw_events rows added", recorded)
        expect(recorded == posted, f"{posted} state changes but {recorded} raw_events rows")
        await self.wait_for_activity()

    async def wait_for_activity(self) -> None:
        """The activity pipeline watches the sensors in the mapped areas and writes the kitchen.

        Seeding wrote the kitchen's row a moment before its first motion, so that write usually
        meets the write limiter and comes with the pipeline's retry backoff (2 s, 4 s, ...).
        """
        deadline = time.monotonic() + ACTIVITY_TIMEOUT
        while True:
            health = await self.ha.request("GET", "/api/roomdb/health")
            activity = health["pipelines"]["activity"]
            row = (await self.service("export"))["by_domain"].get("activity", {}).get("kitchen")
            if row is not None and "last_entity" in row["config_data"]:
                break
            expect(time.monotonic() < deadline, f"no activity written: {activity}")
            await asyncio.sleep(0.5)
        self.report.row("activity pipeline", f"{activity['watched_entities']} sensors watched")
        data = row["config_data"]
        self.report.row(
            "activity/kitchen",
            f"v{row['version']} active={data['active']} last_entity={data['last_entity']}",
        )

    async def alarm_sync(self) -> None:
        await self.ha.request(
            "POST", "/api/services/alarm_control_panel/alarm_arm_home", {"entity_id": ROOMDB_ALARM}
        )
        await self.wait_for_state(ROOMDB_ALARM, "armed_home")
        await self.wait_for_state(HOUSE_ALARM, "armed_home")
        self.report.row("armed RoomDB panel", f"{HOUSE_ALARM} followed: armed_home")
        await self.ha.request(
            "POST", "/api/services/alarm_control_panel/alarm_disarm", {"entity_id": HOUSE_ALARM}
        )
        await self.wait_for_state(HOUSE_ALARM, "disarmed")
        await self.wait_for_state(ROOMDB_ALARM, "disarmed")
        self.report.row("disarmed House alarm", f"{ROOMDB_ALARM} followed: disarmed")
        await self.wait_for_state("sensor.roomdb_alarm_sync", "in_sync")
        sync = await self.state("sensor.roomdb_alarm_sync")
        self.report.row("sensor.roomdb_alarm_sync", sync["state"])
        for key, value in sync["attributes"].items():
            if key not in {"friendly_name", "icon", "options", "device_class"}:
                self.report.row(f"  {key}", value)

    async def set_sleep_helpers(self) -> None:
        """Note last night in the sleep helpers, as the household would, for the labels stage."""
        zone = ZoneInfo(DEMO_CONFIG["homeassistant"]["time_zone"])
        now = datetime.now(zone)
        wake = now.replace(hour=6, minute=45, second=0, microsecond=0)
        if wake > now - timedelta(minutes=5):
            wake -= timedelta(days=1)
        bedtime = (wake - timedelta(days=1)).replace(hour=23, minute=5)
        for entity_id, moment in ((SLEEP_START, bedtime), (SLEEP_END, wake)):
            await self.ha.request(
                "POST",
                "/api/services/input_datetime/set_datetime",
                {"entity_id": entity_id, "datetime": moment.strftime("%Y-%m-%d %H:%M:%S")},
            )
        self.report.row("sleep helpers", f"{bedtime:%Y-%m-%d %H:%M} to {wake:%Y-%m-%d %H:%M}")

    async def pipeline(self) -> None:
        await self.set_sleep_helpers()
        started = time.monotonic()
        result = await self.service("run_pipeline")
        self.report.row("run_pipeline took", f"{time.monotonic() - started:.1f} s")
        for name, stage in result.items():
            self.report.row(name, f"{stage['status']:<8} {stage.get('detail', '')}")
        train, bocpd = result["train"], result["bocpd"]
        expect(result["labels"]["status"] == "ok", f"labels from the helpers: {result['labels']}")
        expect(train["status"] == "ok", f"training: {train}")
        metrics = train["metrics"]
        print(f"  {'CLR vs naive Bayes':<30} {'CLR':>8} {'NB':>8}")
        for metric in ("auc", "ece", "log_loss", "brier"):
            print(f"  {metric:<30} {metrics[metric]:>8.4f} {metrics['nb_' + metric]:>8.4f}")
        training = await self.state("sensor.roomdb_last_training")
        self.report.row("sensor.roomdb_last_training", training["state"])
        expect(bocpd["status"] == "ok", f"changepoint detection: {bocpd}")
        changepoint = await self.state("sensor.roomdb_changepoint_probability")
        self.report.row("changepoint probability", f"{changepoint['state']} %")
        self.report.row("  most changed streams", changepoint["attributes"]["top_streams"])
        nights = set()
        for found in changepoint["attributes"]["recent_changepoints"]:
            self.report.row(f"  {found['stream']}", f"changed from the night of {found['night']}")
            nights.add(date.fromisoformat(found["night"]))
        truth = self.home.change_date
        off = min((abs((night - truth).days) for night in nights), default=None)
        self.report.row(
            "true routine change", f"night of {truth}; closest detection {off} nights off"
        )
        expect(off is not None and off <= MAX_CHANGEPOINT_ERROR_NIGHTS, "routine change not found")

    async def history(self) -> None:
        """Record the seeded month's sleep probability in Home Assistant's recorder.

        The month exists only in roomdb.db; the recorder saw none of it, so the dashboard's graphs
        would start today. RoomDB's panel API applies the trained model to every stored window
        (`roomdb/sleep/nights`); their hourly mean, minimum and maximum go into the recorder's
        long-term statistics of the sleep probability sensor through its own import command,
        which the dashboard's statistics graph shows.
        """
        timeline = await self.ha.ws_command({"type": "roomdb/sleep/nights", "nights": DAYS + 2})
        hours: dict[datetime, list[float]] = {}
        for night in timeline["nights"]:
            for start, probability in night["windows"]:
                hour = datetime.fromisoformat(start).replace(minute=0, second=0, microsecond=0)
                hours.setdefault(hour, []).append(100 * probability)
        # The recorder compiles the current hour from the sensor's own states.
        this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        stats = [
            {"start": hour.isoformat(), "mean": fmean(v), "min": min(v), "max": max(v)}
            for hour, v in sorted(hours.items())
            if hour < this_hour
        ]
        expect(len(stats) >= 24 * (DAYS - 7), f"only {len(stats)} hours of sleep probability")
        await self.ha.ws_command(
            {
                "type": "recorder/import_statistics",
                "metadata": {
                    "has_mean": True,
                    "mean_type": 1,  # arithmetic, as the recorder compiles a measurement
                    "has_sum": False,
                    "name": None,
                    "source": "recorder",
                    "statistic_id": SLEEP_PROBABILITY,
                    "unit_class": None,
                    "unit_of_measurement": "%",
                },
                "stats": stats,
            }
        )
        deadline = time.monotonic() + STATE_TIMEOUT
        while True:  # the recorder imports in its own thread
            recorded = await self.ha.ws_command(
                {
                    "type": "recorder/statistics_during_period",
                    "start_time": stats[0]["start"],
                    "statistic_ids": [SLEEP_PROBABILITY],
                    "period": "hour",
                    "types": ["mean"],
                }
            )
            count = len(recorded.get(SLEEP_PROBABILITY, []))
            if count >= len(stats):
                break
            expect(time.monotonic() < deadline, f"{count} of {len(stats)} hours recorded")
            await asyncio.sleep(0.5)
        self.report.row(
            "sleep probability recorded",
            f"{len(stats)} hours from {stats[0]['start'][:16]} (recorder statistics)",
        )

    async def export(self) -> None:
        document = await self.service("export")
        self.report.row("export counts", document["counts"])
        for domain, rooms in document["by_domain"].items():
            for room_id, row in rooms.items():
                self.report.row(f"{domain}/{room_id}", f"v{row['version']} {row['config_data']}")
        on_disk = json.loads((self.config_dir / FLOW_INPUT["export_path"]).read_text())
        expect(on_disk["counts"] == document["counts"], "the export file differs from the response")
        expect(document["counts"].get("vacuum_control") == 1, "vacuum_control row missing")

    async def event_stream(self) -> None:
        # The peer reports a lost POST as a gap in the answer to a later POST; stop losing POSTs
        # and send one more event, so losses at the very end are reported and resent as well.
        self.peer.drop_probability(0.0)
        await self.ha.request("POST", "/api/states/light.hallway", {"state": "on"})
        deadline = time.monotonic() + 20
        while True:
            flush = await self.service("flush_events")
            keys = self.peer.streams()
            missing = sum(len(self.peer.gaps(*key)) for key in keys)
            if flush["pending"] == 0 and missing == 0 and keys:
                break
            expect(time.monotonic() < deadline, f"not all events arrived: {flush}")
            await asyncio.sleep(0.5)
        stats = self.peer.stats()
        self.report.row("flush_events", {k: flush[k] for k in ("state", "newest", "pending")})
        self.report.row("resent after gap reports", flush["resent"])
        self.report.row("unrecoverable", flush["unrecoverable"])
        self.report.row("peer: POSTs / lost POSTs", f"{stats['posts']} / {stats['dropped_posts']}")
        self.report.row("peer: lost events", stats["dropped_events"])
        self.report.row("peer: stored", stats["stored"])
        self.report.row(
            "peer: duplicates / conflicts", f"{stats['duplicates']} / {stats['conflicts']}"
        )
        for key in keys:
            sequences = self.peer.sequences(*key)
            contiguous = sequences == list(range(sequences[0], sequences[-1] + 1))
            self.report.row(
                f"stream {key[0][:12]}…/{key[1]}",
                f"{sequences[0]}..{sequences[-1]}, gaps: {len(self.peer.gaps(*key))}",
            )
            expect(contiguous, f"stream {key} has holes")
        expect(stats["conflicts"] == 0, "a sequence number was reused for another event")
        expect(flush["state"] == "ok" and flush["unrecoverable"] == 0, f"flush_events: {flush}")


def main(argv: list[str] | None = None) -> int:
    """Run the demo in a temporary config dir; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=7, help="household and packet-loss seed")
    parser.add_argument(
        "--live",
        type=Path,
        metavar="DIR",
        help="build the demo home in DIR (emptied first) on :8123 and keep it running",
    )
    parser.add_argument("--port", type=int, default=LIVE_HA_PORT, help="live: Home Assistant's")
    parser.add_argument("--peer-port", type=int, default=LIVE_PEER_PORT, help="live: the peer's")
    args = parser.parse_args(argv)
    if args.live is not None:
        shutil.rmtree(args.live, ignore_errors=True)
        args.live.mkdir(parents=True)
        demo = Demo(
            args.live.resolve(), args.seed, live=True, port=args.port, peer_port=args.peer_port
        )
        passed = asyncio.run(demo.run())
        return 0 if passed else 1
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="roomdb-demo-") as tmp:
        passed = asyncio.run(Demo(Path(tmp) / "config", args.seed).run())
    print(f"\nRoomDB demo {'PASSED' if passed else 'FAILED'} in {time.monotonic() - started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
