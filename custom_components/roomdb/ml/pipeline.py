"""The ML pipeline: ingest → features → labels → suggestions → BOCPD → train → inference → trim.

Runs are serialised by a lock. Each stage reports `{status: ok|skipped|not_ready|error, detail, …}`;
a failing stage is logged, marks the layer degraded until it next succeeds, and does not stop the
stages after it. The routine-change detector runs before training, so a change it finds weights
that very night's retraining towards the new routine. Heavy work (feature windows, fitting,
BOCPD, the design matrix of the last day and a half) runs in the executor. After inference and
after a BOCPD update the `roomdb_ml_result` event is fired, and `on_status` hands the new
`MlStatus` to the entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
import hashlib
import json
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..db.database import Database
from ..db.schema import META_FEATURE_SET_VERSION
from ..log import get_logger
from ..timestamps import iso_from_timestamp, utc_datetime, utc_now_iso
from . import store
from .bocpd import BocpdConfig
from .changepoints import (
    MODEL_KEY,
    OutdatedStateError,
    TrackerState,
    TrackerUpdate,
    advance,
    resume_from,
)
from .clr import ClrArtifact, ClrConfig, NotReady
from .episodes import HISTORY_NIGHTS, Episode, expected_times, find_episodes
from .features import (
    DEFAULT_WINDOW_SECONDS,
    FEATURE_SET_VERSION,
    HOME_ROOM_ID,
    RawEvent,
    align_window,
    compute_features,
    night_of,
    noon,
)
from .label_source import LabelReading, LabelSource
from .labels import SleepLabel
from .nights import suggest_nights
from .options import MlSettings
from .pairing import CONTEXT_WINDOWS, QUIET_CAP_SECONDS
from .retention import async_trim, async_vacuum
from .status import READINESS_ERROR, READINESS_TRAINED, TIMESTAMP_KEYS, MlStatus
from .training import Inference, clr_config, infer_latest, train_from_records, usable_rooms

_LOGGER = get_logger(__name__)

EVENT_ML_RESULT: Final = "roomdb_ml_result"
"""Fired after inference (`kind: sleep`) and after a BOCPD update (`kind: changepoint`)."""

STAGES: Final = (
    "ingest",
    "features",
    "labels",
    "suggestions",
    "bocpd",
    "train",
    "inference",
    "retention",
)
REFRESH_STAGES: Final = ("ingest", "features", "labels", "inference")
"""The light refresh every 15 minutes: new windows and a new P(asleep), no training."""
AFTER_IMPORT_STAGES: Final = ("ingest", "features", "suggestions", "train", "inference")
"""What imported history feeds: windows, suggested nights, and the model where labels allow."""
TRAIN_STAGES: Final = ("train", "inference")
"""Run when a label was added: the model trains as soon as there are enough nights."""
UPGRADE_STAGES: Final = ("ingest", "features", "labels", "train", "inference")
"""The first refresh when the stored model's columns are not the current design (an update
changed them): it is retrained at once, not left unused until the nightly run. Until a training
succeeds, every training run tries again (the outdated model is not used meanwhile)."""
SUGGESTION_NIGHTS: Final = 14
"""Nights the suggestions are computed (and offered) for."""
SUGGESTION_TRAIN_CONFIDENCE: Final = 0.5
"""With training on suggestions turned on, only suggestions at least this sure are used."""

DAY_SECONDS: Final = 86400.0
STALE_AFTER: Final = 3600.0
"""Inference on a window that ended longer ago than this is not reported as current."""
RECENT_CHANGEPOINTS: Final = 10
META_TRAIN_INPUTS: Final = "clr_train_inputs"
META_ALIVE: Final = "ml_alive_at"
"""The last moment RoomDB knew it was recording (stamped at every run and at stop)."""
META_ROUTINE_CHANGED: Final = "routine_change_night"
"""The first night of the latest routine change the detector found (recency weighting)."""
LOOK_BACK: Final = QUIET_CAP_SECONDS + CONTEXT_WINDOWS * DEFAULT_WINDOW_SECONDS
"""History a design row needs: the time since the last activity (capped) and the look-backs."""
EPISODE_SPAN: Final = 36 * 3600.0
"""Windows inference scores for the sleep episodes: last night in full, whenever it began."""
TRAINING_NIGHTS: Final = 120
"""Labelled nights training uses at most (older ones weigh little after the recency weights)."""
TRACKER_RUN_LENGTHS: Final = 120
"""Days the detector tells apart; a routine older than that is simply "120 or more"."""

type StageResult = dict[str, Any]


def ordered_stages(stages: Iterable[str]) -> tuple[str, ...]:
    """The requested stages in pipeline order, each once (unknown names are dropped)."""
    wanted = set(stages)
    return tuple(stage for stage in STAGES if stage in wanted)


def _carry(events: Iterable[RawEvent]) -> list[RawEvent]:
    """The last event of every entity (its state carries into later windows)."""
    last: dict[str, RawEvent] = {}
    for event in events:
        current = last.get(event.entity_id)
        if current is None or event.ts >= current.ts:
            last[event.entity_id] = event
    return list(last.values())


class MlPipeline:
    """Runs the stages for one loaded entry and holds the resulting status."""

    def __init__(
        self,
        hass: HomeAssistant,
        database: Database,
        settings: MlSettings,
        labels: LabelSource,
        on_status: Callable[[MlStatus], None],
    ) -> None:
        """Prepare the pipeline; `async_load` restores the status from the database."""
        self.hass = hass
        self.database = database
        self.settings = settings
        self.labels = labels
        self._on_status = on_status
        self._lock = asyncio.Lock()
        self._artifact: ClrArtifact | None = None
        self._failed: set[str] = set()
        self._logged_conflicts: set[tuple[str, str, str]] = set()
        self.status = MlStatus(
            min_nights=settings.min_nights,
            min_rows=settings.min_rows,
            asleep_threshold=settings.asleep_threshold,
        )

    @property
    def busy(self) -> bool:
        """Whether a run is in progress."""
        return self._lock.locked()

    @property
    def model_outdated(self) -> bool:
        """Whether the stored model was trained on other features or columns than these."""
        artifact = self._artifact
        return artifact is not None and isinstance(usable_rooms(artifact), NotReady)

    # -- status --------------------------------------------------------------------------------

    def _update(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)

    def _publish(self) -> None:
        self._update(degraded=tuple(sorted(self._failed)))
        self._on_status(self.status)

    async def _stamp(self, key: str, value: str | None = None) -> None:
        stamp = value or utc_now_iso()
        await self.database.set_metadata({key: stamp})
        self._update(timestamps={**self.status.timestamps, key: stamp})

    async def async_load(self) -> None:
        """Restore the status from the database (model, last run, BOCPD summary, stamps)."""
        # A consumer reading the contract on day one finds the feature set it will get.
        if await self.database.get_metadata(META_FEATURE_SET_VERSION) is None:
            await self.database.set_metadata({META_FEATURE_SET_VERSION: str(FEATURE_SET_VERSION)})
        await store.async_fill_label_noons(self.database)
        timestamps = {key: await self.database.get_metadata(key) for key in TIMESTAMP_KEYS}
        labeled = await store.async_label_count(self.database)
        self._update(timestamps=timestamps, labeled_nights=labeled)
        try:
            latest = await store.async_latest_artifact(self.database)
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning(
                "The stored sleep model is unusable (%s); it is replaced at the next training", err
            )
            latest = None
        if latest is not None:
            run, artifact = latest
            self._artifact = artifact
            self._update(
                model_run_id=run.run_id,
                last_training=dt_util.parse_datetime(run.finished_at or run.started_at),
                training_metrics=run.metrics,
            )
        last_run = await store.async_latest_clr_run(self.database)
        if last_run is not None:
            self._update(
                readiness=self._readiness_of(last_run.status, last_run.reason),
                readiness_detail=last_run.reason if last_run.status != "ok" else None,
                paired_rows=last_run.n_rows,
                paired_nights=last_run.n_nights,
            )
        tracker = await self._async_load_tracker()
        if tracker is not None:
            self._show_tracker(tracker)
        await self.async_show_suggestions()

    @staticmethod
    def _readiness_of(status: str, reason: str | None) -> str:
        if status == "ok":
            return READINESS_TRAINED
        if status == "not_ready" and reason:
            return reason
        return READINESS_ERROR

    # -- running -------------------------------------------------------------------------------

    async def async_run(self, stages: Sequence[str] = STAGES) -> dict[str, StageResult]:
        """Run the stages (in pipeline order) and return each one's result."""
        async with self._lock:
            return await self._async_run_locked(ordered_stages(stages))

    async def async_after_import(self, since: float) -> dict[str, StageResult]:
        """Recompute the windows from `since` on (older events arrived), then what they feed."""
        async with self._lock:
            await store.async_delete_features_since(
                self.database, align_window(since, DEFAULT_WINDOW_SECONDS)
            )
            return await self._async_run_locked(AFTER_IMPORT_STAGES)

    async def async_run_if_idle(self, stages: Sequence[str]) -> dict[str, StageResult] | None:
        """Run unless a run is in progress (timer-driven refreshes skip instead of queueing)."""
        if self._lock.locked():
            return None
        return await self.async_run(stages)

    async def _async_run_locked(self, stages: tuple[str, ...]) -> dict[str, StageResult]:
        handlers: dict[str, Callable[[], Awaitable[StageResult]]] = {
            "ingest": self._async_ingest,
            "features": self._async_features,
            "labels": self._async_labels,
            "suggestions": self._async_suggestions,
            "train": self._async_train,
            "bocpd": self._async_bocpd,
            "inference": self._async_inference,
            "retention": self._async_retention,
        }
        results: dict[str, StageResult] = {}
        for stage in stages:
            try:
                result = await handlers[stage]()
            except Exception as err:  # one failing stage must not stop the others
                if stage not in self._failed:
                    _LOGGER.exception("ML pipeline stage %s failed", stage)
                result = {"status": "error", "detail": str(err) or type(err).__name__}
            if result["status"] == "error":
                self._failed.add(stage)
            elif stage in self._failed:
                self._failed.discard(stage)
                _LOGGER.info("ML pipeline stage %s works again", stage)
            results[stage] = result
        self._publish()
        return results

    # -- stages --------------------------------------------------------------------------------

    async def _async_ingest(self) -> StageResult:
        flushed = await self.database.flush()
        await self.database.set_metadata({META_ALIVE: utc_now_iso()})
        _, last = await store.async_event_span(self.database)
        if last is None:
            return {"status": "skipped", "detail": "no raw events yet", "rows": flushed}
        stamp = iso_from_timestamp(last)
        if self.status.timestamps.get("last_ingest_at") != stamp:
            await self._stamp("last_ingest_at", stamp)
        return {"status": "ok", "detail": "queue flushed", "rows": flushed, "last_event_at": stamp}

    async def _async_features(self) -> StageResult:
        width = DEFAULT_WINDOW_SECONDS
        now = dt_util.utcnow().timestamp()
        end = align_window(now, width)
        watermark = await store.async_feature_watermark(self.database, FEATURE_SET_VERSION)
        rooms: set[str] = set()
        if watermark is None:
            first, _ = await store.async_event_span(self.database)
            if first is None:
                return {"status": "skipped", "detail": "no raw events yet", "rows": 0}
            oldest = now - self.settings.feature_retention_days * DAY_SECONDS
            start = align_window(max(first, oldest), width)
        else:
            # The newest window is computed again: events may have been queued when it closed.
            start = watermark
            rooms = await store.async_rooms_at(self.database, watermark, FEATURE_SET_VERSION)
        if start + width > end:
            return {"status": "skipped", "detail": "no complete new window", "rows": 0}
        tz = self.hass.config.time_zone
        carry = await store.async_carry_in(self.database, start)
        gaps = await store.async_gaps(self.database, start, end)
        windows = values = 0
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(chunk_start + DAY_SECONDS, end)
            events = await store.async_events_between(self.database, chunk_start, chunk_end)
            rooms |= {e.room_id for e in (*carry, *events) if e.room_id is not None}
            rows = await self.hass.async_add_executor_job(
                partial(
                    compute_features,
                    (*carry, *events),
                    chunk_start,
                    chunk_end,
                    tz=tz,
                    window_seconds=width,
                    rooms=sorted(rooms),
                    gaps=gaps,
                )
            )
            values += await store.async_write_features(self.database, rows)
            windows += round((chunk_end - chunk_start) / width)
            carry = _carry((*carry, *events))
            chunk_start = chunk_end
        await self.database.set_metadata({META_FEATURE_SET_VERSION: str(FEATURE_SET_VERSION)})
        await self._stamp("last_feature_at")
        return {
            "status": "ok",
            "detail": f"windows from {iso_from_timestamp(start)} to {iso_from_timestamp(end)}",
            "windows": windows,
            "rows": values,
            "rooms": len(rooms - {HOME_ROOM_ID}),
        }

    async def _async_labels(self) -> StageResult:
        reading = await self.labels.async_refresh()
        return {**reading.as_result(), "labeled_nights": self.status.labeled_nights}

    async def async_label_read(self, reading: LabelReading) -> None:
        """Take a reading of the sleep helpers into the status (count nights after a change)."""
        rejection = reading.rejection.reason if reading.rejection is not None else None
        changed = rejection != self.status.last_label_rejection
        self._update(last_label_rejection=rejection)
        if reading.changed:
            self._update(labeled_nights=await store.async_label_count(self.database))
            await self._stamp("last_label_at")
        if changed or reading.changed:
            self._publish()

    async def _routine_changed(self) -> date | None:
        text = await self.database.get_metadata(META_ROUTINE_CHANGED)
        return date.fromisoformat(text) if text else None

    def _train_inputs(self, labels: Sequence[Any], config: ClrConfig, changed: date | None) -> str:
        payload = json.dumps(
            {
                "labels": [label.to_dict() for label in labels],
                "feature_set_version": FEATURE_SET_VERSION,
                "min_nights": config.min_nights,
                "min_rows": config.min_rows,
                "validation_nights": config.validation_nights,
                "routine_changed": changed.isoformat() if changed is not None else None,
            },
            sort_keys=True,
        )
        return hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()

    async def _async_train(self) -> StageResult:
        watermark = await store.async_feature_watermark(self.database, FEATURE_SET_VERSION)
        if watermark is None:
            return {"status": "skipped", "detail": "no features yet"}
        labels = await store.async_labels(self.database, until=watermark + DEFAULT_WINDOW_SECONDS)
        if self.settings.train_on_suggestions:
            labels = await self._with_suggestions(labels, watermark + DEFAULT_WINDOW_SECONDS)
        labels = labels[-TRAINING_NIGHTS:]
        config = clr_config(self.settings.min_nights, self.settings.min_rows, len(labels))
        changed = await self._routine_changed()
        inputs = self._train_inputs(labels, config, changed)
        lost_model = self._artifact is None and self.status.readiness == READINESS_TRAINED
        unchanged = inputs == await self.database.get_metadata(META_TRAIN_INPUTS)
        if unchanged and not lost_model and not self.model_outdated:
            return {
                "status": "skipped",
                "detail": "no label or setting changed since the last training",
                "readiness": self.status.readiness,
            }
        records = await store.async_training_records(
            self.database, FEATURE_SET_VERSION, labels, LOOK_BACK
        )
        started_at = utc_now_iso()
        try:
            outcome = await self.hass.async_add_executor_job(
                train_from_records, records, labels, config, changed
            )
        except (ValueError, ArithmeticError) as err:
            # Recorded so the failure is visible in the runs table; the stage reports the error.
            await store.async_record_clr_run(
                self.database,
                started_at=started_at,
                status="error",
                reason=str(err) or type(err).__name__,
                n_rows=0,
                n_nights=len(labels),
                feature_set_version=FEATURE_SET_VERSION,
                metrics={},
                artifact=None,
            )
            self._update(readiness=READINESS_ERROR, readiness_detail=str(err))
            raise
        for conflict in outcome.conflicts:
            key = (
                conflict.night_date.isoformat(),
                conflict.other_night_date.isoformat(),
                conflict.reason,
            )
            if key not in self._logged_conflicts:
                self._logged_conflicts.add(key)
                _LOGGER.warning("Sleep labels of %s and %s are not used for training (%s)", *key)
        result = outcome.result
        counts = {"rows": outcome.n_rows, "nights": outcome.n_nights}
        self._update(paired_rows=outcome.n_rows, paired_nights=outcome.n_nights)
        if isinstance(result, NotReady):
            await store.async_record_clr_run(
                self.database,
                started_at=started_at,
                status="not_ready",
                reason=result.code,
                n_rows=outcome.n_rows,
                n_nights=outcome.n_nights,
                feature_set_version=FEATURE_SET_VERSION,
                metrics={},
                artifact=None,
            )
            await self.database.set_metadata({META_TRAIN_INPUTS: inputs})
            self._update(readiness=result.code, readiness_detail=result.reason)
            return {"status": "not_ready", "detail": result.reason, "code": result.code, **counts}
        run_id = await store.async_record_clr_run(
            self.database,
            started_at=started_at,
            status="ok",
            reason=None,
            n_rows=outcome.n_rows,
            n_nights=outcome.n_nights,
            feature_set_version=FEATURE_SET_VERSION,
            metrics=result.metrics,
            artifact=result,
        )
        await self.database.set_metadata({META_TRAIN_INPUTS: inputs})
        await self._stamp("last_train_at")
        self._artifact = result
        self._update(
            readiness=READINESS_TRAINED,
            readiness_detail=None,
            model_run_id=run_id,
            last_training=dt_util.utcnow(),
            training_metrics=result.metrics,
        )
        return {
            "status": "ok",
            "detail": f"trained on {outcome.n_nights} nights",
            "run_id": run_id,
            "rooms": list(outcome.rooms),
            "metrics": result.metrics,
            **counts,
        }

    async def _with_suggestions(
        self, labels: Sequence[SleepLabel], until: float
    ) -> list[SleepLabel]:
        """The labels plus the unconfirmed suggestions of unlabelled nights (an opt-in)."""
        tz = str(self.hass.config.time_zone)
        labelled = {label.night_date for label in labels}
        merged = list(labels)
        for stored in await store.async_suggestions(self.database, date.min):
            item = stored.suggestion
            if (
                item.night_date not in labelled
                and item.wake <= until
                and item.confidence >= SUGGESTION_TRAIN_CONFIDENCE
            ):
                merged.append(SleepLabel(item.night_date, tz, item.bedtime, item.wake))
        merged.sort(key=lambda label: label.start_utc)
        return merged

    async def _async_suggestions(self) -> StageResult:
        """Suggest the recent nights' rest periods from the raw events."""
        tz = str(self.hass.config.time_zone)
        now = dt_util.utcnow().timestamp()
        first_night = night_of(now, tz) - timedelta(days=SUGGESTION_NIGHTS)
        start = noon(first_night, tz)
        events = [
            *await store.async_carry_in(self.database, start),
            *await store.async_events_between(self.database, start, now),
        ]
        suggestions = await self.hass.async_add_executor_job(suggest_nights, events, start, now, tz)
        changed = await store.async_write_suggestions(self.database, suggestions)
        await self.async_show_suggestions()
        return {
            "status": "ok",
            "detail": f"{len(suggestions)} nights suggested",
            "rows": changed,
            "pending": len(self.status.suggestions),
        }

    async def async_show_suggestions(self) -> None:
        """Put the recent unconfirmed suggestions and the label count into the status."""
        now = dt_util.utcnow().timestamp()
        first = night_of(now, self.hass.config.time_zone) - timedelta(days=SUGGESTION_NIGHTS)
        pending = tuple(
            {
                "night_date": item.suggestion.night_date.isoformat(),
                "bedtime": iso_from_timestamp(item.suggestion.bedtime),
                "wake": iso_from_timestamp(item.suggestion.wake),
                "confidence": item.suggestion.confidence,
            }
            for item in await store.async_suggestions(self.database, first)
            if item.label_source is None
        )
        self._update(
            suggestions=pending, labeled_nights=await store.async_label_count(self.database)
        )

    async def async_refresh_suggestions(self) -> None:
        """Show the pending suggestions again (a night was confirmed)."""
        await self.async_show_suggestions()
        self._publish()

    def show_import(self, state: str, attributes: dict[str, Any]) -> None:
        """Show the history import's progress."""
        self._update(history_import_state=state, history_import=attributes)
        self._publish()

    async def _async_load_tracker(self) -> TrackerState | None:
        text = await store.async_load_bocpd_state(self.database, MODEL_KEY)
        if text is None:
            return None
        try:
            return await self.hass.async_add_executor_job(TrackerState.from_json, text)
        except OutdatedStateError:
            _LOGGER.info("The routine-change detector starts over with its new model")
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning("Stored BOCPD state is unusable (%s); starting over", err)
        return None

    async def _async_bocpd(self) -> StageResult:
        watermark = await store.async_feature_watermark(self.database, FEATURE_SET_VERSION)
        if watermark is None:
            return {"status": "skipped", "detail": "no features yet"}
        until = watermark + DEFAULT_WINDOW_SECONDS
        tz = self.hass.config.time_zone
        config = BocpdConfig(
            hazard=1.0 / self.settings.bocpd_expected_nights,
            max_run_length=TRACKER_RUN_LENGTHS,
        )
        false_alarms = self.settings.changepoint_false_alarms
        started_at = utc_now_iso()
        state = await self._async_load_tracker()
        if state is not None:
            update = await self._async_advance_tracker(state, tz, until, config, false_alarms)
            if update.status != "restart":
                return await self._async_tracker_outcome(update, until, started_at)
        update = await self._async_advance_tracker(None, tz, until, config, false_alarms)
        return await self._async_tracker_outcome(update, until, started_at)

    async def _async_advance_tracker(
        self,
        state: TrackerState | None,
        tz: str,
        until: float,
        config: BocpdConfig,
        false_alarms: float,
    ) -> TrackerUpdate:
        """Feed the days `state` has not seen, or every stored day to a new tracker."""
        since = None if state is None else resume_from(state, tz) - DAY_SECONDS
        records = await store.async_feature_records(
            self.database, FEATURE_SET_VERSION, since, room=HOME_ROOM_ID
        )
        episodes = await self._async_episode_history(
            None if since is None else night_of(since, tz) - timedelta(days=1)
        )
        gaps = await store.async_gaps(self.database, 0.0 if since is None else since, until)
        return await self.hass.async_add_executor_job(
            partial(
                advance,
                state,
                records,
                episodes,
                tz=tz,
                until=until,
                config=config,
                false_alarms_per_year=false_alarms,
                gaps=gaps,
            )
        )

    async def _async_tracker_outcome(
        self, update: TrackerUpdate, until: float, started_at: str
    ) -> StageResult:
        if update.status == "not_ready":
            await store.async_record_bocpd_run(
                self.database,
                started_at=started_at,
                status="not_ready",
                feature_set_version=FEATURE_SET_VERSION,
            )
            return {"status": "not_ready", "detail": update.detail, "steps": 0}
        if update.status == "skipped":
            return {"status": "skipped", "detail": update.detail, "steps": 0}
        assert update.state is not None
        return await self._async_save_tracker(update, update.state, until, started_at)

    def _show_tracker(self, state: TrackerState) -> None:
        recent = [("routine", alarm.night.isoformat()) for alarm in state.alarms]
        self._update(
            changepoint_probability=state.changepoint_probability,
            run_length=state.run_length,
            bocpd_nights=len(state.days),
            top_streams=state.signals,
            recent_changepoints=tuple(recent[-RECENT_CHANGEPOINTS:]),
        )

    async def _async_save_tracker(
        self, update: TrackerUpdate, state: TrackerState, until: float, started_at: str
    ) -> StageResult:
        new_changepoints = [alarm.as_dict() for alarm in update.new_changepoints]
        text = await self.hass.async_add_executor_job(state.to_json)
        run_id = await store.async_save_bocpd(
            self.database,
            model_key=MODEL_KEY,
            feature_set_version=FEATURE_SET_VERSION,
            last_window_end=until,
            changepoint_probability=state.changepoint_probability,
            run_length=state.run_length,
            state=text,
            started_at=started_at,
            steps=update.steps,
            new_changepoints=new_changepoints,
        )
        if state.changed is not None:
            await self.database.set_metadata({META_ROUTINE_CHANGED: state.changed.isoformat()})
        await self._stamp("last_bocpd_at")
        self._show_tracker(state)
        self.hass.bus.async_fire(
            EVENT_ML_RESULT,
            {
                "kind": "changepoint",
                "changepoint_probability": state.changepoint_probability,
                "run_length": state.run_length,
                "night": state.last_day.isoformat(),
                "new_changepoints": new_changepoints,
                "run_id": run_id,
            },
        )
        return {
            "status": "ok",
            "detail": update.detail,
            "run_id": run_id,
            "steps": update.steps,
            "nights": len(state.days),
            "changepoint_probability": state.changepoint_probability,
            "run_length": state.run_length,
            "new_changepoints": new_changepoints,
        }

    async def _async_inference(self) -> StageResult:
        if self._artifact is None:
            self._update(sleep_probability=None, asleep=None)
            return {"status": "not_ready", "detail": "no trained model yet"}
        watermark = await store.async_feature_watermark(self.database, FEATURE_SET_VERSION)
        records = (
            await store.async_feature_records(
                self.database, FEATURE_SET_VERSION, watermark - EPISODE_SPAN - LOOK_BACK
            )
            if watermark is not None
            else []
        )
        result: Inference | NotReady = (
            await self.hass.async_add_executor_job(infer_latest, self._artifact, records)
            if records
            else NotReady("no_window", "no feature window yet")
        )
        if isinstance(result, Inference) and (
            dt_util.utcnow().timestamp() - result.window_end > STALE_AFTER
        ):
            result = NotReady(
                "stale", f"the newest window ended at {iso_from_timestamp(result.window_end)}"
            )
        if isinstance(result, NotReady):
            self._update(
                sleep_probability=None,
                asleep=None,
                inference_window_end=None,
                inference_observed=None,
                inference_away=None,
            )
            return {"status": "not_ready", "detail": result.reason, "code": result.code}
        asleep = result.probability >= self.settings.asleep_threshold
        window_end = datetime.fromtimestamp(result.window_end, UTC)
        self._update(
            sleep_probability=result.probability,
            asleep=asleep,
            inference_window_end=window_end,
            inference_observed=result.observed,
            inference_away=result.away,
        )
        await self._async_sleep_times(result)
        self.hass.bus.async_fire(
            EVENT_ML_RESULT,
            {
                "kind": "sleep",
                "probability": result.probability,
                "asleep": asleep,
                "threshold": self.settings.asleep_threshold,
                "window_start": iso_from_timestamp(result.window_start),
                "window_end": window_end.isoformat(),
                "model_run_id": self.status.model_run_id,
                "observed": result.observed,
                "away": result.away,
            },
        )
        return {
            "status": "ok",
            "detail": f"window ending {window_end.isoformat()}",
            "probability": result.probability,
            "asleep": asleep,
            "observed": result.observed,
        }

    async def _async_sleep_times(self, result: Inference) -> None:
        """Last night's bedtime and wake time from the scored windows, and tonight's expected."""
        tz = self.hass.config.time_zone
        episodes = find_episodes(
            result.starts,
            result.probabilities,
            self.settings.asleep_threshold,
            DEFAULT_WINDOW_SECONDS,
            tz,
        )
        for episode in episodes:
            if episode.wake is not None:
                await store.async_upsert_episode(self.database, episode)
        newest = episodes[-1] if episodes else None
        finished = [e for e in episodes if e.wake is not None]
        if newest is not None:
            self._update(
                last_bedtime=utc_datetime(newest.bedtime),
                last_bedtime_night=newest.night_date.isoformat(),
            )
        if finished:
            self._update(
                last_wake=utc_datetime(finished[-1].wake),
                last_wake_night=finished[-1].night_date.isoformat(),
            )
        now = dt_util.utcnow().timestamp()
        tonight = night_of(now, tz)
        if finished and finished[-1].night_date >= tonight:
            tonight = finished[-1].night_date + timedelta(days=1)
        changed = await self._routine_changed()
        history = await self._async_episode_history(tonight - timedelta(days=HISTORY_NIGHTS))
        expected = expected_times(history, tonight, tz, changed)
        self._update(
            expected_bedtime=utc_datetime(expected[0]) if expected else None,
            expected_wake=utc_datetime(expected[1]) if expected else None,
            expected_night=tonight.isoformat() if expected else None,
        )

    async def _async_episode_history(self, since: date | None) -> list[Episode]:
        """Each night's sleep from night `since` on, oldest first.

        A labelled night is the label (the user knows better), any other the episode the model
        found.
        """
        first = since if since is not None else date.min
        history = {e.night_date: e for e in await store.async_episodes(self.database, first)}
        now = dt_util.utcnow().timestamp()
        for label in await store.async_labels(self.database, until=now):
            if label.night_date >= first:
                history[label.night_date] = Episode(
                    label.night_date, label.start_utc, label.end_utc
                )
        return [history[night] for night in sorted(history)]

    async def _async_retention(self) -> StageResult:
        result = await async_trim(
            self.database,
            now=dt_util.utcnow().timestamp(),
            raw_days=self.settings.raw_retention_days,
            feature_days=self.settings.feature_retention_days,
        )
        vacuum = await async_vacuum(self.database, self.settings.db_vacuum, dt_util.now().weekday())
        return {"status": "ok", "detail": "trimmed", **result.as_dict(), **vacuum}
