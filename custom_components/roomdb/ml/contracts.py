"""The ML contract views other integrations read, pinned column by column.

`metadata.contract_version` names this list: a change of a view's columns (name, order or declared
type) is a new contract version, made by a new migration that also bumps `CONTRACT_VERSION`.
Declared types are what `PRAGMA table_info` reports; `asleep` is a CASE expression, so SQLite
declares no type for it (its values are the integers 0 and 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ..db.database import Database
from ..db.schema import CONTRACT_VERSION, META_CONTRACT_VERSION

type Columns = tuple[tuple[str, str], ...]

_FEATURE_VALUE: Final[Columns] = (
    ("room_id", "TEXT"),
    ("window_start", "REAL"),
    ("window_end", "REAL"),
    ("feature_name", "TEXT"),
    ("value", "REAL"),
    ("feature_set_version", "INTEGER"),
)
"""One feature value of one window, as the training and snapshot views begin."""

_TRAINING_DATASET: Final[Columns] = (*_FEATURE_VALUE, ("night_date", "TEXT"), ("asleep", ""))

ML_CONTRACT_VIEWS: Final[Mapping[str, Columns]] = {
    # The whole-day view (contract 2) keeps the 12-hour view's columns; only its rows differ.
    "vw_clr_training_dataset": _TRAINING_DATASET,
    "vw_clr_training_dataset_v2": _TRAINING_DATASET,
    "vw_sleep_episodes": (
        ("night_date", "TEXT"),
        ("bedtime_utc", "REAL"),
        ("wake_utc", "REAL"),
        ("updated_at", "TEXT"),
    ),
    "vw_clr_latest_model_artifact": (
        ("artifact_id", "INTEGER"),
        ("run_id", "INTEGER"),
        ("created_at", "TEXT"),
        ("feature_set_version", "INTEGER"),
        ("artifact", "TEXT"),
        ("metrics", "TEXT"),
        ("n_rows", "INTEGER"),
        ("n_nights", "INTEGER"),
    ),
    "vw_bocpd_feature_stream": (
        ("room_id", "TEXT"),
        ("feature_name", "TEXT"),
        ("window_start", "REAL"),
        ("window_end", "REAL"),
        ("value", "REAL"),
        ("feature_set_version", "INTEGER"),
    ),
    "vw_bocpd_latest_state": (
        ("model_key", "TEXT"),
        ("feature_set_version", "INTEGER"),
        ("last_window_end", "REAL"),
        ("changepoint_probability", "REAL"),
        ("run_length", "INTEGER"),
        ("updated_at", "TEXT"),
    ),
    "vw_latest_feature_snapshot": (*_FEATURE_VALUE, ("computed_at", "TEXT")),
}


@dataclass(frozen=True, slots=True)
class ContractReport:
    """Outcome of `async_check_contracts`: empty `problems` means every view is as pinned."""

    contract_version: int | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the database serves the pinned contract."""
        return not self.problems


async def async_view_columns(database: Database, view: str) -> Columns:
    """(name, declared type) of each column of a view, in order; empty if it does not exist."""
    rows = await database.fetchall("SELECT name, type FROM pragma_table_info(?)", (view,))
    return tuple((str(row[0]), str(row[1])) for row in rows)


async def async_check_contracts(database: Database) -> ContractReport:
    """Compare `metadata.contract_version` and every ML view with the pinned contract."""
    problems: list[str] = []
    stored = await database.get_metadata(META_CONTRACT_VERSION)
    version = int(stored) if stored is not None and stored.isdigit() else None
    if version != CONTRACT_VERSION:
        problems.append(f"contract_version is {stored!r}, expected {CONTRACT_VERSION}")
    for view, pinned in ML_CONTRACT_VIEWS.items():
        found = await async_view_columns(database, view)
        if not found:
            problems.append(f"{view} is missing")
        elif found != pinned:
            problems.append(f"{view} has columns {list(found)}, expected {list(pinned)}")
    return ContractReport(version, tuple(problems))
