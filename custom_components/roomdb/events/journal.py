"""Room-config changes that still need their event: the ``config_change_log`` outbox.

The room database writes each committed change into ``config_change_log`` in the same transaction
as the change itself (while the stream is on). The stream document records the newest change id
whose event it holds, so after a hard stop the changes above it — committed, acknowledged to the
caller, but numbered only in memory when the process died — are emitted again at start. Entries
the saved document covers are deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ..db.database import Database

TABLE: Final = "config_change_log"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journaled change."""

    change_id: int
    domain: str
    room_id: str
    version: int
    action: str
    changed_at: str

    def as_event_data(self) -> dict[str, Any]:
        """The ``config_changed`` payload, marked as recovered after a stop."""
        return {
            "domain": self.domain,
            "room_id": self.room_id,
            "version": self.version,
            "action": self.action,
            "change_id": self.change_id,
            "recovered": True,
        }


class ChangeJournal:
    """Reads and trims the outbox."""

    def __init__(self, database: Database) -> None:
        """Use the outbox in ``database``."""
        self._database = database

    async def async_after(self, change_id: int) -> list[JournalEntry]:
        """Return the changes journaled after ``change_id``, oldest first."""
        rows = await self._database.fetchall(
            "SELECT change_id, config_domain, room_id, version, action, changed_at "
            "FROM config_change_log WHERE change_id > ? ORDER BY change_id",
            (change_id,),
        )
        return [
            JournalEntry(int(r[0]), str(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]))
            for r in rows
        ]

    def trim(self, up_to: int) -> None:
        """Delete the entries up to ``up_to`` with the next batch of the writer.

        After the database closed (shutdown) nothing is trimmed: the next start trims.
        """
        if self._database.is_open:
            self._database.enqueue("DELETE FROM config_change_log WHERE change_id <= ?", [(up_to,)])

    async def async_clear(self) -> None:
        """Delete every entry (the stream is off: nothing waits for an event)."""
        await self._database.execute_write("DELETE FROM config_change_log")
